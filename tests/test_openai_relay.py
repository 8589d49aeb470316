"""The relay with the OpenAI agent: transcripts keep flowing through every model failure."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dispatch_tui.client import DispatchClient
from dispatch_tui.server.agents.openai_agent import OpenAIAgent
from dispatch_tui.server.agents.rules import RulesAgent
from dispatch_tui.server.pipeline import PipelineSettings
from dispatch_tui.server.relay import Relay, RelaySettings
from tests.test_client import next_event
from tests.test_openai_agent import FakeOpenAI, Reply, replies, server  # noqa: F401

FAILURES = {
    "500": Reply(status=500),
    "timeout": Reply(hang=True),
    "invalid json": Reply(content="this is not json {"),
}


@pytest.fixture
async def model_relay(server: FakeOpenAI, tmp_path: Path) -> AsyncIterator[Relay]:  # noqa: F811
    agent = OpenAIAgent(
        RulesAgent(),
        model="test-model",
        api_key="sk-test-secret",
        base_url=server.base_url,
        timeout=1.0,
        attempts=2,
    )
    relay = Relay(
        RelaySettings(port=0, db=str(tmp_path / "j.sqlite3")),
        agent=agent,
        pipeline=PipelineSettings(idle_gap=0.05),
    )
    await relay.start()
    yield relay
    await relay.stop()
    server.release.set()
    await agent.aclose()


async def publish(client: DispatchClient, text: str, call_id: str) -> dict[str, Any]:
    data = {"call_id": call_id, "text": text, "is_final": True, "speaker": "caller"}
    return await client.request("publish_transcript", data)


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_transcripts_flow_and_rules_advice_is_used_when_the_model_fails(
    model_relay: Relay,
    server: FakeOpenAI,  # noqa: F811
    failure: str,
) -> None:
    server.handler = replies(FAILURES[failure])
    async with (
        DispatchClient(model_relay.url) as publisher,
        DispatchClient(model_relay.url) as desk,
    ):
        await publish(publisher, "my husband collapsed and he's not breathing", "c1")
        first = await next_event(desk, "transcript")
        assert first["data"]["text"] == "my husband collapsed and he's not breathing"
        status = await next_event(desk, "status", timeout=30)
        while status["data"].get("agent") != "error":
            status = await next_event(desk, "status", timeout=30)
        assert "sk-test-secret" not in json.dumps(status)
        # The advice comes from the rules agent while the model is down.
        advice = await next_event(desk, "ai_suggestion", timeout=30)
        assert advice["data"]["suggestion"]["incident_type"] == "cardiac_arrest"
        # And transcripts keep arriving at once.
        async with asyncio.timeout(10):
            await publish(publisher, "please hurry", "c1")
            assert (await next_event(desk, "transcript"))["data"]["text"] == "please hurry"


async def test_model_answer_is_used_when_it_works(
    model_relay: Relay,
    server: FakeOpenAI,  # noqa: F811
) -> None:
    answer = {
        "incident_type": "stroke",
        "priority": 2,
        "confidence": 0.8,
        "summary": "Face drooping",
        "location": "9 lake road",
        "questions": [],
        "instructions": [],
        "units": [],
        "evidence": ["her face is drooping"],
    }
    server.handler = replies(Reply(content=json.dumps(answer)))
    async with (
        DispatchClient(model_relay.url) as publisher,
        DispatchClient(model_relay.url) as desk,
    ):
        await publish(publisher, "her face is drooping, 9 lake road", "c2")
        advice = await next_event(desk, "ai_suggestion", timeout=30)
        assert advice["data"]["suggestion"]["incident_type"] == "stroke"
        assert advice["data"]["suggestion"]["location"] == "9 lake road"
