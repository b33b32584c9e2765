"""Japanese names for third-party apps, as the Django admin shows them; INSTALLED_APPS names these classes
instead of the packages. The app labels stay theirs. Their models' names come from locale/ja, or the models
are not in the admin at all (efnet.admin).

Kept out of efnet/apps.py: a module with several AppConfig classes and none marked default would no longer
give efnet its own configuration."""

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig


class AxesConfig(AxesAppConfig):
    verbose_name = "ログインの制限"

    def ready(self):
        super().ready()
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        # axes names its rows in English ("Access Log for admin @ …"), and the admin shows those names in its
        # titles, breadcrumbs and the row checkboxes' labels.
        AccessAttempt.__str__ = lambda self: f"{self.username} のログイン失敗（{_when(self.attempt_time)}）"
        AccessLog.__str__ = lambda self: f"{self.username} のログイン（{_when(self.attempt_time)}）"
        AccessFailureLog.__str__ = lambda self: (
            f"{self.username} のログイン失敗{'（ロック）' if self.locked_out else ''}（{_when(self.attempt_time)}）"
        )


def _when(value) -> str:
    from django.utils import formats, timezone

    if value is None:
        return "—"
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


class OtpConfig(AppConfig):
    name = "django_otp"
    verbose_name = "二要素認証"


class OtpTotpConfig(AppConfig):
    name = "django_otp.plugins.otp_totp"
    default_auto_field = "django.db.models.AutoField"
    verbose_name = "二要素認証（認証アプリ）"

    def ready(self):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        # Not translatable (a plain string in django-otp); shown in the admin's permission lists.
        TOTPDevice._meta.verbose_name = "認証アプリ"
        TOTPDevice._meta.verbose_name_plural = "認証アプリ"


class CspConfig(AppConfig):
    name = "csp"
    verbose_name = "コンテンツセキュリティポリシー"
