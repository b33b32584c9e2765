import os

from celery import Celery
from celery.signals import setup_logging, worker_init

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


@setup_logging.connect
def _configure_logging(**kwargs):
    """Workers and beat log through the project's LOGGING, as the web does: the same format (LOG_FORMAT) and
    the secret filter on every handler. Without a receiver here Celery replaces the root logger's handlers
    with its own, which carry no filter."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
