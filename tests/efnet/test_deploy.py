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
