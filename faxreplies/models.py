"""Received FAX replies: an uploaded file (FaxImport) and its pages (FaxPage), each matched to a member by the
QR code the reply form carries, or by the member number a clerk types.

A page image is personal data: it is kept only encrypted (documents.storage, a random key per page held
encrypted in the row) and deleted after the retention (FAXREPLIES_RETENTION_DAYS once confirmed as evidence,
FAXREPLIES_UNCONFIRMED_DAYS while nobody confirmed it)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from efnet.fields import EncryptedTextField
from members.models import Member, SalesOffice
from tracking.models import Campaign


class FaxImport(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("待機中")
        RUNNING = "running", _("読み取り中")
        DONE = "done", _("読み取り済")
        FAILED = "failed", _("失敗")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("取込者"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The uploader's office (empty: head office). Scoping goes through it: a clerk sees their office's imports.
    office = models.ForeignKey(
        SalesOffice, verbose_name=_("営業所"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    original_name = models.CharField(_("ファイル名"), max_length=200, blank=True)
    kind = models.CharField(max_length=4)  # "pdf" or "tiff"
    status = models.CharField(_("状態"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_pages = models.PositiveIntegerField(_("ページ数"), default=0)
    done_pages = models.PositiveIntegerField(_("読み取り済"), default=0)
    error = models.CharField(_("エラー"), max_length=500, blank=True)
    # The uploaded file until a worker has read it (then deleted): encrypted like a batch PDF.
    upload_name = models.CharField(max_length=100, blank=True)
    upload_key = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(_("取込日時"), auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("FAX返信の取り込み")
        verbose_name_plural = _("FAX返信の取り込み")

    def __str__(self):
        return f"FAX取込 {self.pk}（{self.original_name}）"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        return int(100 * self.done_pages / self.total_pages) if self.total_pages else 0


class FaxPage(models.Model):
    class Match(models.TextChoices):
        QR = "qr", _("QRコード")
        MANUAL = "manual", _("会員番号を入力")
        NO_CODE = "no_code", _("QRコードなし")
        FOREIGN = "foreign", _("他の営業所の会員")
        UNKNOWN = "unknown", _("当システムのQRコードではない")

    class State(models.TextChoices):
        OPEN = "open", _("未処理")
        CONFIRMED = "confirmed", _("記録済")
        DISMISSED = "dismissed", _("記録しない")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    fax_import = models.ForeignKey(FaxImport, on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveIntegerField(_("ページ"))
    match = models.CharField(_("照合"), max_length=10, choices=Match.choices)
    member = models.ForeignKey(
        Member, verbose_name=_("会員"), null=True, blank=True, on_delete=models.SET_NULL, related_name="fax_pages"
    )
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(_("処理"), max_length=10, choices=State.choices, default=State.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    accounts_recorded = models.PositiveSmallIntegerField(default=0)
    # The page image (1-bit PNG), encrypted; emptied when the retention ends.
    image_name = models.CharField(max_length=100, blank=True)
    image_key = EncryptedTextField(blank=True, default="")
    expires_at = models.DateTimeField(_("削除予定"), null=True, blank=True)

    class Meta:
        ordering = ["fax_import_id", "number"]
        constraints = [models.UniqueConstraint(fields=["fax_import", "number"], name="one_fax_page_number")]
        indexes = [models.Index(fields=["expires_at"])]
        verbose_name = _("FAX返信のページ")
        verbose_name_plural = _("FAX返信のページ")

    def __str__(self):
        return f"FAX取込 {self.fax_import_id} p.{self.number}"

    @property
    def audit_member(self):
        return self.member
