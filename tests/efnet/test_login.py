"""Staff login: password, then TOTP; lockout per username; idle timeout; every step audited."""

import pytest
from django.conf import settings
from django.urls import reverse

from efnet.models import AuditEvent
from tests.browser import current_totp
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


def _password_step(client, username, password=STAFF_PASSWORD, next_url=""):
    url = reverse("login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": username, "password": password})


def test_it_requires_the_second_factor_before_any_page(client, world):
    response = _password_step(client, "clerk_a")
    assert response.status_code == 302 and response["Location"] == reverse("login_verify")
    # Password alone is not a login.
    response = client.get(reverse("members:search"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_logs_in_with_a_valid_code_and_goes_to_next(client, world):
    _password_step(client, "clerk_a", next_url=reverse("members:detail", args=[world.member_a.pk]))
    response = client.post(reverse("login_verify"), {"token": current_totp(world.clerk_a)})
    assert response.status_code == 302
    assert response["Location"] == reverse("members:detail", args=[world.member_a.pk])
    assert client.get(reverse("members:search")).status_code == 200
    assert AuditEvent.objects.filter(action="auth.login", actor=world.clerk_a).count() == 1


def test_it_accepts_a_fullwidth_code(client, world):
    _password_step(client, "clerk_a")
    code = "".join(chr(ord(c) + 0xFEE0) for c in current_totp(world.clerk_a))
    response = client.post(reverse("login_verify"), {"token": code})
    assert response.status_code == 302
    assert client.get(reverse("members:search")).status_code == 200


def test_it_rejects_a_wrong_code_and_audits_it(client, world):
    _password_step(client, "clerk_a")
    good = current_totp(world.clerk_a)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post(reverse("login_verify"), {"token": wrong})
    assert response.status_code == 200
    assert "確認コードが正しくありません" in response.content.decode()
    assert client.get(reverse("members:search")).status_code == 302
    assert AuditEvent.objects.filter(action="auth.otp_failed").count() == 1


def test_it_rejects_a_wrong_password_without_saying_which_part_was_wrong(client, world):
    response = _password_step(client, "clerk_a", password="wrong-password")
    assert response.status_code == 200
    assert "ユーザー名またはパスワードが正しくありません" in response.content.decode()
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.details == {"username": "clerk_a"}
    assert "wrong-password" not in str(event.details)


def test_it_locks_the_username_after_repeated_failures(client, world):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _password_step(client, "clerk_a", password="wrong-password")
    # Even the right password is refused now, from any client.
    from django.test import Client

    response = _password_step(Client(), "clerk_a")
    assert response.status_code == 429
    assert "ロックされています" in response.content.decode()
    # Another user of the same office (same address) is not locked out.
    response = _password_step(Client(), "reader_a")
    assert response.status_code == 302


def test_the_session_expires_when_idle():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_logout_ends_the_session(client, world):
    from tests.conftest import login

    login(client, world.clerk_a)
    assert client.get(reverse("logout")).status_code == 405  # POST only
    client.post(reverse("logout"))
    assert client.get(reverse("members:search")).status_code == 302
    assert AuditEvent.objects.filter(action="auth.logout", actor=world.clerk_a).exists()


def test_the_next_parameter_cannot_send_users_elsewhere(client, world):
    _password_step(client, "clerk_a", next_url="https://evil.example/")
    response = client.post(reverse("login_verify"), {"token": current_totp(world.clerk_a)})
    assert response["Location"] == reverse("members:search")
