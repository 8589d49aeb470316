"""JSON log lines: the fields a collector indexes, and no token even in a message."""

from __future__ import annotations

import json
import logging

from dispatch_tui.logs import JsonFormatter


def test_a_json_line_carries_the_record_fields_and_redacts_tokens() -> None:
    record = logging.LogRecord(
        "dispatch_tui.server.hub", logging.WARNING, __file__, 1,
        'closing %s: sent {"token": "s3cret-value"}', ("c1",), None,
    )  # fmt: skip
    record.client_id, record.room, record.code = "c1", "ops", "rate_limited"
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "warning" and line["logger"] == "dispatch_tui.server.hub"
    assert (line["client_id"], line["room"], line["code"]) == ("c1", "ops", "rate_limited")
    assert "s3cret-value" not in json.dumps(line)
    assert line["time"].endswith("+00:00")
