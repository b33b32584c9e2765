"""The current request's client address, for audit events written deep inside services."""

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
