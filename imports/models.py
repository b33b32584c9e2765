"""Import batches: one uploaded file, what its preview found row by row, and what applying it changed.

The rows of a batch are the truth for every step: the preview writes them, applying reads exactly them (never the
file again), and undoing restores the ``before`` each applied row recorded. Passwords from the file live only
in ``ImportRow.password`` (encrypted, bound to that row) until they are applied.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from efnet.fields import EncryptedTextField


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("列の対応づけ待ち")
        PARSING = "parsing", _("読込中")
        PREVIEWED = "previewed", _("確認待ち")
        APPLYING = "applying", _("取込中")
        APPLIED = "applied", _("取込済")
        CANCELLED = "cancelled", _("中止")
        FAILED = "failed", _("失敗")
        UNDONE = "undone", _("取消済")

    ACTIVE = (Status.PARSING, Status.APPLYING)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("取込者"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(_("ファイル名"), max_length=200)
    file_format = models.CharField(_("形式"), max_length=4)  # "csv" or "xlsx"
    encoding = models.CharField(_("文字コード"), max_length=10, blank=True)  # utf-8, utf-8-sig, cp932
    encoding_detected = models.BooleanField(default=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)  # header -> field key ("" = not imported)
    campaign = models.ForeignKey("tracking.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状態"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    cancel_requested = models.BooleanField(default=False)
    include_errors_skipped = models.BooleanField(_("エラー行を除いて取込"), default=False)
    total_rows = models.PositiveIntegerField(_("行数"), default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    counts = models.JSONField(_("件数"), default=dict)
    # Moved by every committed chunk; a batch whose heartbeat stops is re-queued (imports.tasks.resume_stalled).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(_("エラー"), max_length=500, blank=True)
    # The uploaded file, encrypted (documents.storage records) under a random key kept encrypted here.
    stored_name = models.CharField(max_length=100, blank=True)
    file_key = EncryptedTextField(blank=True, default="")
    file_deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("取込日時"), auto_now_add=True)
    previewed_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(_("適用日時"), null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(_("取消日時"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("取込")
        verbose_name_plural = _("取込")
        permissions = [("run_import", _("会員データを取り込める（本社）"))]

    def __str__(self):
        return f"取込 {self.pk} {self.file_name}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0 if self.is_active else 100
        return min(100, int(100 * self.progress_done / self.progress_total))

    @property
    def error_count(self) -> int:
        return int(self.counts.get("error", 0))

    @property
    def encoding_label(self) -> str:
        return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "cp932": "Shift_JIS (CP932)", "": "—"}.get(
            self.encoding, self.encoding
        )


class ImportRow(models.Model):
    """One thing a file row asks for: a member, an additional address, or an account's status.

    ``values`` holds the normalised new values (never a password), ``before`` the target as the preview saw it
    (and, once applied, as it was before the change), ``after`` what applying wrote, so undo can tell whether
    someone changed the target since."""

    class Kind(models.TextChoices):
        MEMBER = "member", _("会員")
        ADDRESS = "address", _("追加メールアドレス")
        STATUS = "status", _("状態")

    class Action(models.TextChoices):
        NEW = "new", _("新規")
        UPDATE = "update", _("更新")
        UNCHANGED = "unchanged", _("変更なし")
        ERROR = "error", _("エラー")

    class State(models.TextChoices):
        PENDING = "pending", _("未適用")
        APPLIED = "applied", _("適用済")
        REFUSED = "refused", _("適用せず（変更あり）")
        SKIPPED = "skipped", _("対象外")
        UNDONE = "undone", _("取消済")

    # Binds the row's encrypted password to it (its AAD); never looked up, so not indexed: a unique index was
    # one more index entry for every row version the preview, the apply and the undo write.
    uuid = models.UUIDField(default=uuid.uuid4, editable=False)
    # No index of its own: the two indexes below start with the batch (one index fewer to write per row version).
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows", db_index=False)
    row_number = models.PositiveIntegerField(_("行"))
    kind = models.CharField(max_length=8, choices=Kind.choices)
    action = models.CharField(max_length=10, choices=Action.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    member_number = models.CharField(max_length=10, blank=True)
    address = models.CharField(max_length=254, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    values = models.JSONField(default=dict)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    changes = models.JSONField(default=list)  # [[label, old, new], ...]; a password only as 「変更あり」
    errors = models.JSONField(default=list)  # [[column, message], ...]
    raw = models.JSONField(null=True, blank=True)  # the cells of an error row (password cells left out)
    password = EncryptedTextField(blank=True, default="")
    refusal = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("取込行")
        verbose_name_plural = _("取込行")
        ordering = ["row_number", "id"]
        indexes = [
            # The rows still to apply, in order. Partial: a row leaves it when applied, so applying and undoing
            # (which rewrite every row's state) do not insert into it again.
            models.Index(
                fields=["batch", "kind", "id"], condition=models.Q(state="pending"), name="imports_row_pending"
            ),
            # A chunk's member rows find the pending address and status rows of the same members.
            models.Index(
                fields=["batch", "member_number"],
                condition=models.Q(state="pending"),
                name="imports_row_pending_member",
            ),
            models.Index(fields=["batch", "action", "row_number"], name="imports_row_action"),
        ]

    def __str__(self):
        return f"{self.row_number}行目 {self.get_kind_display()} {self.get_action_display()}"


class ColumnMemory(models.Model):
    """A column header a user mapped by hand, offered again for their next file."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    header = models.CharField(max_length=100)
    field = models.CharField(max_length=40, blank=True)  # "" = not imported
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("列の対応の記憶")
        verbose_name_plural = _("列の対応の記憶")
        constraints = [models.UniqueConstraint(fields=["user", "header"], name="imports_one_memory_per_header")]

    def __str__(self):
        return f"{self.header} → {self.field or '（取り込まない）'}"
