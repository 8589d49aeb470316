"""Faults around a live relay: a source that drops and returns, a model that never answers,
a source that sends garbage. The relay reports each one and keeps serving its clients.

Already covered elsewhere, so not repeated here:

- tests/test_source.py::test_connect_source_feeds_the_relay_and_its_status: a source that
  closes with 1011 is reported as ``source: reconnecting`` (without the comeback).
- tests/test_source.py::test_reconnects_when_the_source_restarts_on_the_same_port and
  ::test_garbage_frames_are_reported_and_not_fatal: the same faults on UpstreamSource alone.
- tests/test_openai_relay.py::test_transcripts_flow_and_rules_advice_is_used_when_the_model_fails
  [timeout]: a hanging model ends in ``agent: error`` and rules advice (with 30 s of slack).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from dispatch_tui.server.agents.openai_agent import OpenAIAgent
from dispatch_tui.server.agents.rules import RulesAgent
from dispatch_tui.server.pipeline import PipelineSettings
from dispatch_tui.server.relay import Relay, RelaySettings
from dispatch_tui.server.sources.upstream import connect_source
from tests.conftest import client, recv_event, recv_json, request
from tests.test_openai_agent import FakeOpenAI, Reply, replies, server  # noqa: F401
from tests.test_source import GARBAGE, FakeSource, fake_source, sample_frames  # noqa: F401

TIMEOUT = 10.0
#: The model's per-request time-out in the hanging-model test: long enough to publish in.
MODEL_TIMEOUT = 4.0


async def wait_status(ws: ClientConnection, **wanted: Any) -> dict[str, Any]:
    """Reads ``status`` events until one has every field in ``wanted``; returns its data."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            data: dict[str, Any] = (await recv_event(ws, "status"))["data"]
            if all(data.get(key) == value for key, value in wanted.items()):
                return data


