"""The status bar: connection, server, own name, source, agent and the cluster's Redis."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from dispatch_tui.client import LinkState
from dispatch_tui.untrusted import literal

_LINK_STYLES = {
    LinkState.CONNECTED: "green",
    LinkState.RECOVERED: "green",
    LinkState.CONNECTING: "yellow",
    LinkState.RECONNECTING: "yellow",
    LinkState.GAP: "bold red",
    LinkState.CLOSED: "red",
}

#: The transcription source as the relay's ``status`` event reports it (docs/protocol.md):
#: a source that is reconnecting brings no calls, so it stands out; one switched off is dim.
#: ``connected``, and ``none`` before the first ``status``, are shown plain.
_SOURCE_STYLES: dict[str, str] = {"reconnecting": "red", "off": "dim"}


def status_line(
    url: str,
    name: str | None,
    link: LinkState,
    source: str,
    agent: str,
    detail: str | None,
    redis: str | None = None,
    journal: str | None = None,
) -> Text:
    """One line; a cluster whose Redis is away, or a relay whose journal failed, is
    shown, since sends then fail."""
    line = literal(f" dispatch \u00b7 {url}", "bold")
    if name:
        line.append_text(literal(f" \u00b7 {name}"))
    line.append("   \u25cf ", style=_LINK_STYLES[link])
    line.append(str(link), style=_LINK_STYLES[link])
    line.append_text(literal(f"   source: {source}", _SOURCE_STYLES.get(source, "")))
    line.append_text(literal(f"   agent: {agent}", "red" if agent == "error" else ""))
    if detail:
        line.append_text(literal(f" ({detail})", "dim"))
    if redis is not None and redis != "connected":
        line.append_text(literal(f"   redis: {redis} (messages not stored)", "bold red"))
    if journal is not None:
        line.append_text(literal(f"   journal: {journal} (messages not stored)", "bold red"))
    return line


class StatusBar(Static):
    """One line at the top, showing :func:`status_line`; redrawn when the link or status changes."""
