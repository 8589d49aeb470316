"""Log lines for people (text) or for a log collector (one JSON object per line).

Tokens never reach either: the redaction filter rewrites records before any
handler formats them, and the JSON formatter only adds known, safe fields.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from dispatch_tui import redact

#: Record attributes passed with ``extra=`` that a JSON line carries as fields.
FIELDS = ("client_id", "room", "code", "event", "reason", "address", "seq")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact.redact(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = redact.redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: int, log_format: str = "text") -> None:
    """Log to stderr, as text or JSON lines, with secrets redacted."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redact.RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
