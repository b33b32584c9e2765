"""Password-change tracking: one status row per account (primary BIGLOBE account or additional address)
per campaign. The status is stored, never derived from other tables."""

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mailaddresses.models import AdditionalMailAddress
from members.models import Member


class Campaign(models.Model):
    name = models.CharField(_("キャンペーン名"), max_length=100, unique=True)
    started_on = models.DateField(_("開始日"))
    deadline = models.DateField(_("期限"), null=True, blank=True)
    is_active = models.BooleanField(_("実施中"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        verbose_name = _("キャンペーン")
        verbose_name_plural = _("キャンペーン")

    def __str__(self):
        return self.name


class Status(models.TextChoices):
    NOT_NOTIFIED = "未案内", _("未案内")
    NOTIFIED = "案内済", _("案内済")
    DONE = "完了", _("完了")
    EXCLUDED = "対象外", _("対象外")


class Source(models.TextChoices):
    PHONE = "電話", _("電話")
    FAX = "FAX", _("FAX")
    SELF_REPORT = "本人報告", _("本人報告リンク")
    OFFICE_CHECK = "営業所確認", _("営業所確認")
    IMPORT = "取込", _("取込")
    NOTICE = "案内送付", _("案内送付")


class CallResult(models.TextChoices):
    """The outcome of a call made from the call list. Stored on the member's timeline (an audit event), not as
    a status: a call says nothing yet about whether the password was changed."""

    REACHED = "電話済", _("電話済")
    NO_ANSWER = "不在", _("不在")
    CALL_BACK = "折返し待ち", _("折返し待ち")


class AccountStatusQuerySet(models.QuerySet):
    """Writes through the ORM keep ``MemberProgress`` in step, in the same transaction, whoever makes them
    (services, imports, the admin, tests): a stored aggregate that a forgotten call could leave stale is
    worse than none."""

    def update(self, **kwargs):
        if not PROGRESS_FIELDS & kwargs.keys():
            return super().update(**kwargs)
        from tracking import progress

        with transaction.atomic(using=self.db):
            pairs = self.order_by().values_list("member_id", "campaign_id").distinct()
            pairs.query.select_for_update = False  # FOR UPDATE cannot go with DISTINCT; the rows are locked below
            keys = list(pairs)
            count = super().update(**kwargs)
            progress.refresh_pairs(keys)
        return count

    def bulk_create(self, objs, *args, **kwargs):
        from tracking import progress

        objs = list(objs)
        fill_copies(objs)
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            progress.refresh_pairs({(o.member_id, o.campaign_id) for o in created})
        return created


def fill_copies(rows) -> None:
    """Set ``office`` and ``counted`` on new status rows from their member and address (two queries)."""
    rows = [r for r in rows if r.office_id is None]
    if not rows:
        return
    members = {
        pk: (office_id, active)
        for pk, office_id, active in Member.objects.filter(pk__in={r.member_id for r in rows}).values_list(
            "pk", "office_id", "is_active"
        )
    }
    address_ids = {r.address_id for r in rows if r.address_id}
    active_addresses = (
        set(AdditionalMailAddress.objects.filter(pk__in=address_ids, is_active=True).values_list("pk", flat=True))
        if address_ids
        else set()
    )
    for r in rows:
        office_id, member_active = members.get(r.member_id, (None, False))
        r.office_id = office_id
        r.counted = member_active and (r.address_id is None or r.address_id in active_addresses)


# Fields of AccountStatus that a member's progress depends on.
PROGRESS_FIELDS = {"status", "last_notified_at", "member", "member_id", "address", "address_id", "campaign"}


class AccountStatus(models.Model):
    """The state of one account in one campaign. ``address`` empty = the member's primary account."""

    # Keeps its own index although every index below starts with the campaign: dropping it means an AlterField,
    # which on SQLite rebuilds the table and loses the count triggers on it (tracking/0006, 0007).
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="statuses")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="account_statuses")
    address = models.ForeignKey(
        AdditionalMailAddress, null=True, blank=True, on_delete=models.CASCADE, related_name="statuses"
    )
    status = models.CharField(_("状態"), max_length=10, choices=Status.choices, default=Status.NOT_NOTIFIED)
    status_on = models.DateField(_("日付"), null=True, blank=True)
    source = models.CharField(_("確認方法"), max_length=10, choices=Source.choices, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("メモ"), max_length=500, blank=True)
    last_notified_at = models.DateTimeField(_("最終案内日時"), null=True, blank=True)
    # Optimistic concurrency: an update names the version it saw; a stale one is refused, not applied.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    # Copies, so the dashboard's series and the account list filter without joining members and addresses:
    # the member's office, and whether the account counts (member active, address active or primary).
    # Filled on insert and corrected by ``tracking.progress`` whenever the member or an address changes.
    office = models.ForeignKey(
        "members.SalesOffice", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    counted = models.BooleanField(default=True, editable=False)

    objects = AccountStatusQuerySet.as_manager()

    class Meta:
        verbose_name = _("アカウント別状況")
        verbose_name_plural = _("アカウント別状況")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "member"], condition=Q(address__isnull=True), name="one_primary_status"
            ),
            models.UniqueConstraint(
                fields=["campaign", "address"], condition=Q(address__isnull=False), name="one_address_status"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            # Per-member grouping for the dashboard and lists reads this index in order.
            models.Index(fields=["campaign", "member", "status"], name="tracking_acc_campaign_member"),
            # The dashboard's completions per day, and the account list, of one office or all.
            models.Index(
                fields=["campaign", "status", "office", "status_on"],
                condition=Q(counted=True),
                name="tracking_acc_counted",
            ),
        ]

    def __str__(self):
        return f"{self.account_label}: {self.status}"

    def save(self, *args, **kwargs):
        from tracking import progress

        if self._state.adding:
            fill_copies([self])
        with transaction.atomic():
            super().save(*args, **kwargs)
            progress.refresh_pairs([(self.member_id, self.campaign_id)])

    def delete(self, *args, **kwargs):
        from tracking import progress

        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            progress.refresh_pairs([(self.member_id, self.campaign_id)])
        return result

    @property
    def account_label(self) -> str:
        return f"追加メールアドレス{self.address.slot}" if self.address_id else "メインアカウント"

    @property
    def audit_member(self):
        return self.member


