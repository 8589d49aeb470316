"""A container of one child widget per key, kept in a given order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from textual.containers import VerticalScroll
from textual.widget import Widget

ChildT = TypeVar("ChildT", bound=Widget)


class KeyedStack(VerticalScroll, Generic[ChildT]):
    """Mounts, removes and reorders children so each key has exactly one.

    Only the children whose content changed are redrawn, which keeps a busy
    pane cheap: a new transcript line re-renders one call, not all of them.
    """

    def __init__(self, make: Callable[[str], ChildT], **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._make = make
        self._children: dict[str, ChildT] = {}

    def sync(self, keys: Sequence[str]) -> list[ChildT]:
        """The children for ``keys``, in that order, creating and dropping as needed."""
        for key in self._children.keys() - set(keys):
            self._children.pop(key).remove()
        wanted = []
        for key in keys:
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = self._make(key)
                self.mount(child)
            wanted.append(child)
        current = [child for child in self.children if child in wanted]
        if current != wanted:
            for index, child in enumerate(wanted):
                if child.parent is self and list(self.children).index(child) != index:
                    self.move_child(child, before=index)
        return wanted
