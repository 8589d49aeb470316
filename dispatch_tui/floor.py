"""The dispatch floor as the console knows it: units, emergency alerts, claims.

Plain objects folded from relay events, kept apart from Textual so they are
tested directly. Field units report themselves with the relay's example
messages (``status_update`` and ``location_update`` in any room), consoles
assign them with an ``assignment`` message, and a supervisor's
``emergency_alert`` reaches everyone. Claims and acknowledgements of calls
are relay events of their own (``call_claimed``, ``advice_acknowledged``,
``advice_escalated``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dispatch_tui import events as ev

#: Statuses in the order the board lists them; anything else a unit sends comes after, as sent.
STATUS_ORDER = (
    "available",
    "dispatched",
    "en_route",
    "on_scene",
    "transporting",
    "out_of_service",
)
#: Message types that are the floor's business rather than chat.
UNIT_MESSAGES = frozenset({"status_update", "location_update", "assignment"})
ALERT = "emergency_alert"
#: The most units the board keeps; the longest silent are forgotten first.
MAX_UNITS = 200
_NEVER = datetime.min.replace(tzinfo=UTC)
#: The most unacknowledged alerts kept on the banner.
MAX_ALERTS = 20


def status_key(status: str) -> str:
    """``En Route``, ``en-route`` and ``en_route`` are one status."""
    return "_".join(status.strip().lower().replace("-", " ").split())


def status_rank(status: str) -> int:
    key = status_key(status)
    return STATUS_ORDER.index(key) if key in STATUS_ORDER else len(STATUS_ORDER)


@dataclass(slots=True)
class Unit:
    """One unit on the board: what it last said about itself and where it said it."""

    name: str
    status: str = "unknown"
    location: str | None = None
    call_id: str | None = None
    #: When the unit itself last reported (an assignment by a console does not count).
    heard: datetime | None = None
    #: The room it was last heard in: where assignments for it are sent.
    room: str | None = None

    def is_stale(self, now: datetime, after: float) -> bool:
        return self.heard is None or (now - self.heard).total_seconds() > after


@dataclass(slots=True)
class Alert:
    """An emergency alert shown on the banner until this dispatcher acknowledges it."""

    priority: str
    text: str
    sender: str
    when: datetime
    seq: int = 0


@dataclass(slots=True)
class CallMarks:
    """Who took a call, who acknowledged its advice, and whether it was escalated."""

    claimed_by: str | None = None
    acknowledged_by: str | None = None
    acknowledged_seq: int | None = None
    escalated: bool = False


def location_text(message: dict[str, Any]) -> str | None:
    """A location as text, or coordinates as ``lat, lon``."""
    location = message.get("location")
    if isinstance(location, str) and location.strip():
        return location.strip()
    coordinates = message.get("coordinates")
    if isinstance(coordinates, list | tuple) and len(coordinates) == 2:
        try:
            latitude, longitude = (float(value) for value in coordinates)
        except (TypeError, ValueError):
            return None
        return f"{latitude:.5f}, {longitude:.5f}"
    return None


def unit_name(message: dict[str, Any], sender: str | None) -> str | None:
    """The unit a message is about: its ``unit`` or ``unit_id``, else who sent it."""
    for key in ("unit", "unit_id"):
        value = message.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return sender


class Floor:
    """Units, alerts and call marks, updated one message at a time."""

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.alerts: list[Alert] = []
        self.marks: dict[str, CallMarks] = {}
        #: Alerts that arrived since the app last rang the bell.
        self.new_alerts: list[Alert] = []
        #: Escalated calls not yet announced by the app.
        self.new_escalations: list[str] = []

    def unit(self, name: str) -> Unit:
        unit = self.units.get(name)
        if unit is None:
            if len(self.units) >= MAX_UNITS:
                self._forget_a_unit()
            unit = self.units[name] = Unit(name)
        return unit

    def _forget_a_unit(self) -> None:
        silent = min(self.units.values(), key=lambda unit: unit.heard or _NEVER)
        del self.units[silent.name]

    def apply_message(
        self,
        message: dict[str, Any],
        sender: str | None,
        room: str | None,
        when: datetime,
        seq: int = 0,
    ) -> bool:
        """Fold a structured chat message in; True if it was the floor's (not chat)."""
        kind = message.get("type")
        if kind == ALERT:
            self._alert(message, sender or "?", when, seq)
            return True
        if kind not in UNIT_MESSAGES:
            return False
        name = unit_name(message, None if kind == "assignment" else sender)
        if name is None:
            return False
        unit = self.unit(name)
        if kind == "assignment":
            call_id = message.get("call_id")
            unit.call_id = str(call_id) if call_id is not None else unit.call_id
            unit.status = "dispatched"
            return True
        unit.heard, unit.room = when, room or unit.room
        status = message.get("status")
        if isinstance(status, str) and status.strip():
            unit.status = status.strip()
            if status_key(status) in ("available", "out_of_service"):
                unit.call_id = None
        call_id = message.get("call_id")
        if isinstance(call_id, str) and call_id:
            unit.call_id = call_id
        location = location_text(message)
        if location is not None:
            unit.location = location
        return True

    def _alert(self, message: dict[str, Any], sender: str, when: datetime, seq: int) -> None:
        if seq and any(alert.seq == seq for alert in self.alerts):
            return
        text = message.get("message") or message.get("text") or ""
        alert = Alert(str(message.get("priority") or "high"), str(text), sender, when, seq)
        self.alerts.append(alert)
        del self.alerts[:-MAX_ALERTS]
        self.new_alerts.append(alert)

    def acknowledge_alert(self) -> Alert | None:
        """Take the oldest alert off the banner (the next one then shows)."""
        return self.alerts.pop(0) if self.alerts else None

    def marks_of(self, call_id: str) -> CallMarks:
        marks = self.marks.get(call_id)
        if marks is None:
            marks = self.marks[call_id] = CallMarks()
        return marks

    def apply_mark(
        self, event: ev.CallClaimed | ev.AdviceAcknowledged | ev.AdviceEscalated
    ) -> None:
        """Fold a claim, acknowledgement or escalation in."""
        marks = self.marks_of(event.call_id)
        match event:
            case ev.CallClaimed():
                marks.claimed_by = ev.sender_name(event) if event.claimed else None
            case ev.AdviceAcknowledged():
                marks.acknowledged_by = ev.sender_name(event)
                marks.acknowledged_seq = event.advice_seq
            case ev.AdviceEscalated() if not marks.escalated:
                marks.escalated = True
                self.new_escalations.append(event.call_id)

    def board(self) -> list[Unit]:
        """Units by status (in the board's order), then by name."""
        return sorted(self.units.values(), key=lambda u: (status_rank(u.status), u.name.lower()))
