import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from efnet.fields import EncryptedTextField
from efnet.scoping import taken_message
from members.models import DEFAULT_MAIL_SERVER, Member, SalesOffice, refresh_search_keys


class AdditionalMailAddress(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(
        Member, verbose_name=_("会員"), on_delete=models.CASCADE, related_name="additional_addresses"
    )
    slot = models.PositiveSmallIntegerField(_("番号"), help_text=_("追加メールアドレス1, 2, 3 …"))
    address = models.EmailField(_("メールアドレス"), unique=True)
    login_id = models.CharField(_("ID"), max_length=64)
    password = EncryptedTextField(_("パスワード"))
    issued_on = models.DateField(_("メールアドレス発行日"))
    pop3_server = models.CharField(_("受信メール(POP3)サーバー"), max_length=100, default=DEFAULT_MAIL_SERVER)
    smtp_server = models.CharField(_("送信メール(SMTP)サーバー"), max_length=100, default=DEFAULT_MAIL_SERVER)
    smtp_port = models.PositiveIntegerField(_("ポート番号(SMTP)"), default=587)
    is_active = models.BooleanField(_("有効"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["member", "slot"]
        verbose_name = _("追加メールアドレス")
        verbose_name_plural = _("追加メールアドレス")
        constraints = [models.UniqueConstraint(fields=["member", "slot"], name="unique_address_slot")]

    def __str__(self):
        return f"追加メールアドレス{self.slot} {self.address}"

    # The member's search key holds its additional addresses, and its tracking progress counts the active
    # ones: keep both in step with every save and delete, in the same transaction.
    def save(self, *args, **kwargs):
        with transaction.atomic():
            super().save(*args, **kwargs)
            self._member_changed()

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            self._member_changed()
        return result

    def _member_changed(self):
        from tracking import progress

        refresh_search_keys([self.member_id])
        progress.refresh(member_ids=[self.member_id])

    def unique_error_message(self, model_class, unique_check):
        # Django's default names the model ("この 会員番号 を持った 会員 が既に存在します"). Forms say more to
        # those who may see the holder (efnet.scoping.refuse_if_taken); what reaches the model (a race, the
        # admin, a service) says only that the value cannot be used.
        if len(unique_check) == 1:
            label = str(self._meta.get_field(unique_check[0]).verbose_name)
            return ValidationError(taken_message(label), code="unique")
        return super().unique_error_message(model_class, unique_check)

    @property
    def audit_member(self):
        return self.member


class AddressListIssue(models.Model):
    """One issued additional-address list (追加メールアドレスリスト). The PDF is not kept."""

    class Reason(models.TextChoices):
        # A list is first printed when an address is added, so "新規" alone would not say which; a list's
        # password is never reset through it (the card's reset has its own action).
        NEW_ADDRESS = "新規追加", _("新規追加")
        LOST = "紛失再発行", _("紛失再発行")
        DETAILS_CHANGED = "記載事項変更", _("記載事項変更")

    member = models.ForeignKey(
        Member, verbose_name=_("会員"), on_delete=models.CASCADE, related_name="address_list_issues"
    )
    serial = models.CharField(_("発行番号"), max_length=32, unique=True)
    issued_on = models.DateField(_("発行日"))
    issued_at = models.DateTimeField(_("発行日時"), auto_now_add=True)
    highlight_date = models.DateField(
        _("今回追加分の発行日"), null=True, blank=True, help_text=_("この日に発行したアドレスを今回追加分として示す")
    )
    reason = models.CharField(_("理由"), max_length=20, choices=Reason.choices)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("発行者"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    office = models.ForeignKey(
        SalesOffice, verbose_name=_("発行営業所"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("旧リスト"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    content_hash = models.CharField(_("内容のハッシュ"), max_length=64)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("追加メールアドレスリスト発行記録")
        verbose_name_plural = _("追加メールアドレスリスト発行記録")

    def __str__(self):
        return f"{self.serial} ({self.reason})"

    @property
    def audit_member(self):
        return self.member
