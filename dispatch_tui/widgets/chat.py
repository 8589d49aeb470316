"""The chat of the selected room: a bounded log and the line being typed."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from dispatch_tui.console_state import ChatLine
from dispatch_tui.untrusted import literal


def chat_text(line: ChatLine) -> Text:
    """``HH:MM sender  text``, every part of it literal."""
    text = literal(f"{line.when.astimezone():%H:%M} ", "dim")
    if line.own:
        text.append_text(literal("you", "bold green"))
    else:
        text.append_text(literal(line.sender[:24], "bold"))
    if line.broadcast:
        text.append_text(literal(" [all]", "magenta"))
    text.append("  ")
    text.append_text(literal(line.text))
    return text


class ChatLog(RichLog):
    """Chat lines of one room; it keeps at most ``max_lines`` of them."""

    def __init__(self, max_lines: int, **kwargs: object) -> None:
        super().__init__(max_lines=max_lines, wrap=True, markup=False, **kwargs)  # type: ignore[arg-type]

    def show_lines(self, lines: list[ChatLine], replace: bool) -> None:
        if replace:
            self.clear()
        for line in lines:
            self.write(chat_text(line))
