"""Priority-1 advice that nobody acknowledged: tell the call's room and the supervisors.

When the relay publishes P1 advice for a call, a timer of ``after`` seconds
starts. An ``advice_acknowledged`` for the call, sent to this relay or (on a
cluster) to another one, stops it. If it runs out, ``advice_escalated`` goes to
the call's room and a ``client_message`` to the supervisors' room. A call is
escalated at most once, and once acknowledged its later P1 advice starts no
timer. Nothing here touches sockets: it publishes through the hub.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from dispatch_tui import events as ev
from dispatch_tui.protocol import Suggestion
from dispatch_tui.server.broker import BrokerUnavailable
from dispatch_tui.server.hub import Ack
from dispatch_tui.server.journal import JournalError
from dispatch_tui.server.tasks import start_task

logger = logging.getLogger(__name__)

#: How the relay signs what it sends to the supervisors itself.
RELAY_NAME = "dispatch relay"
RELAY_CLIENT_ID = "relay"


class Publisher(Protocol):
    """What the escalator needs of the hub: :meth:`Hub.publish`."""

    async def publish(
        self,
        build: Callable[[int, str], ev.Event],
        *,
        room: str | None,
        exclude: str | None = None,
        ack: Ack | None = None,
    ) -> int: ...


@dataclass(frozen=True, slots=True)
class EscalationSettings:
    """How long P1 advice may go unacknowledged, and who hears about it."""

    #: Seconds; 0 turns escalation off.
    after: float = 30.0
    supervisors_room: str = "supervisors"
    #: Where claims, acknowledgements and escalations go (None: every client).
    calls_room: str | None = None


@dataclass(frozen=True, slots=True)
class _Advice:
    call_id: str
    seq: int
    incident_type: str
    location: str | None


class Escalator:
    """One timer per call with unacknowledged P1 advice."""

    def __init__(
        self,
        publisher: Publisher,
        settings: EscalationSettings,
        address: Callable[[], str],
    ) -> None:
        self.publisher = publisher
        self.settings = settings
        #: The relay's own ``"host:port"``, known once it listens.
        self._address = address
        self._pending: dict[str, tuple[_Advice, asyncio.TimerHandle]] = {}
        #: Calls acknowledged or escalated: no more timers for them.
        self._settled: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def pending(self, call_id: str) -> bool:
        """Whether the call's P1 advice is waiting for an acknowledgement."""
        return call_id in self._pending

    def advised(self, call_id: str, advice_seq: int, suggestion: Suggestion) -> None:
        """Advice was published for a call; P1 starts its timer unless one runs or it is settled."""
        if self.settings.after <= 0 or suggestion.priority != 1:
            return
        if call_id in self._pending or call_id in self._settled:
            return
        advice = _Advice(call_id, advice_seq, suggestion.incident_type, suggestion.location)
        timer = asyncio.get_running_loop().call_later(self.settings.after, self._due, advice)
        self._pending[call_id] = (advice, timer)

    def acknowledged(self, call_id: str, advice_seq: int | None) -> None:
        """An ``advice_acknowledged`` was seen; it stops the timer of the call's P1 advice.

        An acknowledgement of older advice (``advice_seq`` below the P1's) was
        sent before its sender could see the P1, so the timer keeps running.
        """
        pending = self._pending.get(call_id)
        if pending is None:
            return
        advice, timer = pending
        if advice_seq is not None and advice_seq < advice.seq:
            return
        timer.cancel()
        del self._pending[call_id]
        self._settled.add(call_id)

    def forget(self, call_id: str) -> None:
        """The pipeline forgot an idle call: so does the escalator."""
        pending = self._pending.pop(call_id, None)
        if pending is not None:
            pending[1].cancel()
        self._settled.discard(call_id)

    def close(self) -> None:
        """Stop every timer and every escalation being sent (the relay stops)."""
        for _, timer in self._pending.values():
            timer.cancel()
        self._pending.clear()
        for task in self._tasks:
            task.cancel()

    def _due(self, advice: _Advice) -> None:
        del self._pending[advice.call_id]
        self._settled.add(advice.call_id)
        start_task(self._escalate(advice), f"escalate {advice.call_id}", self._tasks)

    async def _escalate(self, advice: _Advice) -> None:
        """Publish both notices; a store that is away loses them with a warning, never the task."""
        s = self.settings
        room = s.calls_room
        logger.warning(
            "P1 advice on call %s not acknowledged after %g s: escalating",
            advice.call_id,
            s.after,
            extra={"seq": advice.seq, "room": s.supervisors_room},
        )
        await self._publish(
            advice,
            lambda seq, ts: ev.AdviceEscalated(
                call_id=advice.call_id,
                advice_seq=advice.seq,
                incident_type=advice.incident_type,
                location=advice.location,
                after_seconds=s.after,
                room=room,
                seq=seq,
                ts=ts,
            ),
            room,
            ev.EventName.ADVICE_ESCALATED,
        )
        message = {
            "type": "escalation",
            "call_id": advice.call_id,
            "priority": 1,
            "incident_type": advice.incident_type,
            "location": advice.location,
            "advice_seq": advice.seq,
            "text": escalation_text(advice.call_id, advice.incident_type, s.after),
        }
        await self._publish(
            advice,
            lambda seq, ts: ev.ClientMessage(
                sender=self._address(),
                message=message,
                room=s.supervisors_room,
                name=RELAY_NAME,
                client_id=RELAY_CLIENT_ID,
                seq=seq,
                ts=ts,
            ),
            s.supervisors_room,
            ev.EventName.CLIENT_MESSAGE,
        )

    async def _publish(
        self,
        advice: _Advice,
        build: Callable[[int, str], ev.Event],
        room: str | None,
        event: ev.EventName,
    ) -> None:
        try:
            await self.publisher.publish(build, room=room)
        except (BrokerUnavailable, JournalError) as exc:
            logger.warning(
                "%s for call %s not stored: %s",
                event,
                advice.call_id,
                exc,
                extra={"event": event.value, "room": room, "code": "unavailable"},
            )


def escalation_text(call_id: str, incident_type: str, after: float) -> str:
    """``P1 cardiac arrest on call-7 not acknowledged after 30 s``."""
    return f"P1 {incident_type.replace('_', ' ')} on {call_id} not acknowledged after {after:g} s"
