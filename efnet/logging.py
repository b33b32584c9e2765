"""A logging filter that keeps anything that looks like a credential out of log records."""

import logging
import re

_PATTERN = re.compile(r"(?i)((?:pass(?:word)?|secret|token|key)\s*[=:]\s*)(\S+)")


class SecretMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        masked = _PATTERN.sub(r"\1********", message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
