"""Production settings: `check --deploy` is clean, and the security headers are sent."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    # Only the machine's environment: not the variables efnet.test_settings put there for the suite.
    test_only = ("DJANGO_", "DEBUG", "DATABASE_URL", "HTTPS", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(test_only)}
    env.update(
        DJANGO_SETTINGS_MODULE="efnet.settings",
        DEBUG="0",
        SECRET_KEY=base64.b64encode(os.urandom(48)).decode(),
        FIELD_ENCRYPTION_KEYS="prod1:" + base64.urlsafe_b64encode(os.urandom(32)).decode(),
        ALLOWED_HOSTS="efnet.example.jp",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_pages_carry_csp_and_framing_headers(client):
    response = client.get(reverse("login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def _csp(response) -> dict[str, list[str]]:
    directives = (part.strip().split() for part in response["Content-Security-Policy"].split(";"))
    return {d[0]: d[1:] for d in directives if d}


def _assert_locked_down(response):
    csp = _csp(response)
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_the_csp_forbids_plugins_base_and_foreign_form_targets(client, world):
    from tests.browser import current_totp
    from tests.conftest import STAFF_PASSWORD

    _assert_locked_down(client.get(reverse("login")))
    # The login's redirects after POST stay on this origin, which form-action 'self' allows.
    next_url = reverse("members:detail", args=[world.member_a.pk])
    login_url = f"{reverse('login')}?next={next_url}"
    response = client.post(login_url, {"username": "clerk_a", "password": STAFF_PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/")
    _assert_locked_down(response)
    response = client.post(reverse("login_verify"), {"token": current_totp(world.clerk_a)})
    assert response.status_code == 302 and response["Location"] == next_url
    page = client.get(next_url)
    _assert_locked_down(page)


@pytest.mark.django_db
def test_every_form_of_the_member_page_posts_to_this_origin(client, world):
    """form-action 'self' would silently block a form aimed elsewhere: the logout, reveal and PDF forms
    all use relative URLs."""
    import re

    from tests.conftest import login

    login(client, world.clerk_a)
    body = client.get(reverse("members:detail", args=[world.member_a.pk])).content.decode()
    actions = re.findall(r'<form[^>]*\saction="([^"]*)"', body)
    assert any(a == reverse("logout") for a in actions)
    assert any(a == reverse("documents:card_issue", kwargs={"pk": world.member_a.pk}) for a in actions)
    assert actions and all(a.startswith("/") and not a.startswith("//") for a in actions)
