"""Notices (案内) and their deliveries: the database is the outbox and the source of truth for sending."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from efnet.wareki import seireki, wareki
from members.models import Member, SalesOffice
from tracking.models import Campaign


class NoticeTemplate(models.Model):
    """A built-in notice to copy (the seed's 第2報); copying makes an ordinary draft Notice."""

    name = models.CharField(_("名前"), max_length=100, unique=True)
    title = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("案内のひな形")
        verbose_name_plural = _("案内のひな形")

    def __str__(self):
        return self.name


class Notice(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("下書き")
        APPROVED = "approved", _("承認済")
        SENDING = "sending", _("送信中")
        PAUSED = "paused", _("一時停止")
        SENT = "sent", _("送信完了")
        CANCELLED = "cancelled", _("中止")

    class DateStyle(models.TextChoices):
        KICHIJITSU = "kichijitsu", _("吉日（令和8年6月吉日）")
        FULL = "full", _("日付（令和8年6月25日）")

    class AudienceStatus(models.TextChoices):
        PENDING = "pending", _("未完了のアカウントがある会員")
        COMPLETE = "complete", _("すべて完了した会員")
        ANY = "any", _("すべての会員")

    class AudienceAddresses(models.TextChoices):
        ANY = "any", _("問わない")
        YES = "yes", _("追加メールアドレスあり")
        NO = "no", _("追加メールアドレスなし")

    class AudienceEdition(models.TextChoices):
        ANY = "any", _("問わない")
        RECEIVED = "received", _("受け取った会員")
        NOT_RECEIVED = "not_received", _("受け取っていない会員")

    class AudienceChannel(models.TextChoices):
        ALL = "all", _("すべて（メールがあればメール、なければFAX・印刷）")
        EMAIL = "email", _("メールアドレスのある会員のみ")
        FAX = "fax", _("FAXのみの会員（メールアドレスなし）")

    campaign = models.ForeignKey(Campaign, verbose_name=_("キャンペーン"), on_delete=models.PROTECT, related_name="+")
    edition = models.PositiveSmallIntegerField(_("第N報"), default=1)
    title = models.CharField(_("件名"), max_length=200)
    date = models.DateField(_("日付"))
    date_style = models.CharField(_("日付の書き方"), max_length=12, choices=DateStyle.choices, default="kichijitsu")
    body = models.TextField(_("本文"))

    audience_status = models.CharField(
        _("対象（状況）"), max_length=10, choices=AudienceStatus.choices, default=AudienceStatus.PENDING
    )
    audience_office = models.ForeignKey(
        SalesOffice,
        verbose_name=_("対象の営業所"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("空欄ならすべての営業所"),
    )
    audience_addresses = models.CharField(
        _("追加メールアドレス"), max_length=5, choices=AudienceAddresses.choices, default=AudienceAddresses.ANY
    )
    audience_edition = models.PositiveSmallIntegerField(_("第N報の受信"), null=True, blank=True)
    audience_edition_rule = models.CharField(
        _("第N報を"), max_length=15, choices=AudienceEdition.choices, default=AudienceEdition.ANY
    )
    audience_channel = models.CharField(
        _("送付方法"), max_length=5, choices=AudienceChannel.choices, default=AudienceChannel.ALL
    )

    state = models.CharField(_("状態"), max_length=10, choices=State.choices, default=State.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("作成者"), on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承認者"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("承認日時"), null=True, blank=True)
    # The author asked the other admins to approve: the menu badge counts such drafts, and the other admins
    # get one email (the worker claims ``approval_mail_sent_at`` before sending, so a retried task sends none).
    approval_requested_at = models.DateTimeField(_("承認依頼日時"), null=True, blank=True)
    approval_mail_sent_at = models.DateTimeField(_("承認依頼メール送信日時"), null=True, blank=True)
    send_started_at = models.DateTimeField(_("送信開始"), null=True, blank=True)
    # The last error a worker met while sending this notice outside any one delivery's SMTP conversation
    # (the database, the queue, a bug): shown on the notice page, so a stalled send does not look idle.
    last_error = models.CharField(_("送信処理のエラー"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("エラー日時"), null=True, blank=True)
    # Set while the mail server cannot be reached (refused, no greeting): sending waits and tries again without
    # charging the deliveries an attempt; cleared by the first connection that succeeds.
    smtp_waiting_since = models.DateTimeField(_("メールサーバー待ち"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("案内")
        verbose_name_plural = _("案内")

    def __str__(self):
        return f"第{self.edition}報 {self.title}"

    @property
    def edition_label(self) -> str:
        return f"第{self.edition}報"

    @property
    def date_line(self) -> str:
        if self.date_style == self.DateStyle.FULL:
            return wareki(self.date)
        return wareki(self.date, kichijitsu=True)

    @property
    def date_seireki(self) -> str:
        return seireki(self.date)

    def state_text(self, *, failed: int = 0, unknown: int = 0) -> str:
        """The state as staff read it: a sent notice with failed or 不明 deliveries says how many."""
        if self.is_awaiting_approval:
            return "承認待ち"
        label = str(self.get_state_display())
        problems = [f"{name} {n}件" for name, n in (("失敗", failed), ("不明", unknown)) if n]
        if problems and self.state in (self.State.SENT, self.State.SENDING, self.State.PAUSED):
            label += "（" + "・".join(problems) + "）"
        if self.state == self.State.SENDING and self.smtp_waiting_since:
            label += "・メールサーバー待ち"
        return label

    @property
    def is_awaiting_approval(self) -> bool:
        return self.state == self.State.DRAFT and self.approval_requested_at is not None

    @property
    def is_editable(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.APPROVED)


class Channel(models.TextChoices):
    EMAIL = "email", _("メール")
    PRINT = "print", _("FAX・印刷")


class Delivery(models.Model):
    """One notice to one member by one channel. Status moves only by conditional updates (see services)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("待機")
        SENDING = "sending", _("送信中")
        SENT = "sent", _("送信済")
        FAILED = "failed", _("失敗")
        UNKNOWN = "unknown", _("不明")
        CANCELLED = "cancelled", _("中止")

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="notice_deliveries")
    channel = models.CharField(_("送付方法"), max_length=5, choices=Channel.choices)
    status = models.CharField(_("状態"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    next_attempt_at = models.DateTimeField(_("次回試行"), null=True, blank=True)
    # When a task for this row was last put on the queue: the periodic re-dispatch skips rows queued recently.
    dispatched_at = models.DateTimeField(_("送信待ちに入れた日時"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("送信開始日時"), null=True, blank=True)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    message_id = models.CharField(_("メッセージID"), max_length=255, blank=True)
    last_error = models.CharField(_("エラー"), max_length=500, blank=True)
    # The member's pending accounts were marked 案内済 (tracking) for this delivery; retried until they are.
    tracking_done = models.BooleanField(_("変更状況に反映済み"), default=False)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("送付")
        verbose_name_plural = _("送付")
        constraints = [
            models.UniqueConstraint(fields=["notice", "member", "channel"], name="one_delivery_per_channel"),
        ]
        indexes = [models.Index(fields=["notice", "status"]), models.Index(fields=["status", "claimed_at"])]

    def __str__(self):
        return f"{self.notice} → {self.member.number} ({self.get_channel_display()})"

    @property
    def audit_member(self):
        return self.member
