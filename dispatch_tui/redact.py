"""Keep secrets out of logs, including the websockets library's debug logs.

With debug logging, websockets logs handshake headers and the start of every
frame, which would show ``Authorization`` headers and ``auth`` messages. A
filter on its loggers blanks the tokens before any handler sees them.
"""

from __future__ import annotations

import logging
import re

_SECRETS = (
    (re.compile(r"(?i)(authorization:\s*)[^\r\n'\"]*"), r"\1[redacted]"),
    (re.compile(r'(\\?"token\\?"\s*:\s*\\?")[^"\\]*'), r"\1[redacted]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with tokens blanked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Attach the filter to the websockets loggers (once)."""
    for name in ("websockets.server", "websockets.client"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
