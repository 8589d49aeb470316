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
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)
