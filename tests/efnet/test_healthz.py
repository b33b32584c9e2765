"""/healthz: database, broker, beat heartbeat and the oldest due delivery; 200 only when all pass; JSON
without secrets."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from efnet import tasks
from efnet.models import Heartbeat
from notices.models import Delivery, Notice
from tests.notices.conftest import approved_notice, campaign, enroll  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def get(client):
    response = client.get(reverse("healthz"))
    assert response["Content-Type"] == "application/json"
    assert "X-Request-ID" in response
    return response, json.loads(response.content)


def test_it_is_healthy_when_beat_has_just_beaten(client):
    tasks.heartbeat()
    response, body = get(client)
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "beat", "outbox"}
    assert body["checks"]["beat"]["age_seconds"] <= 1
    assert body["checks"]["outbox"] == {"ok": True, "oldest_queued_seconds": None}


def test_it_fails_without_a_heartbeat_or_with_a_stale_one(client, settings):
    response, body = get(client)
    assert response.status_code == 503 and body["status"] == "fail"
    assert body["checks"]["beat"]["ok"] is False and body["checks"]["database"]["ok"] is True

    Heartbeat.objects.create(
        name="beat", at=timezone.now() - timedelta(seconds=settings.HEALTHZ_BEAT_MAX_AGE_SECONDS + 5)
    )
    response, body = get(client)
    assert response.status_code == 503 and body["checks"]["beat"]["age_seconds"] > settings.HEALTHZ_BEAT_MAX_AGE_SECONDS


def test_it_reports_the_oldest_due_delivery_and_fails_when_it_waited_too_long(client, world, campaign, settings):  # noqa: F811
    enroll(world.member_a, world.member_b)
    notice = approved_notice(world, campaign)
    tasks.heartbeat()
    long_ago = timezone.now() - timedelta(seconds=settings.HEALTHZ_QUEUE_MAX_AGE_SECONDS + 60)
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENDING, send_started_at=long_ago)
    first, second = notice.deliveries.order_by("pk")
    # A row waiting for its retry backoff is not late; the other one is.
    Delivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    response, body = get(client)
    assert response.status_code == 503
    assert body["checks"]["outbox"]["oldest_queued_seconds"] >= settings.HEALTHZ_QUEUE_MAX_AGE_SECONDS + 60

    Delivery.objects.filter(pk=second.pk).update(status=Delivery.Status.SENT)
    response, body = get(client)
    assert response.status_code == 200 and body["checks"]["outbox"]["oldest_queued_seconds"] is None

    # A FAX/print row waits for the office, not for a worker.
    Delivery.objects.filter(pk=first.pk).update(next_attempt_at=None, channel="print")
    assert get(client)[0].status_code == 200
    Delivery.objects.filter(pk=first.pk).update(channel="email")

    # A paused notice's queue is not late either.
    Delivery.objects.filter(pk=first.pk).update(next_attempt_at=None)
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.PAUSED)
    assert get(client)[0].status_code == 200


def test_a_broker_failure_is_a_503_naming_no_url_or_password(client, settings):
    tasks.heartbeat()
    settings.REDIS_URL = "redis://:hunter2-secret@127.0.0.1:1/0"  # nothing listens on port 1
    response, body = get(client)
    assert response.status_code == 503
    assert body["checks"]["broker"] == {"ok": False, "error": "ConnectionError"}
    assert b"hunter2" not in response.content and b"127.0.0.1" not in response.content


def test_a_load_balancer_probing_over_plain_http_is_not_redirected(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    tasks.heartbeat()
    assert get(client)[0].status_code == 200
    assert client.get(reverse("login")).status_code == 301  # every other page still goes to HTTPS
