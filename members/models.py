import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from efnet import normalize
from efnet.fields import EncryptedTextField
from efnet.scoping import taken_message

DEFAULT_MAIL_SERVER = "mail.biglobe.ne.jp"

member_number_validator = RegexValidator(
    r"^\d{4,10}$", _("会員番号は半角数字4〜10桁で入力してください（全角数字も使えます）。")
)


class SalesOffice(models.Model):
    class Kind(models.TextChoices):
        BRANCH = "営業所", _("営業所")
        SATELLITE = "出張所", _("出張所")

    code = models.SlugField(_("コード"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50, unique=True)
    kind = models.CharField(_("種別"), max_length=10, choices=Kind.choices, default=Kind.BRANCH)
    phone = models.CharField(_("電話番号"), max_length=20)
    fax = models.CharField(
        _("FAX番号"),
        max_length=20,
        blank=True,
        help_text=_("会員がFAX返信用紙を返送する番号。空欄なら事務局のFAX番号が印刷されます。"),
    )
    sort_order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("営業所")
        verbose_name_plural = _("営業所")

    def __str__(self):
        return self.name

    def clean(self):
        self.phone = normalize.phone(self.phone)
        self.fax = normalize.phone(self.fax)


class Secretariat(models.Model):
    """The EF ネット事務局 itself: one row, edited by admins. Its FAX number is where a FAX reply form goes
    when the member's office has none."""

    name = models.CharField(_("名称"), max_length=50, default="EF ネット事務局")
    fax = models.CharField(
        _("FAX番号"), max_length=20, blank=True, help_text=_("FAX番号のない営業所の会員の、FAX返信用紙の返送先")
    )

    class Meta:
        verbose_name = _("事務局")
        verbose_name_plural = _("事務局")

    def __str__(self):
        return self.name

    def clean(self):
        self.fax = normalize.phone(self.fax)

    @classmethod
    def get(cls) -> "Secretariat":
        return cls.objects.get_or_create(pk=1)[0]


class Member(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("会員番号"), max_length=10, unique=True, validators=[member_number_validator])
    registered_on = models.DateField(_("会員登録日"))
    name = models.CharField(_("登録者名"), max_length=100, help_text=_("会社名・屋号など"))
    name_kana = models.CharField(_("フリガナ"), max_length=200, db_index=True)
    postal_code = models.CharField(_("郵便番号"), max_length=8, blank=True)
    address = models.CharField(_("登録者住所"), max_length=200, blank=True)
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    fax = models.CharField(_("FAX番号"), max_length=20, blank=True)
    # No index of its own: the (office, number) indexes below serve every lookup by office.
    office = models.ForeignKey(
        SalesOffice, verbose_name=_("担当営業所"), on_delete=models.PROTECT, related_name="members", db_index=False
    )
    biglobe_user_id = models.CharField(_("ユーザーID"), max_length=64, unique=True)
    biglobe_password = EncryptedTextField(_("パスワード"))
    # Not indexed: found through search_key; the only filter on it (with or without an address) matches a
    # large share of the members, and its two indexes were written for every member an import adds.
    email = models.EmailField(_("メールアドレス"), blank=True)
    pop3_server = models.CharField(_("受信メール(POP3)サーバー"), max_length=100, default=DEFAULT_MAIL_SERVER)
    smtp_server = models.CharField(_("送信メール(SMTP)サーバー"), max_length=100, default=DEFAULT_MAIL_SERVER)
    is_active = models.BooleanField(_("有効"), default=True)
    note = models.TextField(_("メモ"), blank=True)
    # What member search compares, kept by ``save`` (and by additional addresses' saves): see
    # ``normalize.search_key``. On PostgreSQL a trigram GIN index serves partial matches (migration 0003).
    search_key = models.TextField(default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("会員")
        verbose_name_plural = _("会員")
        permissions = [("reveal_password", _("保存されたパスワードを表示・印字できる"))]
        indexes = [
            models.Index(fields=["office", "number"]),
            # Lists and counts of active members (by number, of all or one office) read these alone.
            models.Index(fields=["number"], condition=Q(is_active=True), name="members_active_number"),
            models.Index(fields=["office", "number"], condition=Q(is_active=True), name="members_active_office"),
        ]

    def __str__(self):
        return f"{self.number} {self.name}"

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or SEARCH_KEY_SOURCES & set(update_fields):
            addresses = list(self.additional_addresses.values_list("address", flat=True)) if self.pk else []
            self.search_key = member_search_key(self, addresses)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "search_key"}
        if self._state.adding or (update_fields is not None and not PROGRESS_SOURCES & set(update_fields)):
            super().save(*args, **kwargs)
            return
        from tracking import progress

        with transaction.atomic():
            super().save(*args, **kwargs)
            # The stored per-member progress carries the office and the mail address yes/no, and counts only
            # active members.
            progress.refresh(member_ids=[self.pk])

    @property
    def audit_member(self):
        return self

    def unique_error_message(self, model_class, unique_check):
        # Django's default names the model ("この 会員番号 を持った 会員 が既に存在します"). Forms say more to
        # those who may see the holder (efnet.scoping.refuse_if_taken); what reaches the model (a race, the
        # admin, a service) says only that the value cannot be used.
        if len(unique_check) == 1:
            label = str(self._meta.get_field(unique_check[0]).verbose_name)
            return ValidationError(taken_message(label), code="unique")
        return super().unique_error_message(model_class, unique_check)

    def clean(self):
        self.number = normalize.member_number(self.number)
        self.biglobe_user_id = normalize.identifier(self.biglobe_user_id)
        self.email = normalize.identifier(self.email)
        self.name = normalize.nfkc(self.name)
        self.name_kana = normalize.kana(self.name_kana)
        self.postal_code = normalize.postal_code(self.postal_code)
        self.phone = normalize.phone(self.phone)
        self.fax = normalize.phone(self.fax)


SEARCH_KEY_FIELDS = ("name", "name_kana", "biglobe_user_id", "email")
SEARCH_KEY_SOURCES = set(SEARCH_KEY_FIELDS)
PROGRESS_SOURCES = {"office", "office_id", "is_active", "email"}


def member_search_key(member, addresses) -> str:
    """Company name, kana reading, BIGLOBE user ID, mail address and every additional address, normalised."""
    return normalize.search_key(*(getattr(member, k) for k in SEARCH_KEY_FIELDS), *addresses)


def search_key_of(fields: dict, addresses) -> str:
    """``member_search_key`` of a member given as a dict of its fields (a row an import inserts)."""
    return normalize.search_key(*(fields.get(k) for k in SEARCH_KEY_FIELDS), *addresses)


def refresh_search_keys(member_ids) -> None:
    """Recompute the search keys of these members (after their additional addresses changed): two queries,
    and one UPDATE per 5,000 keys that changed (``efnet.bulk.bulk_set``: a join, not Django's per-row CASE)."""
    from efnet.bulk import any_of, bulk_set
    from mailaddresses.models import AdditionalMailAddress

    member_ids = list(member_ids)
    if not member_ids:
        return
    addresses: dict[int, list[str]] = {}
    rows = any_of(AdditionalMailAddress.objects, "member_id", member_ids).order_by("member_id", "slot", "id")
    for member_id, address in rows.values_list("member_id", "address"):
        addresses.setdefault(member_id, []).append(address)
    changed = []
    for m in any_of(Member.objects, "pk", member_ids).only(*SEARCH_KEY_SOURCES, "search_key"):
        key = member_search_key(m, addresses.get(m.pk, []))
        if key != m.search_key:
            m.search_key = key
            changed.append(m)
    bulk_set(Member, changed, ["search_key"])


class MemberCard(models.Model):
    """One issued member card (会員証). The PDF is not kept: it may hold a password."""

    class Reason(models.TextChoices):
        NEW = "新規", _("新規")
        LOST = "紛失再発行", _("紛失再発行")
        PASSWORD_RESET = "パスワード再設定", _("パスワード再設定")
        DETAILS_CHANGED = "記載事項変更", _("記載事項変更")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="cards", verbose_name=_("会員"))
    serial = models.CharField(_("発行番号"), max_length=32, unique=True)
    issued_on = models.DateField(_("発行日"))
    issued_at = models.DateTimeField(_("発行日時"), auto_now_add=True)
    reason = models.CharField(_("理由"), max_length=20, choices=Reason.choices)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("発行者"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    office = models.ForeignKey(
        SalesOffice, verbose_name=_("発行営業所"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("旧会員証"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    password_printed = models.BooleanField(_("パスワード印字"), default=True)
    content_hash = models.CharField(_("内容のハッシュ"), max_length=64)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("会員証発行記録")
        verbose_name_plural = _("会員証発行記録")

    def __str__(self):
        return f"{self.serial} ({self.reason})"

    @property
    def audit_member(self):
        return self.member
