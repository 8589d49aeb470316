"""Everyone connected to the relay, with their role and rooms."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from dispatch_tui.untrusted import literal


class ClientsScreen(ModalScreen[None]):
    """A table of the ``clients_list`` reply; Escape closes it."""

    CSS_PATH = "clients.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, clients: list[dict[str, Any]]) -> None:
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
            rooms = client.get("rooms") or []
            table.add_row(
                literal(client.get("name") or "-"),
                literal(client.get("role") or "-"),
                literal(client.get("address") or "?"),
                literal(", ".join(str(room) for room in rooms) or "-"),
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
