"""The current request's client address (for audit events written deep inside services) and its request id
(for every log line written while it is served)."""

import re
import uuid
from contextvars import ContextVar

from django.conf import settings

current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or behind our own reverse proxy (BEHIND_PROXY) the address it appended last to
    X-Forwarded-For. Earlier entries are whatever the client claimed and are never trusted."""
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")


current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
# What we accept as a request id from our reverse proxy (nginx's $request_id is 32 hex digits).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id_for(request) -> str:
    """Our reverse proxy's id for the request (X-Request-ID, trusted only BEHIND_PROXY and only if it looks
    like one), so its access log and ours name the same request; otherwise a new one."""
    if getattr(settings, "BEHIND_PROXY", False):
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        if _REQUEST_ID.fullmatch(given):
            return given
    return uuid.uuid4().hex
