"""Live transcripts, one card per call."""

from __future__ import annotations

from datetime import datetime

from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from dispatch_tui.console_state import Advice, Call, is_dispatcher_label
from dispatch_tui.untrusted import literal
from dispatch_tui.widgets.advice import elapsed, priority_colour
from dispatch_tui.widgets.keyed import KeyedStack


def speaker_label(speaker: str | None) -> Text:
    if speaker is None:
        return Text("?", style="dim")
    if is_dispatcher_label(speaker):
        return Text("disp.", style="bold blue")
    return literal(speaker[:8].lower(), "bold")


def call_panel(call: Call, advice: Advice | None, now: datetime, lines: int) -> Panel:
    """The last ``lines`` turns of a call; interim text is dim and ends in an ellipsis."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, width=7)
    grid.add_column(ratio=1)
    for line in list(call.lines)[-lines:]:
        if line.final:
            grid.add_row(speaker_label(line.speaker), literal(line.text))
        else:
            grid.add_row(speaker_label(line.speaker), literal(f"{line.text}\u2026", "dim italic"))
    title = literal(f"{call.call_id} \u00b7 {elapsed(call.started, now)}", "bold")
    colour = "bright_black"
    if advice is not None:
        colour = priority_colour(advice.priority)
        title.append_text(literal(f"  P{advice.priority}", colour))
    return Panel(grid, title=title, title_align="left", border_style=colour)


class CallCard(Static):
    """One call's transcript; redrawn only when the call or its clock changed."""

    def __init__(self, call_id: str) -> None:
        super().__init__(classes="call")
        self.call_id = call_id
        self._drawn: tuple[object, ...] = ()

    def show(self, call: Call, advice: Advice | None, now: datetime, lines: int) -> None:
        content = (call.version, advice.priority if advice else None, lines)
        key = (*content, elapsed(call.started, now))
        if key != self._drawn:
            # Only the clock moved: the card keeps its height, so skip the layout pass.
            same_height = self._drawn[:3] == content
            self._drawn = key
            self.update(call_panel(call, advice, now, lines), layout=not same_height)


class CallsView(KeyedStack[CallCard]):
    """Every active call, most urgent first."""

    def __init__(self, **kwargs: str) -> None:
        super().__init__(CallCard, **kwargs)

    def show(self, calls: list[Call], advice: dict[str, Advice], now: datetime) -> None:
        lines = 12 if len(calls) > 1 else 40
        cards = self.sync([call.call_id for call in calls])
        for card, call in zip(cards, calls, strict=True):
            card.show(call, advice.get(call.call_id), now, lines)
