"""Search the chat and the transcripts the console holds; Enter jumps to a match."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from dispatch_tui.console_state import ConsoleState, Match, search
from dispatch_tui.untrusted import literal

#: Matches listed at most; the newest come first.
MAX_MATCHES = 200


def match_label(match: Match) -> Text:
    """``HH:MM:SS where who: text``, every part literal."""
    when = f"{match.when.astimezone():%H:%M:%S}" if match.when else "--:--:--"
    label = literal(f"{when} ", "dim")
    label.append_text(literal(match.room or match.call_id or "?", "bold cyan"))
    label.append_text(literal(f" {match.who}: ", "bold"))
    label.append_text(literal(match.text))
    return label


class SearchScreen(ModalScreen[Match | None]):
    """Type to search; Tab switches between every room and the open one."""

    CSS_PATH = "search.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("tab", "toggle_scope", "All rooms / this room", priority=True),
        Binding("down", "to_results", "Matches", show=False),
    ]

    def __init__(self, state: ConsoleState) -> None:
        super().__init__()
        self.state = state
        self.everywhere = True
        self.matches: list[Match] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="title")
            yield Input(placeholder="words to find in chat and transcripts", id="query")
            yield OptionList(id="matches")
            yield Static(
                "Enter jumps to the match, Tab: all rooms or this room, Escape closes", id="hint"
            )

    def on_mount(self) -> None:
        self._show_scope()
        self.query_one("#query", Input).focus()

    def _show_scope(self) -> None:
        scope = "every room and call" if self.everywhere else f"room {self.state.selected}"
        self.query_one("#title", Static).update(literal(f"Search {scope}", "bold"))

    def on_input_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    def _search(self, query: str) -> None:
        room = None if self.everywhere else self.state.selected
        self.matches = search(self.state, query, room)[:MAX_MATCHES]
        results = self.query_one("#matches", OptionList)
        results.set_options(Option(match_label(match)) for match in self.matches)
        if self.matches:
            results.highlighted = 0

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self.matches[0] if self.matches else None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.matches[event.option_index])

    def action_toggle_scope(self) -> None:
        if self.state.selected is None:
            return
        self.everywhere = not self.everywhere
        self._show_scope()
        self._search(self.query_one("#query", Input).value)

    def action_to_results(self) -> None:
        self.query_one("#matches", OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
