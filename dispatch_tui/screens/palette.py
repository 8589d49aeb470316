"""The command palette's console entries: the main screen's actions and its rooms by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from dispatch_tui.screens.main import MainScreen

#: A palette entry: its title, its help line and what choosing it does.
PaletteCommand = tuple[str, str, Callable[[], Any]]


def palette_commands(main: MainScreen) -> list[PaletteCommand]:
    """What the command palette offers, rooms included by name."""
    commands: list[PaletteCommand] = [
        ("Join room…", "join a room by name", main.action_join_room),
        ("Leave room", "leave the room shown in the prompt", main.action_leave_room),
        ("Broadcast to all…", "send a message to every client", main.action_broadcast),
        ("List clients", "everyone connected to the relay", main.action_list_clients),
        ("Most urgent room", "open the room with the most urgent traffic", main.action_most_urgent),
        ("Units board", "show or hide the units board", main.action_toggle_units),
        ("Search…", "search chat and transcripts", main.action_search),
        ("Take call…", "claim a call for yourself", main.action_take_call),
        ("Acknowledge P1…", "acknowledge priority-1 advice", main.action_acknowledge_advice),
        ("Assign unit…", "send a unit to a call", main.action_assign_unit),
        ("Send emergency alert…", "an alert to every client", main.action_send_alert),
        ("Acknowledge alert", "take the alert off the banner", main.action_acknowledge_alert),
    ]
    state = main.state
    for room in sorted(state.rooms.values(), key=lambda room: room.name):
        if room.name != state.selected:
            switch = partial(main.switch_to, room.name)
            commands.append((f"Switch to {room.name}", "open this room's chat", switch))
        if room.joined:
            leave = partial(main.leave, room.name)
            commands.append((f"Leave {room.name}", "stop receiving this room", leave))
    return commands


class ConsoleCommands(Provider):
    """Palette entries for rooms and messages; titles are plain text, never markup.

    The app lists this provider, so the main screen's entries are offered
    wherever the palette is opened, over a dialog too.
    """

    def _commands(self) -> list[PaletteCommand]:
        for screen in self.app.screen_stack:
            if isinstance(screen, MainScreen):
                return palette_commands(screen)
        return []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(Content(title), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, Content(title), callback, text=title, help=help_text)
