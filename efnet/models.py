from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _


class Role:
    """The Django groups that make the roles (created by migration)."""

    HEAD_OFFICE = "本社"
    SALES_OFFICE = "営業所"
    ADMIN = "管理者"
    REVEALER = "パスワード閲覧"
    ALL = (HEAD_OFFICE, SALES_OFFICE, ADMIN, REVEALER)


class User(AbstractUser):
    """A staff user. ``office`` empty means head office (本社) or an admin."""

    office = models.ForeignKey(
        "members.SalesOffice",
        verbose_name=_("所属営業所"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    display_name = models.CharField(_("表示名"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("スタッフ")
        verbose_name_plural = _("スタッフ")

    def __str__(self):
        return self.display_name or self.username

    def has_role(self, role: str) -> bool:
        if not self.is_active:
            return False
        cache = getattr(self, "_role_cache", None)
        if cache is None:
            cache = self._role_cache = set(self.groups.values_list("name", flat=True))
        return role in cache

    def has_perm(self, perm, obj=None):
        # 管理者 may do everything, like a superuser; the group carries no per-model grants to keep in sync.
        return self.is_admin or super().has_perm(perm, obj)

    def has_module_perms(self, app_label):
        return self.is_admin or super().has_module_perms(app_label)

    @property
    def is_admin(self) -> bool:
        return self.is_active and (self.is_superuser or self.has_role(Role.ADMIN))

    @property
    def is_head_office(self) -> bool:
        return self.is_active and self.office_id is None and (self.is_admin or self.has_role(Role.HEAD_OFFICE))


class AuditEvent(models.Model):
    """Append-only: rows are inserted, never updated or deleted by the application."""

    created_at = models.DateTimeField(_("日時"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, verbose_name=_("操作者"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(_("操作者名"), max_length=150, blank=True)
    actor_office = models.ForeignKey(
        "members.SalesOffice",
        verbose_name=_("操作者の営業所"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    office = models.ForeignKey(
        "members.SalesOffice",
        verbose_name=_("対象の営業所"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("操作"), max_length=80, db_index=True)
    target_type = models.CharField(_("対象の種類"), max_length=80, blank=True)
    target_id = models.CharField(_("対象の番号"), max_length=64, blank=True)
    target_repr = models.CharField(_("対象"), max_length=200, blank=True)
    # Plain id, no constraint: the log outlives the member it speaks of.
    member_id = models.BigIntegerField(_("会員の内部番号"), null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    details = models.JSONField(_("詳細"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        indexes = [models.Index(fields=["member_id", "created_at"])]

    def __str__(self):
        from efnet.audit_labels import describe

        when = date_format(timezone.localtime(self.created_at), "SHORT_DATETIME_FORMAT") if self.created_at else ""
        return f"{when} {describe(self.action)} {self.target_repr}".strip()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit events are append-only")


class Heartbeat(models.Model):
    """The last time a periodic job ran (``beat``: beat scheduled it and a worker ran it), for /healthz."""

    name = models.CharField(max_length=40, primary_key=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("定期処理の稼働記録")
        verbose_name_plural = _("定期処理の稼働記録")

    def __str__(self):
        return f"{self.name} {self.at:%Y-%m-%d %H:%M:%S}"


class SchedulerLock(models.Model):
    """Who runs the periodic tasks: one row per lock (``beat``), held by the process that renewed it last.

    Beat's scheduler (efnet/beat.py) renews it on every tick; a second beat finds it held and stands by, and
    takes over once it has not been renewed for EFNET_BEAT_LOCK_SECONDS. ``renewed_at`` is also the beat's
    heartbeat for anyone who wants to know that the periodic tasks run."""

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    renewed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("スケジューラーのロック")
        verbose_name_plural = _("スケジューラーのロック")

    def __str__(self):
        return f"{self.name}: {self.holder or '—'}"
