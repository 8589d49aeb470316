"""From transcript fragments to advice: per-call buffering and agent runs.

Every fragment is published as a ``transcript`` at once; transcripts never wait
for an agent. The agent runs for a call when an utterance ends, after an idle
gap, or when enough unread text piled up, with at most one run in flight per
call: text that arrives meanwhile is coalesced into the next run. The agent
always reads the whole call so far. A suggestion equal to the call's previous
one is not sent again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from dispatch_tui import events as ev
from dispatch_tui.protocol import Suggestion
from dispatch_tui.server.agents.base import Agent
from dispatch_tui.server.broker import BrokerUnavailable
from dispatch_tui.server.calls import CallBuffer
from dispatch_tui.server.escalation import Escalator
from dispatch_tui.server.hub import Ack, Hub
from dispatch_tui.server.tasks import start_task
from dispatch_tui.vocabulary import TranscriptSegment

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """When the agent runs and where transcripts and suggestions go."""

    idle_gap: float = 1.2
    max_unread_chars: int = 600
    transcripts_room: str | None = None
    suggestions_room: str | None = None
    #: Calls with no new text for this long are forgotten (their history stays).
    forget_after: float = 3600.0


@dataclass(slots=True)
class _CallState:
    buffer: CallBuffer
    last_suggestion: Suggestion | None = None
    running: asyncio.Task[None] | None = None
    pending: bool = False
    idle_timer: asyncio.TimerHandle | None = None
    last_activity: float = 0.0
    segment_ids: dict[str, str] = field(default_factory=dict)


class CallPipeline:
    """Feeds the hub with transcripts and the agent's suggestions."""

    def __init__(
        self,
        hub: Hub,
        agent: Agent | None,
        settings: PipelineSettings | None = None,
        escalator: Escalator | None = None,
    ) -> None:
        self.hub = hub
        self.agent = agent
        self.settings = settings or PipelineSettings()
        #: Told of every suggestion published, to time unacknowledged P1 advice.
        self.escalator = escalator
        self.calls: dict[str, _CallState] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        if agent is not None:
            # The agent reports its health to whoever runs it: the relay's status.
            agent.on_health = self._agent_health

    def _agent_health(self, ok: bool, detail: str | None) -> None:
        self.hub.set_status(agent="ready" if ok else "error", detail=detail)

    async def feed(self, segment: TranscriptSegment, ack: Ack | None = None) -> bool:
        """Publish one fragment and schedule the agent; False if it added nothing.

        ``ack(seq, recipients)`` runs once the transcript is journaled.
        """
        now = asyncio.get_running_loop().time()
        state = self.calls.get(segment.call_id)
        if state is None:
            self._forget_idle_calls(now)
            state = self.calls[segment.call_id] = _CallState(CallBuffer(segment.call_id))
        state.last_activity = now
        segment_id = self._segment_id(state, segment)
        if segment.is_final:
            text = state.buffer.add(segment)
        else:
            state.buffer.add(segment)
            text = segment.text
        published = bool(text)
        if text:
            await self._publish_transcript(segment, segment_id, text, ack)
        if segment.is_final and (published or segment.utterance_end):
            self._schedule(state, now=segment.utterance_end)
        return published

    def _segment_id(self, state: _CallState, segment: TranscriptSegment) -> str:
        """A stable id per segment, so that consoles replace interim text in place."""
        if segment.segment_id is not None:
            return segment.segment_id
        open_key = "__open__"
        current = state.segment_ids.get(open_key)
        if current is None:
            current = f"{segment.call_id}-{len(state.buffer.utterances) + 1}"
            state.segment_ids[open_key] = current
        if segment.is_final:
            state.segment_ids.pop(open_key, None)
        return current

    async def _publish_transcript(
        self, segment: TranscriptSegment, segment_id: str, text: str, ack: Ack | None
    ) -> None:
        provider = None if segment.provider == "native" else segment.provider
        await self.hub.publish(
            lambda seq, ts: ev.Transcript(
                call_id=segment.call_id,
                text=text,
                is_final=segment.is_final,
                speaker=segment.speaker,
                seq=seq,
                ts=ts,
                segment_id=segment_id,
                start_ms=segment.start_ms,
                provider=provider,
            ),
            room=self.settings.transcripts_room,
            ack=ack,
        )

    def _schedule(self, state: _CallState, now: bool) -> None:
        if self.agent is None:
            return
        if state.idle_timer is not None:
            state.idle_timer.cancel()
            state.idle_timer = None
        if now or state.buffer.unread_chars >= self.settings.max_unread_chars:
            self._run_agent(state)
            return
        loop = asyncio.get_running_loop()
        state.idle_timer = loop.call_later(self.settings.idle_gap, self._run_agent, state)

    def _run_agent(self, state: _CallState) -> None:
        state.idle_timer = None
        if state.running is not None:
            state.pending = True
            return
        state.running = start_task(
            self._advise(state), f"advise {state.buffer.call_id}", self._tasks
        )

    async def _advise(self, state: _CallState) -> None:
        assert self.agent is not None
        try:
            while True:
                state.pending = False
                state.buffer.mark_read()
                metrics = self.hub.metrics
                metrics.agent_runs.inc()
                with metrics.agent_seconds.time():
                    try:
                        suggestion = await self.agent.suggest(state.buffer.segments())
                    except Exception:
                        metrics.agent_failures.inc()
                        raise
                if suggestion != state.last_suggestion:
                    await self._publish_suggestion(state.buffer.call_id, suggestion)
                    state.last_suggestion = suggestion
                if not state.pending:
                    return
        except BrokerUnavailable as exc:
            logger.warning("advice for call %s not stored: %s", state.buffer.call_id, exc)
        except Exception:
            logger.exception("agent failed on call %s", state.buffer.call_id)
        finally:
            state.running = None

    async def _publish_suggestion(self, call_id: str, suggestion: Suggestion) -> None:
        advice = suggestion.model_dump(mode="json")
        seq = await self.hub.publish(
            lambda seq, ts: ev.AiSuggestion(call_id=call_id, seq=seq, ts=ts, suggestion=advice),
            room=self.settings.suggestions_room,
        )
        if self.escalator is not None:
            self.escalator.advised(call_id, seq, suggestion)

    def _forget_idle_calls(self, now: float) -> None:
        stale = [
            call_id
            for call_id, state in self.calls.items()
            if now - state.last_activity > self.settings.forget_after and state.running is None
        ]
        for call_id in stale:
            timer = self.calls.pop(call_id).idle_timer
            if timer is not None:
                timer.cancel()
            if self.escalator is not None:
                self.escalator.forget(call_id)

    async def drain(self) -> None:
        """Wait for agent runs in flight (used on shutdown and by tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        for state in self.calls.values():
            if state.idle_timer is not None:
                state.idle_timer.cancel()
        for task in self._tasks:
            task.cancel()
