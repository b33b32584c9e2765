from django.apps import AppConfig


class FaxRepliesConfig(AppConfig):
    name = "faxreplies"
    verbose_name = "FAX返信の取り込み"
