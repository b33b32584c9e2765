"""Japanese names for third-party apps, as the Django admin shows them; INSTALLED_APPS names these classes
instead of the packages. The app labels stay theirs. Their models' names come from locale/ja, or the models
are not in the admin at all (efnet.admin).

Kept out of efnet/apps.py: a module with several AppConfig classes and none marked default would no longer
give efnet its own configuration."""

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig


class AxesConfig(AxesAppConfig):
    verbose_name = "ログインの制限"


class OtpConfig(AppConfig):
    name = "django_otp"
    verbose_name = "二要素認証"


class OtpTotpConfig(AppConfig):
    name = "django_otp.plugins.otp_totp"
    default_auto_field = "django.db.models.AutoField"
    verbose_name = "二要素認証（認証アプリ）"


class CspConfig(AppConfig):
    name = "csp"
    verbose_name = "コンテンツセキュリティポリシー"
