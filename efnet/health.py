"""What /healthz reports: the database, the broker, the beat heartbeat and the age of the oldest due delivery.

Each check returns a small dict with ``ok``; nothing in it names a host, a URL or a credential, and an error
is reported by its class name only (a broker error message can carry the broker URL, password included).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import DateTimeField, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone


def _failed(exc: Exception) -> dict:
    return {"ok": False, "error": type(exc).__name__}


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _failed(exc)
    return {"ok": True}


def check_broker() -> dict:
    try:
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
            return {"ok": True, "transport": "redis"}
        # The embedded default's filesystem transport: the queue folder must exist and take files.
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        probe = folder / ".healthz"
        probe.write_bytes(b"")
        probe.unlink()
        return {"ok": True, "transport": "filesystem"}
    except Exception as exc:
        return _failed(exc)


def check_beat() -> dict:
    from efnet.models import Heartbeat

    try:
        at = Heartbeat.objects.filter(name="beat").values_list("at", flat=True).first()
    except Exception as exc:
        return _failed(exc)
    if at is None:
        return {"ok": False, "age_seconds": None, "error": "no heartbeat yet"}
    age = (timezone.now() - at).total_seconds()
    return {"ok": age <= settings.HEALTHZ_BEAT_MAX_AGE_SECONDS, "age_seconds": round(age)}


def check_outbox() -> dict:
    """The oldest email that should be on its way: queued, of a notice being sent, and due (a row waiting for
    its retry backoff is not late; FAX/print rows wait for the office to print them). Its age counts from when
    it became due."""
    from notices.models import Channel, Delivery, Notice

    now = timezone.now()
    try:
        oldest = (
            Delivery.objects.filter(
                status=Delivery.Status.QUEUED, channel=Channel.EMAIL, notice__state=Notice.State.SENDING
            )
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .aggregate(
                due=Min(
                    Coalesce("next_attempt_at", "notice__send_started_at", "created_at", output_field=DateTimeField())
                )
            )["due"]
        )
    except Exception as exc:
        return _failed(exc)
    if oldest is None:
        return {"ok": True, "oldest_queued_seconds": None}
    age = max((now - oldest).total_seconds(), 0)
    return {"ok": age <= settings.HEALTHZ_QUEUE_MAX_AGE_SECONDS, "oldest_queued_seconds": round(age)}


def report() -> tuple[bool, dict]:
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "beat": check_beat(),
        "outbox": check_outbox(),
    }
    healthy = all(c["ok"] for c in checks.values())
    return healthy, {"status": "ok" if healthy else "fail", "checks": checks}
