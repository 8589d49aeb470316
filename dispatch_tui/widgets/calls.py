"""Live transcripts, one fixed-height card per call.

A card is drawn line by line (Textual's line API) instead of as a Rich panel:
its height is fixed, so a new transcript line never triggers a layout pass of
the whole screen, and only the turns that changed are wrapped again. This is
what keeps the console's cost flat however fast transcripts arrive.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip

from dispatch_tui.console_state import Advice, Call, TranscriptLine
from dispatch_tui.floor import CallMarks
from dispatch_tui.untrusted import literal
from dispatch_tui.vocabulary import is_dispatcher_speaker
from dispatch_tui.widgets.advice import elapsed, marks_text, priority_colour
from dispatch_tui.widgets.keyed import KeyedChild, KeyedStack

#: Cells for the speaker column, and the gap after it.
LABEL_WIDTH = 7
INDENT = LABEL_WIDTH + 1
#: Rows of transcript per card: fewer when several calls share the pane.
ROWS_SEVERAL = 12
ROWS_ALONE = 40
#: A growing card grows by this many rows at a time: each growth lays the whole
#: screen out again, and a new call adds a row every turn or two.
ROWS_STEP = 4
_IDLE_BORDER = "ansi_bright_black"
#: Border colours by priority: the terminal's own colours, as the advice cards use.
_BORDERS = {1: "ansi_red", 2: "ansi_yellow", 3: "ansi_cyan", 4: "ansi_green", 5: _IDLE_BORDER}


def speaker_label(speaker: str | None) -> Text:
    if speaker is None:
        return Text("?", style="dim")
    if is_dispatcher_speaker(speaker):
        return Text("disp.", style="bold blue")
    return literal(speaker[:LABEL_WIDTH].lower(), "bold")


def turn_text(line: TranscriptLine) -> Text:
    """A turn's words, literal; interim text is dim and ends in an ellipsis."""
    if line.final:
        return literal(line.text)
    return literal(f"{line.text}\u2026", "dim italic")


def call_title(call: Call, advice: Advice | None, now: datetime, marks: CallMarks | None) -> Text:
    title = literal(f" {call.call_id} \u00b7 {elapsed(call.started, now)} ", "bold")
    if advice is not None:
        title.append_text(literal(f"P{advice.priority} ", priority_colour(advice.priority)))
    taken = marks_text(marks)
    if taken:
        title.append_text(taken)
        title.append(" ")
    return title


def wrap_turn(console: Console, line: TranscriptLine, width: int) -> list[Strip]:
    """One turn as rows: the speaker, then the words wrapped under a hanging indent."""
    body_width = max(1, width - INDENT)
    rows = turn_text(line).wrap(console, body_width, overflow="fold")
    label = speaker_label(line.speaker)
    label.truncate(LABEL_WIDTH, pad=True)
    gap = Segment(" " * INDENT)
    strips = []
    for index, row in enumerate(rows or [Text("")]):
        head = [*label.render(console), Segment(" ")] if index == 0 else [gap]
        strips.append(Strip([*head, *row.render(console)]))
    return strips


