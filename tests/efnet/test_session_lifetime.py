"""A staff session ends SESSION_ABSOLUTE_SECONDS after its login, however active it has been."""

import time

import pytest
from django.conf import settings
from django.urls import reverse

from efnet.middleware import SESSION_STARTED
from efnet.models import AuditEvent
from tests.browser import current_totp
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """Shift the process's clock forward; the idle timeout (the session row's expiry) is left untouched,
    as for a user who keeps working."""
    real = time.time
    shift = {"seconds": 0}
    monkeypatch.setattr(time, "time", lambda: real() + shift["seconds"])
    return shift


def _log_in(client, user):
    client.post(reverse("login"), {"username": user.username, "password": STAFF_PASSWORD})
    response = client.post(reverse("login_verify"), {"token": current_totp(user)})
    assert response.status_code == 302


def test_the_default_lifetime_is_twelve_hours():
    assert settings.SESSION_ABSOLUTE_SECONDS == 12 * 60 * 60


def test_an_active_session_ends_after_the_absolute_lifetime(client, world, clock):
    _log_in(client, world.clerk_a)
    search = reverse("members:search")
    for hours in (1, 4, 8, 11.9):
        clock["seconds"] = hours * 3600
        assert client.get(search).status_code == 200
    clock["seconds"] = settings.SESSION_ABSOLUTE_SECONDS + 1
    response = client.get(search)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    page = client.get(response["Location"]).content.decode()
    assert "ログインから12時間が経過したため、ログアウトしました" in page
    assert AuditEvent.objects.filter(action="auth.session_expired", actor=world.clerk_a).count() == 1
    assert AuditEvent.objects.filter(action="auth.logout", actor=world.clerk_a).count() == 1
    assert client.get(search).status_code == 302  # still out


def test_a_session_without_a_start_stamp_ends(client, world):
    _log_in(client, world.clerk_a)
    session = client.session
    del session[SESSION_STARTED]
    session.save()
    response = client.get(reverse("members:search"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
