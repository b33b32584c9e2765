"""Re-entering the password before a reveal counts toward the same username lockout as the login page."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from documents.models import MemberCard
from efnet.models import AuditEvent
from tests.conftest import STAFF_PASSWORD, login

pytestmark = pytest.mark.django_db


def _reveal(client, member, password=None, **headers):
    data = {} if password is None else {"password": password}
    return client.post(reverse("members:reveal", args=[member.pk]), data, **headers)


def _login_password_step(username, password=STAFF_PASSWORD):
    return Client().post(reverse("login"), {"username": username, "password": password})


def test_each_wrong_password_is_audited_without_the_password(client, world):
    login(client, world.clerk_a, fresh_auth=False)
    for attempt in range(1, settings.AXES_FAILURE_LIMIT):
        response = _reveal(client, world.member_a, "wrong-password")
        assert response.status_code == 200
        assert "パスワードが正しくありません" in response.content.decode()
        assert AuditEvent.objects.filter(action="auth.reauth_failed").count() == attempt
    event = AuditEvent.objects.filter(action="auth.reauth_failed").first()
    assert event.actor == world.clerk_a
    assert event.details == {"username": "clerk_a", "locked": False}
    assert "wrong-password" not in str(AuditEvent.objects.values_list("details", flat=True))
    assert not AuditEvent.objects.filter(action="auth.login_failed").exists()


def test_the_failure_limit_locks_the_user_out_and_ends_the_session(client, world):
    login(client, world.clerk_a, fresh_auth=False)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _reveal(client, world.member_a, "wrong-password").status_code == 200
    # The limit-th wrong password locks, as on the login page.
    response = _reveal(client, world.member_a, "wrong-password")
    assert response.status_code == 429
    body = response.content.decode()
    assert "ログアウトしました" in body and world.member_a.biglobe_password not in body
    assert AuditEvent.objects.filter(action="auth.reauth_failed").count() == settings.AXES_FAILURE_LIMIT
    assert AuditEvent.objects.filter(action="auth.locked_out", actor=world.clerk_a).count() == 1
    assert AuditEvent.objects.filter(action="auth.logout", actor=world.clerk_a).count() == 1

    # The session is gone: the right password no longer reveals anything.
    response = _reveal(client, world.member_a, STAFF_PASSWORD)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not AuditEvent.objects.filter(action="member.password.revealed").exists()

    # The login page is locked for that username too, even with the right password.
    response = _login_password_step("clerk_a")
    assert response.status_code == 429
    # Colleagues are not.
    assert _login_password_step("reader_a").status_code == 302


def test_another_session_of_a_locked_user_cannot_reveal_with_the_right_password(client, world):
    login(client, world.clerk_a, fresh_auth=False)  # a session opened before the lockout
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login_password_step("clerk_a", "wrong-password")
    response = _reveal(client, world.member_a, STAFF_PASSWORD)
    assert response.status_code == 429
    assert world.member_a.biglobe_password not in response.content.decode()
    assert not AuditEvent.objects.filter(action="member.password.revealed").exists()
    assert AuditEvent.objects.filter(action="auth.reauth_failed", details__locked=True).count() == 1
    assert _reveal(client, world.member_a, STAFF_PASSWORD).status_code == 302  # logged out


def test_htmx_reveal_is_sent_to_the_login_page_when_locked(client, world):
    login(client, world.clerk_a, fresh_auth=False)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _reveal(client, world.member_a, "wrong-password", HTTP_HX_REQUEST="true")
    response = _reveal(client, world.member_a, "wrong-password", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("login")
    page = client.get(reverse("login")).content.decode()
    assert "パスワードの再入力を続けて間違えたため、ログアウトしました" in page


def test_a_right_password_clears_earlier_failures(client, world):
    login(client, world.clerk_a, fresh_auth=False)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _reveal(client, world.member_a, "wrong-password")
    response = _reveal(client, world.member_a, STAFF_PASSWORD)
    assert world.member_a.biglobe_password in response.content.decode()
    # Consecutive failures are counted, as for the login: one more typo later does not lock.
    assert _login_password_step("clerk_a", "wrong-password").status_code == 200
    assert _login_password_step("clerk_a").status_code == 302


def test_printing_a_card_shares_the_lockout(client, world):
    login(client, world.clerk_a, fresh_auth=False)
    url = reverse("documents:card_issue", kwargs={"pk": world.member_a.pk})
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, {"reason": "紛失再発行", "password": "wrong-password"})
        assert "パスワードが正しくありません" in response.content.decode()
    response = client.post(url, {"reason": "紛失再発行", "password": "wrong-password"})
    assert response.status_code == 429
    response = client.post(url, {"reason": "紛失再発行", "password": STAFF_PASSWORD})
    assert response.status_code == 302 and not MemberCard.objects.exists()
    assert AuditEvent.objects.filter(action="auth.reauth_failed").count() == settings.AXES_FAILURE_LIMIT
