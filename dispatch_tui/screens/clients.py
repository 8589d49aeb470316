"""Everyone connected to the relay, with their role and rooms."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from dispatch_tui.events import ClientEntry
from dispatch_tui.untrusted import literal


class ClientsScreen(ModalScreen[None]):
    """A table of the ``clients_list`` reply; Escape closes it."""

    CSS_PATH = "clients.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, clients: list[ClientEntry]) -> None:
        super().__init__()
        self.clients = clients

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"{len(self.clients)} clients connected", id="title")
            yield DataTable(id="table", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "role", "address", "rooms")
        for client in self.clients:
            table.add_row(
                literal(client.name or "-"),
                literal(client.role or "-"),
                literal(client.address or "?"),
                literal(", ".join(client.rooms) or "-"),
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
