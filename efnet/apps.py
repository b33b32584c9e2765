from django.apps import AppConfig


class EfnetConfig(AppConfig):
    name = "efnet"
    verbose_name = "EFネット事務局"

    def ready(self):
        from efnet import checks, signals  # noqa: F401
