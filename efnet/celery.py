import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "efnet.settings")

app = Celery("efnet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _check_settings(**kwargs):
    """A worker sends notices whose links use EFNET_BASE_URL: it refuses to start on an incomplete
    production configuration, as the web server does."""
    from django.core.management.base import SystemCheckError

    from efnet.checks import refuse_to_start_misconfigured

    try:
        refuse_to_start_misconfigured()
    except SystemCheckError as exc:
        # Celery logs and ignores exceptions from signal handlers; SystemExit is not one of those.
        raise SystemExit(f"Refusing to start: {exc}") from None
