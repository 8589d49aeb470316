"""Choose one of a few things (a call, a unit) from a list; Escape chooses nothing."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class PickScreen(ModalScreen[str | None]):
    """Answers the id of the option chosen with Enter, or None after Escape."""

    CSS_PATH = "prompt.tcss"
    DEFAULT_CSS = (
        "PickScreen { align: center middle; } PickScreen #choices { height: auto; max-height: 20; }"
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: list[tuple[str, Text]], highlighted: int = 0) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.highlighted = highlighted

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="title", markup=False)
            yield OptionList(*(Option(label, id=key) for key, label in self.choices), id="choices")
            yield Static("Enter to choose, Escape to cancel", id="hint")

    def on_mount(self) -> None:
        choices = self.query_one(OptionList)
        choices.highlighted = min(self.highlighted, len(self.choices) - 1)
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
