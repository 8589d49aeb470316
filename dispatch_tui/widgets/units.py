"""The units board: every unit heard from, its status, where it is and its call."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from dispatch_tui.floor import Unit, status_key
from dispatch_tui.untrusted import literal
from dispatch_tui.widgets.advice import elapsed

#: Status colours; a status the board does not know is shown as sent, uncoloured.
STATUS_STYLES = {
    "available": "bold green",
    "dispatched": "bold yellow",
    "en_route": "bold cyan",
    "on_scene": "bold magenta",
    "transporting": "bold blue",
    "out_of_service": "dim",
}
COLUMNS = ("unit", "status", "location", "call", "heard")


def status_text(status: str) -> Text:
    return literal(status, STATUS_STYLES.get(status_key(status), ""))


def unit_row(unit: Unit, now: datetime, stale_after: float) -> tuple[Text, ...]:
    """One row, every part literal; a unit silent too long says so in red."""
    if unit.heard is None:
        heard = Text("never", style="dim")
    elif unit.is_stale(now, stale_after):
        heard = literal(f"STALE {elapsed(unit.heard, now)}", "bold red")
    else:
        heard = literal(f"{elapsed(unit.heard, now)} ago", "dim")
    return (
        literal(unit.name, "bold"),
        status_text(unit.status),
        literal(unit.location or "\u2014"),
        literal(unit.call_id or "\u2014"),
        heard,
    )


class UnitsBoard(DataTable[Text]):
    """Units in the board's status order; rows are updated in place when the order holds."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for column in COLUMNS:
            self.add_column(column, key=column)

    def show(self, units: list[Unit], now: datetime, stale_after: float) -> None:
        order = [unit.name for unit in units]
        rows = [unit_row(unit, now, stale_after) for unit in units]
        if [str(key.value) for key in self.rows] == order:
            for name, row in zip(order, rows, strict=True):
                for column, cell in zip(COLUMNS, row, strict=True):
                    if self.get_cell(name, column) != cell:
                        self.update_cell(name, column, cell)
            return
        cursor = self.selected_unit()
        self.clear()
        for name, row in zip(order, rows, strict=True):
            self.add_row(*row, key=name)
        if cursor in order:
            self.move_cursor(row=order.index(cursor))

    def selected_unit(self) -> str | None:
        """The unit under the cursor, if the board has any."""
        if not self.row_count:
            return None
        key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return None if key.value is None else str(key.value)
