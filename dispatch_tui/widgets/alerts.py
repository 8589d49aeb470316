"""The emergency-alert banner and the notification line: they sit between panes, never on them."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from dispatch_tui.floor import Alert
from dispatch_tui.untrusted import literal

SEVERITY_STYLES = {"information": "", "warning": "bold yellow", "error": "bold red"}
#: How long a notice stays on the line, unless its notification says otherwise.
NOTICE_SECONDS = 10.0


def alert_text(alert: Alert, waiting: int) -> Text:
    """``EMERGENCY ALERT (HIGH) · text · from SENDER at HH:MM``, every part literal."""
    text = literal(f" EMERGENCY ALERT ({alert.priority.upper()}) ", "bold reverse")
    text.append_text(literal(f"  {alert.text}", "bold"))
    text.append_text(literal(f"   from {alert.sender} at {alert.when.astimezone():%H:%M:%S}"))
    if waiting > 1:
        text.append_text(literal(f"   (+{waiting - 1} more)", "bold"))
    text.append_text(literal("   F9 acknowledges", "dim"))
    return text


class AlertBanner(Static):
    """Across the console while an alert waits for this dispatcher's acknowledgement."""

    def show(self, alerts: list[Alert]) -> None:
        self.display = bool(alerts)
        if alerts:
            self.update(alert_text(alerts[0], len(alerts)))


class NoticeLine(Static):
    """The console's notifications, one line above the keys, instead of toasts over the panes.

    Its height is fixed (one row), so a new notice repaints the line and never
    lays the screen out again.
    """

    _clear_timer: Timer | None = None

    def show(self, message: str, severity: str, when: datetime, timeout: float | None) -> None:
        """Show ``message`` for ``timeout`` seconds (by default :data:`NOTICE_SECONDS`)."""
        text = literal(f"{when.astimezone():%H:%M:%S} ", "dim")
        text.append_text(literal(message, SEVERITY_STYLES.get(severity, "")))
        self.update(text, layout=False)
        if self._clear_timer is not None:
            self._clear_timer.stop()  # an older notice's timer must not clear this one
        self._clear_timer = self.set_timer(timeout or NOTICE_SECONDS, self.clear_notice)

    def clear_notice(self) -> None:
        self.update("", layout=False)
