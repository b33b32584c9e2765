"""A logging filter that keeps anything that looks like a credential out of log records.

Besides ``password=…``-like pairs, it removes the member self-report token: the link is the member's only key
(no login), and its path shows up in access lines (``django.server``) and in ``django.request`` warnings for
4xx answers ("Bad Request: /tracking/r/<token>/"). The filter sits on every handler in settings.LOGGING (a
test holds every handler to it).
"""

import json
import logging
import re

_PATTERN = re.compile(r"(?i)((?:pass(?:word)?|secret|token|key)\s*[=:]\s*)(\S+)")
# The self-report URL is tracking/urls.py's "r/<str:token>/" under "tracking/" (a test holds the two together).
# The token ends at the next "/", "?", "#", quote or white space, whatever its encoding.
SELF_REPORT_PATH = "/tracking/r/"
_SELF_REPORT = re.compile(re.escape(SELF_REPORT_PATH) + r"[^/?#\s\"']+")
# A credential in a query string: ?token=…, &sig=…, &signature=…, &key=…
_QUERY = re.compile(r"(?i)([?&;](?:[\w.-]*token|sig|signature|key|code|nonce)=)[^&#\s\"']*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    text = _SELF_REPORT.sub(SELF_REPORT_PATH + REDACTED, text)
    text = _QUERY.sub(r"\1" + REDACTED, text)
    return _PATTERN.sub(r"\1********", text)


class SecretMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        masked = redact(message)
        if masked != message:
            # The formatted text replaces message and args: the token must not survive in either.
            record.msg, record.args = masked, ()
        return True


class RequestIdFilter(logging.Filter):
    """Puts the id of the request being served (efnet.middleware.RequestLogMiddleware) on every record, "-"
    outside a request (a Celery task, a command)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from efnet.request_context import current_request_id

        record.request_id = current_request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json), for a log collector. The message has already been through
    SecretMaskingFilter; a traceback is redacted here, as it is formatted."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """The text format (LOG_FORMAT=plain, the default); a traceback is redacted as it is formatted."""

    def formatException(self, ei) -> str:  # noqa: N802  (logging's name)
        return redact(super().formatException(ei))
