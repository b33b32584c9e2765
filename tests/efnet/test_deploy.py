"""Production settings: `check --deploy` is clean, and the security headers are sent."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path, **overrides) -> dict:
    # Only the machine's environment: not the variables efnet.test_settings put there for the suite.
    test_only = (
        "DJANGO_",
        "DEBUG",
        "DATABASE_URL",
        "HTTPS",
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "ALLOWED_HOSTS",
        "EFNET_",
        "PORT",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(test_only)}
    env.update(
        DJANGO_SETTINGS_MODULE="efnet.settings",
        DEBUG="0",
        SECRET_KEY=base64.b64encode(os.urandom(48)).decode(),
        FIELD_ENCRYPTION_KEYS="prod1:" + base64.urlsafe_b64encode(os.urandom(32)).decode(),
        ALLOWED_HOSTS="efnet.example.jp",
        EFNET_BASE_URL="https://efnet.example.jp",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        EFNET_VAR_DIR=str(tmp_path / "var"),
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def manage_python(env, code: str):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("base_url", "check_id"),
    [
        (None, "efnet.E010"),
        ("http://efnet.example.jp", "efnet.E011"),
        ("https://efnet.example.jp/portal/", "efnet.E011"),
        ("https://localhost:8443", "efnet.E012"),
        ("https://127.0.0.1", "efnet.E012"),
        ("https://other.example.jp", "efnet.E013"),
    ],
)
def test_production_start_up_fails_without_a_public_https_base_url(tmp_path, base_url, check_id):
    env = production_env(tmp_path, EFNET_BASE_URL=base_url)
    # Plain `check` (what migrate and runserver run first), not only --deploy.
    result = manage(env, "check")
    assert result.returncode != 0
    assert check_id in result.stderr, result.stdout + result.stderr
    assert "EFNET_BASE_URL" in result.stderr


def test_the_wsgi_application_and_the_worker_refuse_a_localhost_base_url(tmp_path):
    env = production_env(tmp_path, EFNET_BASE_URL="https://127.0.0.1")
    wsgi = manage_python(env, "import efnet.wsgi")
    assert wsgi.returncode != 0 and "efnet.E012" in wsgi.stderr
    worker = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "efnet", "worker", "--pool=solo", "-l", "warning"],
        cwd=ROOT,
        env={**env, "EFNET_VAR_DIR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode != 0 and "efnet.E012" in worker.stdout + worker.stderr


def test_the_wsgi_application_loads_under_production_settings(tmp_path):
    result = manage_python(production_env(tmp_path), "import efnet.wsgi")
    assert result.returncode == 0, result.stderr


def test_production_start_up_fails_without_allowed_hosts(tmp_path):
    result = manage(production_env(tmp_path, ALLOWED_HOSTS=None), "check", "--deploy")
    assert result.returncode != 0
    assert "efnet.E014" in result.stderr


def test_production_start_up_fails_without_keys(tmp_path):
    result = manage(production_env(tmp_path, SECRET_KEY=None), "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_demo_runs_with_debug_off_on_generated_keys(tmp_path):
    env = production_env(
        tmp_path,
        EFNET_DEMO="1",
        SECRET_KEY=None,
        FIELD_ENCRYPTION_KEYS=None,
        ALLOWED_HOSTS=None,
        EFNET_BASE_URL=None,
        PORT="8311",
    )
    assert manage(env, "check").returncode == 0
    result = manage(env, "shell", "-c", "from django.conf import settings as s; print(s.DEBUG, s.NOTICES_BASE_URL)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["False", "http://127.0.0.1:8311"]
    assert (tmp_path / "var" / "dev-keys" / "secret_key").exists()


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
