"""The status bar: connection, server, own name, source and agent."""

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


def status_line(
    url: str, name: str | None, link: LinkState, source: str, agent: str, detail: str | None
) -> Text:
    line = literal(f" dispatch \u00b7 {url}", "bold")
    if name:
        line.append_text(literal(f" \u00b7 {name}"))
    line.append("   \u25cf ", style=_LINK_STYLES[link])
    line.append(str(link), style=_LINK_STYLES[link])
    line.append_text(literal(f"   source: {source}", "red" if source == "down" else ""))
    line.append_text(literal(f"   agent: {agent}", "red" if agent == "error" else ""))
    if detail:
        line.append_text(literal(f" ({detail})", "dim"))
    return line


class StatusBar(Static):
    """One line at the top; redrawn whenever the link or the relay's status changes."""

    def show(
        self,
        url: str,
        name: str | None,
        link: LinkState,
        source: str,
        agent: str,
        detail: str | None,
    ) -> None:
        self.update(status_line(url, name, link, source, agent, detail))
