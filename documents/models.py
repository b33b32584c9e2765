"""Batch reissue jobs. Single cards and lists are recorded in members.MemberCard / AddressListIssue; a batch
adds the job that renders many cards in the background and the encrypted file waiting for download."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from efnet.fields import EncryptedTextField
from mailaddresses.models import AddressListIssue
from members.models import MemberCard, SalesOffice

# A job's reason: a card's (cards) or an address list's (lists); the two share 紛失再発行 and 記載事項変更.
BATCH_REASONS = list(dict.fromkeys([*MemberCard.Reason.choices, *AddressListIssue.Reason.choices]))


class JobProgress(models.Model):
    """What every background job that ends in a file (a batch, a big export) has: its progress (``status``,
    ``total`` and ``done_count`` on the model, with its ``ACTIVE`` statuses), the encrypted file and the times
    the reaper and the purge read."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    error = models.CharField(_("エラー"), max_length=500, blank=True)
    # The file: AES-GCM records under a random per-file key, itself stored encrypted (EncryptedTextField).
    file_name = models.CharField(max_length=100, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    file_key = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(_("依頼日時"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker at least once per chunk while the job runs: a job whose heartbeat is older than
    # DOCUMENTS_BATCH_HEARTBEAT_SECONDS lost its worker (killed, machine down) and is failed by the reaper.
    heartbeat_at = models.DateTimeField(_("最終応答"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    expires_at = models.DateTimeField(_("削除予定"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("ダウンロード日時"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def percent(self) -> int:
        return int(100 * self.done_count / self.total) if self.total else (100 if self.is_finished else 0)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def is_finished(self) -> bool:
        return not self.is_active


class BatchJob(JobProgress):
    class Status(models.TextChoices):
        QUEUED = "queued", _("待機中")
        RUNNING = "running", _("作成中")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")
        CANCELLED = "cancelled", _("取消")
        DOWNLOADED = "downloaded", _("ダウンロード済")
        EXPIRED = "expired", _("期限切れ")

    class Kind(models.TextChoices):
        CARDS = "cards", _("会員証の一括発行")
        NOTICE_BUNDLE = "bundle", _("案内のFAX・印刷PDF")
        ADDRESS_LISTS = "lists", _("追加メールアドレスリストの一括発行")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(_("種類"), max_length=10, choices=Kind.choices, default=Kind.CARDS)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("依頼者"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The office whose members the batch covers: scoping (another office's batch is a 404) goes through it.
    # Empty for a notice's bundle, which spans offices (admins only: scoping shows it to head office and admins).
    office = models.ForeignKey(
        SalesOffice, verbose_name=_("営業所"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("理由"), max_length=20, choices=BATCH_REASONS, blank=True)
    notice = models.ForeignKey(
        "notices.Notice", verbose_name=_("案内"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    no_card_since = models.DateField(_("この日以降に会員証の発行がない会員"), null=True, blank=True)
    # Address lists: members with an additional address issued on or after this date (empty: every member
    # with an additional address), and only those with an address whose password change is still open.
    issued_since = models.DateField(_("この日以降に追加メールアドレスを発行した会員"), null=True, blank=True)
    only_open = models.BooleanField(_("パスワード変更が済んでいない追加メールアドレスがある会員のみ"), default=False)
    member_ids = models.JSONField(_("対象会員"), default=list)
    status = models.CharField(_("状態"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("件数"), default=0)
    done_count = models.PositiveIntegerField(_("作成済"), default=0)
    skipped_count = models.PositiveIntegerField(_("対象外"), default=0)
    file_format = models.CharField(max_length=4, blank=True)  # "pdf" or "zip"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("一括発行")
        verbose_name_plural = _("一括発行")
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self):
        return f"一括発行 {self.pk} ({self.office}, {self.get_status_display()})"

    @property
    def download_name(self) -> str:
        if self.kind == self.Kind.NOTICE_BUNDLE:
            return f"notice-{self.notice_id}-fax-{self.pk}.{self.file_format or 'pdf'}"
        if self.kind == self.Kind.ADDRESS_LISTS:
            return f"addresslists-{self.office.code}-{self.pk}.{self.file_format or 'pdf'}"
        return f"membercards-{self.office.code}-{self.pk}.{self.file_format or 'pdf'}"


class ExportJob(JobProgress):
    """A big export (call list, member export) written by a worker instead of streamed by the request: beyond
    EXPORT_BACKGROUND_ROWS rows a request would hold a web worker for minutes. The file is the one the
    streamed export would have sent, byte for byte, stored encrypted (documents.storage, area ``exports``)
    until its one download by the requester or its expiry. ``params`` holds the export's filters as ids and
    strings; the worker rebuilds the query from them for the requester, whose scope is checked again."""

    Status = BatchJob.Status
    ACTIVE = BatchJob.ACTIVE

    class Source(models.TextChoices):
        CALL_LIST = "calllist", _("コールリスト")
        MEMBERS = "members", _("会員データ（取込形式）")

    source = models.CharField(_("出力"), max_length=10, choices=Source.choices)
    fmt = models.CharField(_("形式"), max_length=10)
    params = models.JSONField(_("条件"), default=dict)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("依頼者"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The requester's office, for scoping the job's page (empty for head office and admins: only they see it).
    office = models.ForeignKey(
        SalesOffice, verbose_name=_("営業所"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("状態"), max_length=12, choices=BatchJob.Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("行数"), default=0)
    done_count = models.PositiveIntegerField(_("出力済"), default=0)
    download_name = models.CharField(max_length=100)
    content_type = models.CharField(max_length=100)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("出力ファイルの作成")
        verbose_name_plural = _("出力ファイルの作成")
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self):
        return f"{self.get_source_display()} {self.pk} ({self.get_status_display()})"

    @property
    def format_label(self) -> str:
        if self.fmt == "xlsx":
            return "Excel（.xlsx）"
        if self.fmt == "csv-utf8" or self.params.get("encoding") == "utf-8-sig":
            return "CSV（UTF-8）"
        return "CSV（Excel用 Shift_JIS）"


class StoredRecord(models.Model):
    """One encrypted record of a stored file (documents/storage.py): the database is the storage every web
    server and worker shares. Never read directly: the data is AES-GCM under a per-file key held by the file's
    owner row (a BatchJob, a FAX page)."""

    area = models.CharField(max_length=20)
    name = models.CharField(max_length=100)
    index = models.PositiveIntegerField()
    last = models.BooleanField(default=False)
    data = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("保存ファイルの暗号化レコード")
        verbose_name_plural = _("保存ファイルの暗号化レコード")
        constraints = [models.UniqueConstraint(fields=["area", "name", "index"], name="storedrecord_unique_record")]

    def __str__(self):
        return f"{self.area}/{self.name}#{self.index}"
