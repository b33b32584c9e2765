"""One log line per request with its id (also in the X-Request-ID header and on every line written while it is
served); JSON logs by setting; the secret filter on every handler."""

import io
import json
import logging

from django.conf import settings as django_settings
from django.urls import reverse

from tests.conftest import login


def request_lines(caplog):
    return [r for r in caplog.records if r.name == "efnet.request"]


def test_every_request_gets_one_line_with_its_id(client, world, caplog):
    caplog.set_level(logging.INFO, logger="efnet.request")
    login(client, world.clerk_a)
    caplog.clear()
    response = client.get(reverse("members:search") + "?q=山田")
    lines = request_lines(caplog)
    assert len(lines) == 1
    message = lines[0].getMessage()
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32 and lines[0].request_id == request_id
    assert message.startswith("GET /members/ 200 ") and f"user={world.clerk_a.pk}" in message
    assert "山田" not in message and "q=" not in message  # search terms are not logged

    other = client.get(reverse("members:search"))["X-Request-ID"]
    assert other != request_id


def test_the_proxys_request_id_is_kept_only_behind_the_proxy_and_only_if_well_formed(client, settings):
    settings.BEHIND_PROXY = True
    assert client.get(reverse("login"), HTTP_X_REQUEST_ID="a" * 32)["X-Request-ID"] == "a" * 32
    assert client.get(reverse("login"), HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"
    settings.BEHIND_PROXY = False
    assert client.get(reverse("login"), HTTP_X_REQUEST_ID="a" * 32)["X-Request-ID"] != "a" * 32


def test_a_self_report_token_in_the_path_is_redacted_from_the_line(client, db, caplog):
    from efnet.logging import SecretMaskingFilter

    caplog.set_level(logging.INFO, logger="efnet.request")
    handler = logging.StreamHandler(stream := io.StringIO())
    handler.addFilter(SecretMaskingFilter())
    logging.getLogger("efnet.request").addHandler(handler)
    try:
        client.get("/tracking/r/SECRET-TOKEN-abc/")
    finally:
        logging.getLogger("efnet.request").removeHandler(handler)
    assert "SECRET-TOKEN" not in stream.getvalue() and "/tracking/r/[redacted]" in stream.getvalue()


def test_every_handler_carries_the_secret_filter():
    handlers = django_settings.LOGGING["handlers"]
    assert handlers
    for name, handler in handlers.items():
        assert "no_secrets" in handler.get("filters", []), name


def test_json_format_writes_one_object_a_line_with_secrets_redacted():
    from efnet.logging import JsonFormatter, RequestIdFilter, SecretMaskingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(SecretMaskingFilter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("efnet.test_json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Bad Request: /tracking/r/%s/", "tok-123")
        try:
            raise ValueError("password=hunter2")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "efnet.test_json" and first["request_id"] == "-"
    assert "tok-123" not in json.dumps(first) and "[redacted]" in first["message"]
    assert "hunter2" not in second["exception"] and "ValueError" in second["exception"]


def test_log_format_json_is_what_the_settings_configure(monkeypatch):
    import subprocess
    import sys

    code = "import django; django.setup(); import logging; logging.getLogger('efnet.x').warning('hello')"
    env = {"LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "efnet.test_settings", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    line = json.loads(out.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello" and line["level"] == "WARNING"
    env["LOG_FORMAT"] = "xml"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "LOG_FORMAT must be plain or json" in bad.stderr


def test_celery_workers_log_through_the_projects_handlers_with_the_secret_filter():
    from celery import signals

    from efnet.celery import app
    from efnet.logging import SecretMaskingFilter

    # What a worker does at start: with a receiver connected, Celery leaves the root logger alone.
    assert signals.setup_logging.receivers
    app.log.already_setup = False
    app.log.setup_logging_subsystem(loglevel="INFO")
    root = logging.getLogger()
    assert root.handlers
    for handler in root.handlers:
        assert any(isinstance(f, SecretMaskingFilter) for f in handler.filters), handler
