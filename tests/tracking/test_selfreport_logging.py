"""The self-report token is the member's only key: it must not reach a log line, whether the link is bogus or
real, whether Django warns about a 4xx answer (django.request) or writes an access line (django.server).

The records are checked as the real handlers of settings.LOGGING emit them: their filter is what removes it."""

import io
import logging

import pytest
from django.urls import reverse

from efnet.logging import SELF_REPORT_PATH, SecretMaskingFilter
from tracking.selfreport import make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def emitted():
    """What the root logger's handlers (the ones settings.LOGGING installs) actually write."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    assert handlers, "settings.LOGGING installs no stream handler on the root logger"
    stream = io.StringIO()
    saved = [h.setStream(stream) for h in handlers]
    try:
        yield stream
    finally:
        for handler, old in zip(handlers, saved, strict=True):
            handler.setStream(old)


def test_every_configured_handler_masks_secrets():
    handlers = logging.getLogger().handlers + logging.getLogger("django").handlers
    handlers += logging.getLogger("django.server").handlers + logging.getLogger("django.request").handlers
    # pytest's own capture handler is not ours; every handler of settings.LOGGING carries the filter.
    ours = [h for h in handlers if not type(h).__module__.startswith("_pytest")]
    assert ours
    for handler in ours:
        assert any(isinstance(f, SecretMaskingFilter) for f in handler.filters), handler


def test_the_path_prefix_is_the_self_report_url():
    assert reverse("tracking:self_report", kwargs={"token": "T"}) == f"{SELF_REPORT_PATH}T/"


def _assert_absent(secret, caplog, emitted, *, expect):
    lines = [r.getMessage() for r in caplog.records]
    assert any(expect in line for line in lines), lines  # the warning was logged at all
    assert all(secret not in line for line in lines), lines
    assert all(secret not in str(r.args) for r in caplog.records)
    written = emitted.getvalue()
    assert expect in written and secret not in written, written


def test_a_bogus_token_in_a_bad_request_warning_is_redacted(client, world, caplog, emitted):
    bogus = "12.3.AbCdEfGhIjKl:1uAbCd:NotARealSignatureButStillSecretLooking"
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("tracking:self_report", kwargs={"token": bogus}))
    assert response.status_code == 400
    _assert_absent("NotARealSignature", caplog, emitted, expect=f"Bad Request: {SELF_REPORT_PATH}[redacted]/")
    assert "12.3.AbCdEfGhIjKl" not in emitted.getvalue()


def test_a_real_token_in_a_not_found_warning_is_redacted(client, world, campaign, caplog, emitted):
    token = make_token(member=world.member_a, campaign=campaign)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("tracking:self_report", kwargs={"token": token}) + "extra/?token=" + token)
    assert response.status_code == 404
    _assert_absent(token.split(":")[-1], caplog, emitted, expect="Not Found: ")
    assert token not in emitted.getvalue()


def test_a_real_token_refused_for_an_inactive_member_is_redacted(client, world, campaign, caplog, emitted):
    token = make_token(member=world.member_a, campaign=campaign)
    world.member_a.is_active = False
    world.member_a.save()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("tracking:self_report", kwargs={"token": token}))
    assert response.status_code == 400
    _assert_absent(token.split(":")[-1], caplog, emitted, expect="Bad Request: ")


def test_an_access_line_of_the_development_server_is_redacted(world, campaign, caplog, emitted):
    token = make_token(member=world.member_a, campaign=campaign)
    path = reverse("tracking:self_report", kwargs={"token": token})
    # What django.core.servers.basehttp.WSGIRequestHandler.log_message writes for each request.
    with caplog.at_level(logging.INFO, logger="django.server"):
        logging.getLogger("django.server").info('"%s" %s %s', f"POST {path} HTTP/1.1", 410, 1234)
    _assert_absent(token.split(":")[-1], caplog, emitted, expect='"POST /tracking/r/[redacted]/ HTTP/1.1" 410 1234')
