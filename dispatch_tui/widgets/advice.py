"""Advice cards: the agent's suggestions, most urgent first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.panel import Panel
from rich.table import Table
from textual.widgets import Static

from dispatch_tui.console_state import Advice, Call
from dispatch_tui.untrusted import literal
from dispatch_tui.widgets.keyed import KeyedStack

PRIORITY_COLOURS = {1: "bold red", 2: "yellow", 3: "cyan", 4: "green", 5: "bright_black"}


def priority_colour(priority: int) -> str:
    return PRIORITY_COLOURS.get(priority, "cyan")


def elapsed(since: datetime, now: datetime) -> str:
    """``mm:ss`` (or ``h:mm:ss``) since a moment; never negative."""
    seconds = max(0, int((now - since).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes:02}:{seconds:02}"


def open_questions(advice: Advice, call: Call | None) -> list[str]:
    """The advice's questions that the dispatcher has not asked on this call yet."""
    return advice.open_questions(call.dispatcher_words() if call is not None else set())


def advice_card(advice: Advice, call: Call | None, questions: list[str]) -> Panel:
    """One suggestion as a card; every field from the agent is shown literally.

    The subtitle says when in the call the advice came; ``questions`` are
    the ones the dispatcher has not asked yet.
    """
    suggestion = advice.suggestion
    colour = priority_colour(advice.priority)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row("where", literal(suggestion.get("location") or "unknown location"))
    if suggestion.get("summary"):
        grid.add_row("what", literal(suggestion["summary"]))
    rows: Iterable[tuple[str, object]] = (
        *(("ask", item) for item in questions),
        *(("do", item) for item in suggestion.get("instructions") or []),
        *(("send", item) for item in suggestion.get("units") or []),
        *(("why", f"\u201c{item}\u201d") for item in suggestion.get("evidence") or []),
    )
    previous = ""
    for label, item in rows:
        grid.add_row(label if label != previous else "", literal(item))
        previous = label
    kind = str(suggestion.get("incident_type") or "unknown").replace("_", " ").upper()
    title = literal(f" P{advice.priority} {kind} ", f"{colour} reverse")
    title.append_text(literal(f" \u00b7 {advice.call_id}"))
    when = None
    if call is not None:
        when = literal(f"at {elapsed(call.started, advice.received)} into the call", "dim")
    return Panel(
        grid,
        title=title,
        title_align="left",
        subtitle=when,
        subtitle_align="right",
        border_style=colour,
    )


class AdviceCard(Static):
    """The newest advice of one call."""

    def __init__(self, call_id: str) -> None:
        super().__init__(classes="advice")
        self.call_id = call_id
        self._seen: tuple[int, int] = (0, 0)
        self._drawn: tuple[int, list[str]] = (0, [])

    def show(self, advice: Advice, call: Call | None) -> None:
        """Redraw for new advice or when a question drops off, not on every word said."""
        seen = (id(advice), call.dispatcher_version if call is not None else -1)
        if seen == self._seen:
            return
        self._seen = seen
        drawn = (id(advice), open_questions(advice, call))
        if drawn != self._drawn:
            self._drawn = drawn
            self.update(advice_card(advice, call, drawn[1]))


class AdviceView(KeyedStack[AdviceCard]):
    """All advice cards, most urgent and then newest first."""

    def __init__(self, **kwargs: str) -> None:
        super().__init__(AdviceCard, **kwargs)

    def show(self, cards: list[Advice], calls: dict[str, Call]) -> None:
        for card, advice in zip(self.sync([a.call_id for a in cards]), cards, strict=True):
            card.show(advice, calls.get(advice.call_id))
