from django.apps import AppConfig


class MailaddressesConfig(AppConfig):
    name = "mailaddresses"
    verbose_name = "追加メールアドレス"
