"""Staff change their own password (old one re-entered, the project's validators, audited, session kept) and
see their second factor's status, on a page the user menu links to from every page."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from efnet.models import AuditEvent
from tests.conftest import STAFF_PASSWORD, login

NEW = "kirin-Sakura-2026-umi"
URL = "/account/"


def _change(client, old=STAFF_PASSWORD, new1=NEW, new2=None):
    return client.post(URL, {"old_password": old, "new_password1": new1, "new_password2": new2 or new1})


@pytest.mark.parametrize("persona", ["clerk_a", "reader_a", "head", "admin"])
def test_the_user_menu_links_the_account_page_for_every_persona(client, world, persona):
    login(client, world.persona(persona))
    html = client.get(reverse("members:search")).content.decode()
    who = html.split('<div class="who">', 1)[1].split("</div>", 1)[0]
    assert f'href="{URL}"' in who and "アカウント" in who
    page = client.get(URL)
    assert page.status_code == 200
    assert world.persona(persona).username in page.content.decode()


def test_it_requires_login(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response.url


def test_it_changes_the_password_keeps_the_session_and_audits(client, world):
    login(client, world.clerk_a)
    response = _change(client)
    assert response.status_code == 302 and response.url == URL
    world.clerk_a.refresh_from_db()
    assert world.clerk_a.check_password(NEW)
    # Still logged in, second factor included: the next pages open.
    assert "パスワードを変更しました。" in client.get(URL).content.decode()
    assert client.get(reverse("members:search")).status_code == 200
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.actor == world.clerk_a and event.office == world.office_a
    assert NEW not in str(event.details) and STAFF_PASSWORD not in str(event.details)


def test_other_sessions_of_the_user_end(client, world):
    other = login(Client(), world.clerk_a)
    login(client, world.clerk_a)
    _change(client)
    assert other.get(reverse("members:search")).status_code == 302


def test_a_wrong_old_password_changes_nothing_and_is_audited(client, world):
    login(client, world.clerk_a)
    response = _change(client, old="not-my-password")
    assert response.status_code == 200
    assert "現在のパスワードが正しくありません。" in response.content.decode()
    world.clerk_a.refresh_from_db()
    assert world.clerk_a.check_password(STAFF_PASSWORD)
    assert AuditEvent.objects.filter(action="auth.reauth_failed", actor=world.clerk_a).count() == 1
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


@pytest.mark.parametrize(
    "new, why",
    [
        ("short1x", "パスワードが短すぎます"),
        ("1234567890123", "数字だけのパスワードは使えません"),
        ("password123", "よく使われるパスワードのため使えません"),
        ("clerk_a1234", "ユーザー名 と似すぎています"),
    ],
)
def test_the_projects_password_validators_apply(client, world, new, why):
    login(client, world.clerk_a)
    response = _change(client, new1=new)
    assert response.status_code == 200
    assert why in response.content.decode()
    world.clerk_a.refresh_from_db()
    assert world.clerk_a.check_password(STAFF_PASSWORD)


def test_the_two_new_passwords_must_match(client, world):
    login(client, world.clerk_a)
    response = _change(client, new2=NEW + "x")
    assert response.status_code == 200
    world.clerk_a.refresh_from_db()
    assert world.clerk_a.check_password(STAFF_PASSWORD)


def test_guessing_the_old_password_locks_the_user_out_like_the_login_page(client, world):
    login(client, world.clerk_a)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _change(client, old="guess").status_code == 200
    response = _change(client, old="guess")
    assert response.status_code == 429
    assert client.get(reverse("members:search")).status_code == 302  # logged out
    assert Client().post(reverse("login"), {"username": "clerk_a", "password": STAFF_PASSWORD}).status_code == 429


def test_it_shows_the_second_factor_status(client, world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    login(client, world.clerk_a)
    assert "登録済み" in client.get(URL).content.decode().split('data-testid="second-factor">', 1)[1][:40]
    TOTPDevice.objects.create(user=world.clerk_a, name="new phone", confirmed=True)
    assert "登録済み（2 台）" in client.get(URL).content.decode()