class MemberProgress(models.Model):
    """A member's state in a campaign, stored so the dashboard and the lists read one row per member instead
    of grouping every account. Rewritten by ``tracking.progress`` in the transaction that changes any of the
    member's status rows, its office or its active flags (see ``AccountStatusQuerySet``); a member with no
    account that counts (inactive, or no active account) has no row.

    ``state`` follows the rule of the dashboard: any 未案内 → 未案内; else any 案内済 → 案内済; else any 完了 →
    完了; else 対象外. ``office`` is the member's, so an office's figures read only that office's rows."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="progress")
    office = models.ForeignKey("members.SalesOffice", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(_("状態"), max_length=10, choices=Status.choices)
    n_not_notified = models.PositiveIntegerField(default=0)
    n_notified = models.PositiveIntegerField(default=0)
    n_done = models.PositiveIntegerField(default=0)
    n_excluded = models.PositiveIntegerField(default=0)
    # The newest notice among the open accounts (None: never notified, or nothing open).
    last_notice = models.DateTimeField(null=True, blank=True)
    # The open accounts, for call lists: "メイン、追加2".
    pending_labels = models.CharField(max_length=200, blank=True)
    # Whether the member has a mail address (a notice's email / FAX-and-print split is counted from it).
    has_email = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("会員別状況")
        verbose_name_plural = _("会員別状況")
        constraints = [models.UniqueConstraint(fields=["campaign", "member"], name="one_progress_per_member")]
        indexes = [
            models.Index(fields=["campaign", "office", "state"], name="tracking_progress_office"),
            # The incomplete, longest waiting first, of all offices or one: read in order, no sort.
            models.Index(
                fields=["campaign", "last_notice"],
                condition=Q(state__in=["未案内", "案内済"]),
                name="tracking_progress_waiting",
            ),
            models.Index(
                fields=["campaign", "office", "last_notice"],
                condition=Q(state__in=["未案内", "案内済"]),
                name="tracking_progress_waiting_o",
            ),
        ]

    def __str__(self):
        return f"{self.member_id}/{self.campaign_id}: {self.state}"

    @property
    def n_pending(self) -> int:
        return self.n_not_notified + self.n_notified


class ProgressCount(models.Model):
    """``MemberProgress`` counted per campaign, office, state and whether the member has a mail address, so
    the dashboard and a notice's audience count read a few rows instead of one row per member.

    Written only by database triggers on ``MemberProgress`` (migration tracking/0006), in the statement that
    changes it, so no path (ORM, cascades, raw SQL, imports) can leave it stale. Each statement *adds* rows
    holding its difference (+1 member in 完了, −1 in 案内済 …) rather than updating shared totals: concurrent
    transactions never wait on or deadlock over a counter row. Readers sum the rows; ``tracking.progress.
    compact_counts`` folds a campaign's rows into one per group once there are many. The sums are the
    figures; a single row means nothing on its own.

    Campaign and office are references without a database constraint: a deletion's cascade writes the
    difference rows of the deleted progress while the campaign itself is going."""

    campaign = models.ForeignKey(Campaign, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    office = models.ForeignKey(
        "members.SalesOffice", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    state = models.CharField(max_length=10, choices=Status.choices)
    has_email = models.BooleanField()
    members = models.IntegerField()
    n_not_notified = models.IntegerField()
    n_notified = models.IntegerField()
    n_done = models.IntegerField()
    n_excluded = models.IntegerField()

    class Meta:
        verbose_name = _("会員別状況の集計")
        verbose_name_plural = _("会員別状況の集計")
        indexes = [models.Index(fields=["campaign", "office"], name="tracking_progress_count")]

    def __str__(self):
        return f"{self.campaign_id}/{self.office_id}/{self.state}: {self.members:+d}"


class CompletionCount(models.Model):
    """Accounts completed per campaign, office and day (the date recorded), for the dashboard's chart: kept
    like ``ProgressCount``, as difference rows that triggers on ``AccountStatus`` insert (a row counts while
    it is 完了, counted and dated; migration tracking/0007), summed by readers and folded once many."""

    campaign = models.ForeignKey(Campaign, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    office = models.ForeignKey(
        "members.SalesOffice", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    status_on = models.DateField()
    n = models.IntegerField()

    class Meta:
        verbose_name = _("完了数の集計")
        verbose_name_plural = _("完了数の集計")
        indexes = [models.Index(fields=["campaign", "office"], name="tracking_completion_count")]

    def __str__(self):
        return f"{self.campaign_id}/{self.office_id}/{self.status_on}: {self.n:+d}"


class StatusChange(models.Model):
    """History: every change, including ones refused as stale, is kept."""

    account_status = models.ForeignKey(
        AccountStatus, on_delete=models.CASCADE, related_name="changes", verbose_name=_("アカウント別状況")
    )
    from_status = models.CharField(_("変更前"), max_length=10, choices=Status.choices)
    to_status = models.CharField(_("変更後"), max_length=10, choices=Status.choices)
    status_on = models.DateField(_("日付"), null=True, blank=True)
    source = models.CharField(_("確認方法"), max_length=10, choices=Source.choices, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("記録者"),
    )
    note = models.CharField(_("メモ"), max_length=500, blank=True)
    applied = models.BooleanField(_("反映済み"), default=True)
    created_at = models.DateTimeField(_("記録日時"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("状況の変更履歴")
        verbose_name_plural = _("状況の変更履歴")

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class SelfReportUse(models.Model):
    """A self-report link that has been submitted once. The link's nonce is its identity: a second submit
    (or a second visit after submitting) finds this row and is told the link was already used."""

    nonce = models.CharField(max_length=32, unique=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField(auto_now_add=True)
    accounts_reported = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("本人報告リンクの使用記録")
        verbose_name_plural = _("本人報告リンクの使用記録")

    def __str__(self):
        return f"{self.member_id}/{self.campaign_id} {self.used_at:%Y-%m-%d %H:%M}"


class SelfReportHit(models.Model):
    """One request to the public self-report page, counted for rate limiting.

    Kept in the database (not in process memory or a per-process cache) so every web process sees the same
    counts; rows older than the longest window are pruned as new ones arrive."""

    bucket = models.CharField(max_length=80)  # "link:<nonce>" or "ip:<address>"
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["bucket", "at"])]
        verbose_name = _("本人報告ページへのアクセス")
        verbose_name_plural = _("本人報告ページへのアクセス")

    def __str__(self):
        return f"{self.bucket} {self.at:%Y-%m-%d %H:%M:%S}"