class CallCard(KeyedChild):
    """One call's newest transcript rows under a titled border."""

    DEFAULT_CSS = f"""
    CallCard {{
        height: 3;
        border: round {_IDLE_BORDER};
        padding: 0 1;
    }}
    """

    def __init__(self, call_id: str) -> None:
        super().__init__(classes="call")
        self._colour = _IDLE_BORDER
        self._max_rows = ROWS_SEVERAL
        self.rebind(call_id)

    def rebind(self, key: str) -> None:
        """Its border and height stay until :meth:`show` sets the new call's."""
        self.call_id = key
        self._call: Call | None = None
        self._version = -1
        self._title = ""
        self._rows: list[Strip] = []
        #: The rows last painted, so a change repaints only the rows that differ.
        self._shown: list[Strip] = []
        self._rows_key: tuple[int, int, int] = (-1, -1, -1)
        #: Wrapped rows of recent turns, so a new turn does not re-wrap the others.
        self._wrapped: dict[tuple[str | None, str, bool, int], list[Strip]] = {}

    def show(
        self,
        call: Call,
        advice: Advice | None,
        now: datetime,
        rows: int,
        marks: CallMarks | None = None,
    ) -> None:
        """Take the call's state; repaint only what changed.

        The card grows with its transcript up to ``rows`` rows and then keeps
        its height, so once a call is under way its lines cost no layout.
        """
        self._call, self._max_rows = call, rows
        colour = _BORDERS.get(advice.priority, _IDLE_BORDER) if advice is not None else _IDLE_BORDER
        if colour != self._colour:
            self._colour = colour
            self.styles.border = ("round", colour)
        title = call_title(call, advice, now, marks)
        if title.plain != self._title:
            self._title = title.plain
            self.border_title = title
        if call.version != self._version or rows != self._rows_key[2]:
            self._version = call.version
            shown = self._shown
            if self._fit_height() or not self.content_size:
                self.refresh()
                return
            self._shown = self._newest_rows()[-self.content_size.height :]
            width = self.content_size.width
            changed = [
                Region(0, y, width, 1)
                for y, (before, after) in enumerate(itertools.zip_longest(shown, self._shown))
                if before != after
            ]
            if changed:
                self.refresh(*changed)

    def on_resize(self) -> None:
        """A new width wraps the turns anew, which may change how many rows they take."""
        self._fit_height()

    def _fit_height(self) -> bool:
        """Grow or shrink, by :data:`ROWS_STEP` rows, to the rows there are; True if it changed."""
        needed = max(1, len(self._newest_rows()))
        height = min(self._max_rows, -(-needed // ROWS_STEP) * ROWS_STEP) + 2
        if self.styles.height is not None and self.styles.height.value == height:
            return False
        self.styles.height = height
        return True

    def render_line(self, y: int) -> Strip:
        rows = self._shown = self._newest_rows()[-self.content_size.height :]
        width = self.content_size.width
        if y < len(rows):
            return rows[y].crop_extend(0, width, None).apply_style(self.rich_style)
        return Strip.blank(width, self.rich_style)

    def _newest_rows(self) -> list[Strip]:
        """Up to ``rows`` newest rows, wrapped at the card's width."""
        call = self._call
        width = self.content_size.width or self.app.size.width // 2
        key = (self._version, width, self._max_rows)
        if call is None or key == self._rows_key:
            return self._rows
        console = self.app.console
        wrapped: dict[tuple[str | None, str, bool, int], list[Strip]] = {}
        rows: list[Strip] = []
        for line in reversed(call.lines):
            turn_key = (line.speaker, line.text, line.final, width)
            strips = self._wrapped.get(turn_key) or wrap_turn(console, line, width)
            wrapped[turn_key] = strips
            rows[:0] = strips
            if len(rows) >= self._max_rows:
                break
        self._wrapped = wrapped
        self._rows, self._rows_key = rows[-self._max_rows :], key
        return self._rows


class CallsView(KeyedStack[CallCard]):
    """Every active call, most urgent first."""

    def __init__(self, **kwargs: str) -> None:
        super().__init__(CallCard, **kwargs)

    def show(
        self,
        calls: list[Call],
        advice: dict[str, Advice],
        now: datetime,
        marks: dict[str, CallMarks],
    ) -> None:
        rows = ROWS_SEVERAL if len(calls) > 1 else ROWS_ALONE
        cards = self.sync([call.call_id for call in calls])
        for card, call in zip(cards, calls, strict=True):
            card.show(call, advice.get(call.call_id), now, rows, marks.get(call.call_id))

    def reveal(self, call_id: str) -> bool:
        """Scroll a call's card into view; False if there is no such card."""
        card = self.child(call_id)
        if card is None:
            return False
        self.scroll_to_widget(card, animate=False)
        return True
