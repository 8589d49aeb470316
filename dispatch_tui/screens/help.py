"""Every key binding of the console, read from the bindings themselves."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

_ALWAYS = (
    ("Enter", "send the typed line to the room shown in the prompt"),
    ("Tab / Shift+Tab", "move between panes"),
    ("Up / Down, Enter", "in the room list: pick a room and open it"),
    ("Ctrl+P", "command palette: join, leave, switch room, broadcast, clients"),
)


class HelpScreen(ModalScreen[None]):
    """Shown with F1; any of Escape, F1 or q closes it."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "close", "Close")]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in _ALWAYS:
            table.add_row(key, what)
        for binding in self.bindings:
            if binding.description:
                table.add_row(_key_label(binding.key), binding.description)
        with Vertical(id="dialog"):
            yield Static("dispatch console \u00b7 keys", id="title")
            with VerticalScroll():
                yield Static(table)
            yield Static("Escape closes this help", id="hint")

    def action_close(self) -> None:
        self.dismiss(None)


def _key_label(keys: str) -> str:
    labels = []
    for key in keys.split(","):
        parts = [part.capitalize() if len(part) > 1 else part.upper() for part in key.split("+")]
        labels.append("+".join(parts).replace("Pageup", "PgUp").replace("Pagedown", "PgDn"))
    return " / ".join(labels)
