"""A container of one child widget per key, kept in a given order."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widget import Widget


class KeyedChild(Widget):
    """A child of a :class:`KeyedStack`, which can be handed another key.

    Its virtual size, which the layout that resizes it sets, only repaints it:
    Textual's own ``virtual_size`` asks for a second layout of the whole screen
    after every such layout, and a card in a stack does not scroll.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)

    def rebind(self, key: str) -> None:
        """Forget everything shown and stand for ``key``, as if just made for it."""
        raise NotImplementedError


ChildT = TypeVar("ChildT", bound=KeyedChild)


class KeyedStack(VerticalScroll, Generic[ChildT]):
    """Mounts, removes and reorders children so each key has exactly one.

    Only the children whose content changed are redrawn, which keeps a busy
    pane cheap: a new transcript line re-renders one call, not all of them.

    A key that replaces another in the same sync (a full pane whose oldest call
    gives way to a new one) takes over the old key's child. Mounting and removing
    widgets finish later, over several messages, and each lays the screen out
    again then: at a busy floor's pace those layouts landed between keystrokes.
    """

    def __init__(self, make: Callable[[str], ChildT], **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._make = make
        self._children: dict[str, ChildT] = {}

    def sync(self, keys: Sequence[str]) -> list[ChildT]:
        """The children for ``keys``, in that order, creating and dropping as needed."""
        kept = set(keys)
        spare = [self._children.pop(key) for key in list(self._children) if key not in kept]
        wanted = []
        for key in keys:
            child = self._children.get(key)
            if child is None and spare:
                child = self._children[key] = spare.pop()
                child.rebind(key)
            elif child is None:
                child = self._children[key] = self._make(key)
                self.mount(child)
            wanted.append(child)
        for child in spare:
            child.remove()
        attached = [child for child in self.children if child in wanted]
        if attached != [child for child in wanted if child in attached]:
            self._reorder([child for child in wanted if child in attached])
        return wanted

    def child(self, key: str) -> ChildT | None:
        """The child shown for ``key``, if any."""
        return self._children.get(key)

    def _reorder(self, order: list[ChildT]) -> None:
        """Move mounted children into ``order``: the first to the top, each next after it."""
        if self.children[0] is not order[0]:
            self.move_child(order[0], before=self.children[0])
        for previous, child in itertools.pairwise(order):
            self.move_child(child, after=previous)
