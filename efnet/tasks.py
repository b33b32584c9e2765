"""Periodic tasks of the project itself."""

from celery import shared_task
from django.utils import timezone

from efnet.models import Heartbeat


@shared_task(name="efnet.heartbeat")
def heartbeat() -> None:
    """Scheduled by beat and run by a worker: /healthz reads its age to tell that both are alive."""
    Heartbeat.objects.update_or_create(name="beat", defaults={"at": timezone.now()})
