"""How a suggestion reads on a card, for the console's advice card and the CLI's alike.

Both cards (``widgets/advice.py`` and ``cli/render.py``) list the agent's
questions, instructions, units and evidence the same way and name the incident
the same way; this module needs only Rich, so the CLI's cards never load Textual.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from dispatch_tui.untrusted import literal

if TYPE_CHECKING:
    from rich.table import Table


def incident_kind(incident_type: object) -> str:
    """An incident type as a card's title shows it: ``structure_fire`` is ``STRUCTURE FIRE``."""
    return str(incident_type).replace("_", " ").upper()


def add_advice_rows(
    grid: Table, questions: Iterable[object], suggestion: Mapping[str, Any]
) -> None:
    """The ask, do, send and why rows of a card, each item shown literally.

    Only the first row of each kind carries its label; evidence is quoted.
    """
    rows: Iterable[tuple[str, object]] = (
        *(("ask", item) for item in questions),
        *(("do", item) for item in suggestion.get("instructions") or []),
        *(("send", item) for item in suggestion.get("units") or []),
        *(("why", f"\u201c{item}\u201d") for item in suggestion.get("evidence") or []),
    )
    previous = ""
    for label, item in rows:
        grid.add_row(label if label != previous else "", literal(item))
        previous = label
