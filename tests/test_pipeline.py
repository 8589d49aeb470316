"""Per-call buffering and agent scheduling, on a real relay with a counting agent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from dispatch_tui.client import DispatchClient
from dispatch_tui.protocol import Suggestion
from dispatch_tui.server.agents.base import Agent, Segment
from dispatch_tui.server.calls import CallBuffer, merge_overlap
from dispatch_tui.server.pipeline import PipelineSettings
from dispatch_tui.server.relay import Relay, RelaySettings
from dispatch_tui.vocabulary import TranscriptSegment
from tests.test_client import next_event


class CountingAgent(Agent):
    """Records what it read; optionally slow, to show coalescing."""

    name = "counting"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.reads: list[list[str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.started = asyncio.Event()
        self.fixed: Suggestion | None = None

    async def suggest(self, segments: Sequence[Segment]) -> Suggestion:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self.reads.append([s.text for s in segments])
            self.started.set()
            await asyncio.sleep(self.delay)
            if self.fixed is not None:
                return self.fixed
            words = sum(len(s.text.split()) for s in segments)
            return Suggestion(incident_type="unknown", priority=3, summary=f"{words} words")
        finally:
            self.in_flight -= 1


def segment(text: str, *, final: bool = True, sid: str | None = None, end: bool = False,
            call: str = "c1", speaker: str = "caller") -> TranscriptSegment:  # fmt: skip
    return TranscriptSegment(
        call_id=call, text=text, is_final=final, segment_id=sid, speaker=speaker, utterance_end=end
    )


def test_buffer_replaces_interim_and_merges_repeated_or_overlapping_finals() -> None:
    buffer = CallBuffer("c1")
    assert buffer.add(segment("he just", final=False, sid="s1")) is None
    assert "s1" in buffer.interim
    assert buffer.add(segment("he just collapsed", sid="s1")) == "he just collapsed"
    assert "s1" not in buffer.interim
    assert buffer.add(segment("he just collapsed", sid="s1")) is None
    assert buffer.add(segment("collapsed in the kitchen", sid="s1")) == "in the kitchen"
    assert buffer.add(segment("he's not breathing")) == "he's not breathing"
    assert buffer.add(segment("he's not breathing")) is None
    assert [s.text for s in buffer.segments()] == [
        "he just collapsed in the kitchen",
        "he's not breathing",
    ]


def test_merge_overlap_cuts_only_words_already_said() -> None:
    assert merge_overlap("send help to elm street", "elm street now") == "now"
    assert merge_overlap("send help", "send help") == ""
    assert merge_overlap("a b c", "d e") == "d e"


@pytest.fixture
async def agent_relay(tmp_path: Path) -> AsyncIterator[tuple[Relay, CountingAgent]]:
    agent = CountingAgent(delay=0.3)
    relay = Relay(
        RelaySettings(port=0, db=str(tmp_path / "j.sqlite3")),
        agent=agent,
        pipeline=PipelineSettings(idle_gap=0.2),
    )
    await relay.start()
    yield relay, agent
    await relay.stop()


async def test_transcripts_flow_at_once_and_agent_runs_after_idle_gap(
    agent_relay: tuple[Relay, CountingAgent],
) -> None:
    relay, agent = agent_relay
    assert relay.pipeline is not None
    async with DispatchClient(relay.url) as watcher:
        await relay.pipeline.feed(segment("my father", final=False, sid="a"))
        interim = await next_event(watcher, "transcript")
        assert interim["data"]["is_final"] is False
        assert interim["data"]["segment_id"] == "a"
        await relay.pipeline.feed(segment("my father fell down the stairs", sid="a"))
        final = await next_event(watcher, "transcript")
        assert final["data"]["is_final"] is True
        assert final["data"]["text"] == "my father fell down the stairs"
        assert final["data"]["speaker"] == "caller"
        assert agent.reads == []
        suggestion = await next_event(watcher, "ai_suggestion")
        assert suggestion["data"]["call_id"] == "c1"
        assert suggestion["data"]["suggestion"]["summary"] == "6 words"
        assert agent.reads == [["my father fell down the stairs"]]


async def test_one_run_in_flight_per_call_and_later_text_coalesced(
    agent_relay: tuple[Relay, CountingAgent],
) -> None:
    relay, agent = agent_relay
    assert relay.pipeline is not None
    async with DispatchClient(relay.url) as watcher:
        await relay.pipeline.feed(segment("first words", end=True))
        await asyncio.wait_for(agent.started.wait(), 5)
        for n in range(5):
            await relay.pipeline.feed(segment(f"more words {n}", end=True, sid=f"s{n}"))
        await relay.pipeline.drain()
        assert agent.max_in_flight == 1
        # The first run, then one coalesced run that read everything.
        assert len(agent.reads) == 2
        assert len(agent.reads[-1]) == 6
        suggestions = []
        async with asyncio.timeout(5):
            while len(suggestions) < 2:
                suggestions.append(await next_event(watcher, "ai_suggestion"))
        assert [s["data"]["suggestion"]["summary"] for s in suggestions] == ["2 words", "17 words"]


async def test_same_suggestion_is_not_sent_twice(
    agent_relay: tuple[Relay, CountingAgent],
) -> None:
    relay, agent = agent_relay
    agent.delay = 0
    agent.fixed = Suggestion(incident_type="fall_injury", priority=3)
    assert relay.pipeline is not None
    async with DispatchClient(relay.url) as watcher:
        for sid in ("x", "y"):
            await relay.pipeline.feed(segment(f"words {sid}", end=True, sid=sid))
            await relay.pipeline.drain()
        agent.fixed = Suggestion(incident_type="fall_injury", priority=2)
        await relay.pipeline.feed(segment("he is trapped", end=True, sid="z"))
        await relay.pipeline.drain()
        assert len(agent.reads) == 3
        history = await watcher.history(None, since=0)
        kinds = [m["event"] for m in history.messages]
        assert kinds.count("ai_suggestion") == 2


async def test_publish_transcript_is_acked_journaled_and_routed(tmp_path: Path) -> None:
    relay = Relay(
        RelaySettings(port=0, db=str(tmp_path / "j.sqlite3")),
        agent=CountingAgent(),
        pipeline=PipelineSettings(idle_gap=0.05, transcripts_room="calls"),
    )
    await relay.start()
    try:
        async with (
            DispatchClient(relay.url) as publisher,
            DispatchClient(relay.url) as member,
            DispatchClient(relay.url) as outsider,
        ):
            await member.join("calls")
            reply = await publisher.request(
                "publish_transcript",
                {"call_id": "c9", "text": "hello", "is_final": True, "speaker": "caller"},
            )
            assert reply["event"] == "sent"
            assert reply["data"]["seq"] > 0
            event = await next_event(member, "transcript")
            assert event["data"]["text"] == "hello"
            # Routed to the room: its history has it, the outsider never got it.
            history = await outsider.history("calls", since=0)
            assert [m["data"]["text"] for m in history.messages] == ["hello"]
            queued = list(outsider._events._queue)  # type: ignore[attr-defined]
            assert not [e for e in queued if e and e["event"] == "transcript"]
    finally:
        await relay.stop()
