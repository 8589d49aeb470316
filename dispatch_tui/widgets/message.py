"""The line the dispatcher types into."""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class MessageInput(Input):
    """Textual's input, minus a full-screen layout on every keystroke.

    Input resets its virtual size on every change of its value, and the
    widget's ``virtual_size`` asks for a layout of the whole screen when it
    changes: on a busy floor that layout took tens of milliseconds per key. The
    input's size never depends on its text (the row gives it its width), so a
    repaint is all a new value needs.

    Its horizontal scrollbar is hidden (Input draws it 0 cells high), yet once
    a layout found the text wider than the field, every key past the edge moved
    it, and a screen update with that scrollbar in it cost twice as much. With
    ``overflow-x: hidden`` it is never shown; the input still scrolls to its
    cursor.
    """

    DEFAULT_CSS = """
    MessageInput {
        overflow-x: hidden;
    }
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)
