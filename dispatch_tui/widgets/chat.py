"""The chat of the selected room: a bounded log and the line being typed."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.reactive import Reactive
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
    """Chat lines of one room; it keeps at most ``max_lines`` of them.

    Every written line grows the log's virtual size, which in Textual lays the
    whole screen out again. The log's own size never depends on its lines, so
    a layout is asked for only when the scrollbar must appear or go; otherwise
    the scrollbar is told the new length and the log repaints.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)

    def watch_virtual_size(self, before: Size, after: Size) -> None:
        visible = self.scrollable_content_region.size
        overflows = after.height > visible.height or after.width > visible.width
        overflowed = before.height > visible.height or before.width > visible.width
        if overflows != overflowed or after.width > visible.width:
            self.refresh(layout=True)
        elif self.show_vertical_scrollbar:
            scrollbar = self.vertical_scrollbar
            scrollbar.window_virtual_size = after.height
            scrollbar.refresh()

    def __init__(self, max_lines: int, **kwargs: object) -> None:
        super().__init__(max_lines=max_lines, wrap=True, markup=False, **kwargs)  # type: ignore[arg-type]

    def show_lines(self, lines: list[ChatLine], replace: bool) -> None:
        if replace:
            self.clear()
        for line in lines:
            self.write(chat_text(line))
