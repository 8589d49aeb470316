"""What the commands print: JSON lines for scripts, tables and cards for people.

Rich is imported only when something is shown, and every text from a peer is
shown literally.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from dispatch_tui import events as ev

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


def rooms_table(reply: ev.RoomsList) -> Table:
    """The ``list_rooms`` reply: each room and its member count, by name."""
    from rich.table import Table

    from dispatch_tui.untrusted import literal

    rendered = Table("room", "members")
    for room_name, members in sorted(reply.rooms.items()):
        rendered.add_row(literal(room_name), str(members))
    return rendered


def clients_table(reply: ev.ClientsList) -> Table:
    """The ``list_clients`` reply: each client's address, name, role and rooms."""
    from rich.table import Table

    from dispatch_tui.untrusted import literal

    rendered = Table("address", "name", "role", "rooms")
    for entry in reply.clients:
        rendered.add_row(
            literal(entry.address),
            literal(entry.name or ""),
            literal(entry.role or ""),
            literal(", ".join(entry.rooms)),
        )
    return rendered


def history_table(messages: list[dict[str, Any]]) -> Table:
    """Stored messages, one row each; a body that is not text is shown as its JSON."""
    from rich.table import Table

    from dispatch_tui.untrusted import literal

    table = Table("seq", "time", "from", "event", "message")
    for message in messages:
        seq, ts, who, body = _stored_row(ev.parse_event(message))
        shown = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        table.add_row(
            "" if seq is None else str(seq),
            ts or "",
            literal(who),
            literal(str(message.get("event", ""))),
            literal(shown),
        )
    return table


def _stored_row(event: ev.Event | None) -> tuple[int | None, str | None, str, Any]:
    """A stored event's seq, time, who it is from (or the call) and its body."""
    match event:
        case ev.ClientMessage():
            return event.seq, event.ts, event.name or event.sender, event.message
        case ev.Transcript():
            return event.seq, event.ts, event.call_id, event.text
        case ev.AiSuggestion():
            return event.seq, event.ts, event.call_id, event.suggestion
        case ev.CallClaimed() | ev.AdviceAcknowledged():
            return event.seq, event.ts, event.name or event.sender or event.call_id, None
        case ev.AdviceEscalated():
            return event.seq, event.ts, event.call_id, None
    return None, None, "", None


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


def show_event(frame: dict[str, Any]) -> None:
    """One line per transcript, a card per suggestion, for people watching."""
    from dispatch_tui.untrusted import literal

    match ev.parse_event(frame):
        case ev.Transcript(is_final=True) as fragment:
            line = literal(f"{fragment.call_id}  {fragment.speaker or '?':>10}  ", "dim")
            line.append_text(literal(fragment.text))
            stdout_console().print(line)
        case ev.AiSuggestion() as advice:
            stdout_console().print(suggestion_view(advice.call_id, advice.suggestion))
