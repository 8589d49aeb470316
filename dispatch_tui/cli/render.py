"""What the commands print: JSON lines for scripts, tables and cards for people.

Rich is imported only when something is shown, and every text from a peer is
shown literally.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table


def print_json(value: Any) -> None:
    """One JSON line on stdout, flushed at once so a pipe sees it as it comes."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def stdout_console() -> Console:
    """A Rich console on stdout, made only when there is something to show people."""
    from rich.console import Console

    return Console()


def rooms_table(reply: dict[str, Any]) -> Table:
    """The ``list_rooms`` reply: each room and its member count, by name."""
    from rich.table import Table

    from dispatch_tui.untrusted import literal

    rendered = Table("room", "members")
    for room_name, members in sorted(reply["data"]["rooms"].items()):
        rendered.add_row(literal(room_name), str(members))
    return rendered


def clients_table(reply: dict[str, Any]) -> Table:
    """The ``list_clients`` reply: each client's address, name, role and rooms."""
    from rich.table import Table

    from dispatch_tui.untrusted import literal

    rendered = Table("address", "name", "role", "rooms")
    for entry in reply["data"]["clients"]:
        rendered.add_row(
            literal(entry.get("address")),
            literal(entry.get("name") or ""),
            literal(entry.get("role") or ""),
            literal(", ".join(entry.get("rooms") or [])),
        )
    return rendered


def history_table(messages: list[dict[str, Any]]) -> Table:
    """Stored messages, one row each; a body that is not text is shown as its JSON."""
    from rich.table import Table

    from dispatch_tui.untrusted import literal

    table = Table("seq", "time", "from", "event", "message")
    for message in messages:
        data = message.get("data") or {}
        body = data.get("message", data.get("text", data.get("suggestion")))
        shown = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        table.add_row(
            str(data.get("seq", "")),
            str(data.get("ts", "")),
            literal(data.get("name") or data.get("from") or data.get("call_id") or ""),
            literal(message.get("event", "")),
            literal(shown),
        )
    return table


def suggestion_view(call_id: str, suggestion: dict[str, Any]) -> Panel:
    """A readable card of one suggestion; every text in it is shown literally."""
    from rich.panel import Panel
    from rich.table import Table

    from dispatch_tui.advice_text import add_advice_rows, incident_kind
    from dispatch_tui.untrusted import literal

    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("where", literal(suggestion.get("location") or "unknown"))
    grid.add_row("what", literal(suggestion.get("summary") or ""))
    add_advice_rows(grid, suggestion.get("questions") or [], suggestion)
    priority = suggestion.get("priority", 3)
    colour = {1: "red", 2: "yellow"}.get(priority, "cyan")
    kind = incident_kind(suggestion.get("incident_type", "unknown"))
    title = literal(f"P{priority} {kind} \u00b7 {call_id}", style=f"bold {colour}")
    return Panel(grid, title=title, title_align="left", border_style=colour)


def show_event(event: dict[str, Any]) -> None:
    """One line per transcript, a card per suggestion, for people watching."""
    from dispatch_tui.untrusted import literal

    data = event.get("data") or {}
    kind = event.get("event")
    if kind == "transcript" and data.get("is_final"):
        line = literal(f"{data.get('call_id')}  {data.get('speaker') or '?':>10}  ", "dim")
        line.append_text(literal(data.get("text", "")))
        stdout_console().print(line)
    elif kind == "ai_suggestion":
        card = suggestion_view(str(data.get("call_id")), data.get("suggestion") or {})
        stdout_console().print(card)
