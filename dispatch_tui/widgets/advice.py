"""Advice cards: the agent's suggestions, most urgent first."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, ConsoleOptions
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip

from dispatch_tui.advice_text import add_advice_rows, incident_kind
from dispatch_tui.console_state import Advice, Call
from dispatch_tui.floor import CallMarks
from dispatch_tui.untrusted import literal
from dispatch_tui.widgets.keyed import KeyedChild, KeyedStack

PRIORITY_COLOURS = {1: "bold red", 2: "yellow", 3: "cyan", 4: "green", 5: "bright_black"}


def priority_colour(priority: int) -> str:
    return PRIORITY_COLOURS.get(priority, "cyan")


def elapsed(since: datetime, now: datetime) -> str:
    """``mm:ss`` (or ``h:mm:ss``) since a moment; never negative."""
    seconds = max(0, int((now - since).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes:02}:{seconds:02}"


def marks_text(marks: CallMarks | None) -> Text:
    """Who has the call and its advice: ``taken by NAME``, ``ack NAME``, ``ESCALATED``."""
    parts = []
    if marks is not None and marks.claimed_by is not None:
        parts.append(literal(f"taken by {marks.claimed_by}", "bold green"))
    if marks is not None and marks.acknowledged_by is not None:
        parts.append(literal(f"ack {marks.acknowledged_by}", "green"))
    elif marks is not None and marks.escalated:
        parts.append(literal("ESCALATED: not acknowledged", "bold white on red"))
    return Text(" \u00b7 ").join(parts)


def open_questions(advice: Advice, call: Call | None) -> list[str]:
    """The advice's questions that the dispatcher has not asked on this call yet."""
    return advice.open_questions(call.dispatcher_words() if call is not None else set())


def advice_card(
    advice: Advice, call: Call | None, questions: list[str], marks: CallMarks | None = None
) -> Panel:
    """One suggestion as a card; every field from the agent is shown literally.

    The subtitle says when in the call the advice came; ``questions`` are
    the ones the dispatcher has not asked yet.
    """
    suggestion = advice.suggestion
    colour = priority_colour(advice.priority)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    taken = marks_text(marks)
    if taken:
        grid.add_row("who", taken)
    grid.add_row("where", literal(suggestion.get("location") or "unknown location"))
    if suggestion.get("summary"):
        grid.add_row("what", literal(suggestion["summary"]))
    add_advice_rows(grid, questions, suggestion)
    kind = incident_kind(suggestion.get("incident_type") or "unknown")
    title = literal(f" P{advice.priority} {kind} ", f"{colour} reverse")
    title.append_text(literal(f" \u00b7 {advice.call_id} "))
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


def card_strips(console: Console, options: ConsoleOptions, card: Panel) -> list[Strip]:
    """A card's panel rendered at the width of ``options``, one strip per row."""
    width = options.max_width
    return [Strip(line, width) for line in console.render_lines(card, options, pad=True)]


class AdviceCard(KeyedChild):
    """The newest advice of one call, drawn line by line from its panel rendered once.

    A card is a Rich panel, and rendering one takes milliseconds. As a
    ``Static`` it was rendered again after every layout that touched it, and
    such layouts (a card coming, going or moving) landed between keystrokes.
    Here the panel is rendered once per content and width; a layout or a
    repaint reads the rows already made.
    """

    DEFAULT_CSS = """
    AdviceCard {
        height: auto;
    }
    """

    def __init__(self, call_id: str) -> None:
        super().__init__(classes="advice")
        self.rebind(call_id)

    def rebind(self, key: str) -> None:
        self.call_id = key
        #: The advice last shown (held, not its ``id``, which a newer one may reuse).
        self._advice: Advice | None = None
        self._seen: tuple[int, str] = (-1, "")
        self._drawn: tuple[list[str], str] = ([], "")
        #: The panel shown, and its rows at the width they were rendered for.
        self.card: Panel | None = None
        self._rows: tuple[int, list[Strip]] = (0, [])

    def show(self, advice: Advice, call: Call | None, marks: CallMarks | None) -> None:
        """Redraw for new advice, new marks or when a question drops off, not on every word."""
        shown_marks = marks_text(marks).plain
        seen = (call.dispatcher_version if call is not None else -1, shown_marks)
        new_advice = advice is not self._advice
        if not new_advice and seen == self._seen:
            return
        self._advice, self._seen = advice, seen
        drawn = (open_questions(advice, call), shown_marks)
        if new_advice or drawn != self._drawn:
            self._drawn = drawn
            self._redraw(advice_card(advice, call, drawn[0], marks))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows_at(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        rows = self._rows_at(width)
        if y < len(rows):
            return rows[y].apply_style(self.rich_style)
        return Strip.blank(width, self.rich_style)

    def _rows_at(self, width: int) -> list[Strip]:
        if self.card is None or width <= 0:
            return []
        if self._rows[0] != width:
            options = self.app.console_options.update_width(width)
            self._rows = (width, card_strips(self.app.console, options, self.card))
        return self._rows[1]

    def _redraw(self, card: Panel) -> None:
        """Repaint in place; lay the screen out again only when the card's height changes."""
        self.card = card
        self._rows = (0, [])
        width = self.content_size.width
        if not width or len(self._rows_at(width)) != self.content_size.height:
            self.refresh(layout=True)
        else:
            self.refresh()


class AdviceView(KeyedStack[AdviceCard]):
    """All advice cards, most urgent and then newest first."""

    def __init__(self, **kwargs: str) -> None:
        super().__init__(AdviceCard, **kwargs)

    def show(
        self, cards: list[Advice], calls: dict[str, Call], marks: dict[str, CallMarks]
    ) -> None:
        for card, advice in zip(self.sync([a.call_id for a in cards]), cards, strict=True):
            card.show(advice, calls.get(advice.call_id), marks.get(advice.call_id))
