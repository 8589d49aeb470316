"""Untrusted text (chat, transcripts, names) made safe to show in a terminal."""

from __future__ import annotations

import re

from rich.text import Text

#: C0 and C1 control characters except tab and newline, including ESC: nothing
#: a peer sends may move the cursor, clear the screen or retitle the window.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """``text`` without terminal control characters."""
    return _CONTROL.sub("", text)


def literal(text: object, style: str = "") -> Text:
    """A Rich ``Text`` that shows ``text`` exactly: no markup, no control codes."""
    return Text(strip_controls(str(text)), style=style)
