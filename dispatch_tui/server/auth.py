"""Roles: which rooms a client may join and send to, and what else it may do."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of permissions; room patterns are shell-style globs."""

    name: str
    rooms: tuple[str, ...] = ("*",)
    broadcast: bool = True
    publish: bool = True

    def may_enter(self, room: str) -> bool:
        """Whether the role may join, send to and read the history of ``room``."""
        return any(fnmatchcase(room, pattern) for pattern in self.rooms)


#: The role of every client when the relay runs without an auth file.
OPEN_ROLE = Role(name="open")
