"""The room list: members, unread counts and a marker for urgent traffic."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from dispatch_tui.console_state import Room
from dispatch_tui.untrusted import literal


class RoomList(OptionList):
    """Rooms the console is in first, then rooms the relay lists; Enter opens one."""

    class Chosen(Message):
        def __init__(self, room: str) -> None:
            super().__init__()
            self.room = room

    def show(self, rooms: list[Room], selected: str | None) -> None:
        """Relabel rooms in place while the list is the same (no layout pass), else rebuild."""
        ordered = sorted(rooms, key=lambda room: (not room.joined, room.name))
        options = [_option(room, room.name == selected) for room in ordered]
        if [option.id for option in self.options] == [option.id for option in options]:
            for index, (shown, option) in enumerate(zip(self.options, options, strict=True)):
                if shown.prompt != option.prompt:
                    self.replace_option_prompt_at_index(index, option.prompt)
            return
        highlighted = self.highlighted
        self.set_options(options)
        if highlighted is not None and highlighted < len(ordered):
            self.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Chosen(event.option.id))


def _option(room: Room, selected: bool) -> Option:
    marker = "\u25b8" if selected else ("!" if room.urgent is not None else " ")
    style = "bold red" if room.urgent is not None else ("bold" if room.joined else "dim")
    label = literal(f"{marker} ", "bold red" if marker == "!" else "bold")
    label.append_text(literal(room.name, style))
    label.append_text(literal(f"  {room.members}", "dim"))
    if room.unread:
        label.append_text(literal(f" \u00b7 {room.unread} new", "yellow"))
    return Option(label, id=room.name)