async def next_transcript(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    data: dict[str, Any] = (await recv_event(ws, "transcript", timeout))["data"]
    return data


def feed_from(relay: Relay, source: FakeSource, fmt: str) -> None:
    """``dispatch serve --source``: the relay reads ``source`` with quick retries."""
    options = {"backoff_initial": 0.05, "backoff_max": 0.2, "report_interval": 0.0}
    relay.spawn(connect_source(relay, source.url, fmt, **options), "source")


async def test_source_drop_and_restart_are_reported_and_transcripts_resume(
    relay: Relay,
    fake_source: FakeSource,  # noqa: F811
) -> None:
    """A lost connection and a restarted source both come back, and so do transcripts."""
    async with client(relay.url) as desk:
        feed_from(relay, fake_source, "text")
        upstream = await fake_source.accept()
        await wait_status(desk, source="connected")
        await upstream.send("caller says the house is on fire")
        assert (await next_transcript(desk))["text"] == "caller says the house is on fire"

        # The TCP connection dies without a close frame.
        upstream.transport.abort()
        down = await wait_status(desk, source="reconnecting")
        assert down["detail"].startswith("connection lost")
        upstream = await fake_source.accept()
        await wait_status(desk, source="connected")
        await upstream.send("flames on the second floor")
        after_drop = await next_transcript(desk)
        assert (after_drop["text"], after_drop["call_id"]) == (
            "flames on the second floor",
            "source",
        )

        # The source goes away altogether; a desk that connects meanwhile is told at once.
        await fake_source.stop()
        await wait_status(desk, source="reconnecting")
        async with asyncio.timeout(TIMEOUT):
            while (
                "cannot connect" not in (await wait_status(desk, source="reconnecting"))["detail"]
            ):
                pass
        async with client(relay.url) as late:
            await request(late, "list_rooms")
            await recv_event(late, "rooms_list")
        assert relay.hub.status.source == "reconnecting"
        await fake_source.start()
        upstream = await fake_source.accept()
        await wait_status(desk, source="connected")
        await upstream.send("everyone is out of the building")
        assert (await next_transcript(desk))["text"] == "everyone is out of the building"
        assert relay.health()["source"] == "connected"


@pytest.fixture
async def hanging_model_relay(
    server: FakeOpenAI,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[Relay]:
    """A relay whose model endpoint accepts every request and never answers it."""
    server.handler = replies(Reply(hang=True))
    agent = OpenAIAgent(
        RulesAgent(),
        model="test-model",
        api_key="sk-test-secret",
        base_url=server.base_url,
        timeout=MODEL_TIMEOUT,
        attempts=1,
    )
    relay = Relay(
        RelaySettings(port=0, db=str(tmp_path / "journal.sqlite3")),
        agent=agent,
        pipeline=PipelineSettings(idle_gap=0.05),
    )
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()
        server.release.set()
        await agent.aclose()


async def publish(ws: ClientConnection, call_id: str, text: str, request_id: str) -> None:
    data = {"call_id": call_id, "text": text, "is_final": True, "speaker": "caller"}
    await request(ws, "publish_transcript", data, id=request_id)


async def test_transcripts_stay_prompt_while_the_model_hangs(
    hanging_model_relay: Relay,
    server: FakeOpenAI,  # noqa: F811
) -> None:
    """While a model request hangs, transcripts still arrive at once; the failure is reported
    within the configured time-out and the rules agent's advice stands in."""
    relay = hanging_model_relay
    async with client(relay.url) as publisher, client(relay.url) as desk:
        await publish(publisher, "c1", "my husband collapsed and he's not breathing", "p0")
        assert (await next_transcript(desk))["call_id"] == "c1"
        async with asyncio.timeout(TIMEOUT):
            while server.count == 0:
                await asyncio.sleep(0.01)
        asked = time.monotonic()

        # The model has the request and is sitting on it: transcripts must not wait for it.
        for n in range(5):
            started = time.monotonic()
            await publish(publisher, "c2", f"second caller, line {n}", f"p{n + 1}")
            transcript = await next_transcript(desk, timeout=MODEL_TIMEOUT)
            assert transcript["text"] == f"second caller, line {n}"
            assert time.monotonic() - started < 1.0
        assert time.monotonic() - asked < MODEL_TIMEOUT

        # The hang ends in `agent: error` after the time-out (one attempt), not much later.
        status = await wait_status(desk, agent="error")
        waited = time.monotonic() - asked
        assert MODEL_TIMEOUT * 0.8 <= waited <= MODEL_TIMEOUT + 3.0, waited
        assert "timed out" in status["detail"]
        assert "sk-test-secret" not in json.dumps(status)
        async with asyncio.timeout(TIMEOUT):
            while True:
                advice = (await recv_event(desk, "ai_suggestion"))["data"]
                if advice["call_id"] == "c1":
                    break
        assert advice["suggestion"]["incident_type"] == "cardiac_arrest"
        # And the publisher got every ack.
        acks = [await recv_event(publisher, "sent") for _ in range(6)]
        assert sorted(ack["id"] for ack in acks) == [f"p{n}" for n in range(6)]


SOURCE_GARBAGE: list[str | bytes] = [
    *GARBAGE,
    "",
    "\x00\x01\x02\x1b[31m\x7f",
    "\ud7ff\ue000\uffff" * 1000,
    json.dumps({"type": "Results", "channel": {"alternatives": [{"transcript": 5}]}}),
    json.dumps({"type": "Results", "is_final": True, "channel": "x" * 100_000}),
    b"\x00\x01 binary audio",
]

ROUNDS = 5


async def test_garbage_from_the_source_is_ignored_and_the_relay_keeps_serving(
    relay: Relay,
    fake_source: FakeSource,  # noqa: F811
) -> None:
    """Hundreds of bad frames from upstream: counted in ``status``, nothing else changes."""
    valid = sample_frames("deepgram")[3]  # the final of the first utterance
    async with client(relay.url) as desk, client(relay.url) as peer:
        feed_from(relay, fake_source, "deepgram")
        upstream = await fake_source.accept()
        await wait_status(desk, source="connected")
        for _ in range(ROUNDS):
            for frame in SOURCE_GARBAGE:
                await upstream.send(frame)
        await upstream.send(valid)
        statuses: list[dict[str, Any]] = []
        async with asyncio.timeout(TIMEOUT):
            while (message := await recv_json(desk))["event"] != "transcript":
                if message["event"] == "status":
                    statuses.append(message["data"])
        assert message["data"]["text"] == "My husband collapsed, he's not breathing."
        assert message["data"]["provider"] == "deepgram"
        # Each ignored frame was counted, and the count reached every client.
        assert statuses[-1]["source"] == "connected"
        assert statuses[-1]["detail"].startswith(f"ignored {ROUNDS * len(SOURCE_GARBAGE)} ")
        # Still one connection to the source, and clients are served as before.
        assert fake_source.connections.empty()
        await request(peer, "join_room", {"room_name": "ops"})
        await recv_event(peer, "room_joined")
        await request(desk, "send_to_room", {"room_name": "ops", "message": "still here"})
        assert (await recv_event(peer, "client_message"))["data"]["message"] == "still here"
        assert relay.health()["source"] == "connected"
        # Nothing of the garbage reached a client as a transcript.
        await request(desk, "history", {"limit": 1000}, id="h")
        history = await recv_event(desk, "history")
        texts = [m["data"]["text"] for m in history["data"]["messages"]]
        assert texts == ["My husband collapsed, he's not breathing."]
