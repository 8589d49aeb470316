"""``GET /metrics`` from a real relay, read with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dispatch_tui.server.relay import Relay, RelaySettings
from tests.conftest import client, recv_event, request
from tests.test_security import DISPATCHER_TOKEN, auth_file

SECRET_TEXT = "Mrs Quimby at 77 Larkspur"


def scrape(relay: Relay) -> tuple[int, str]:
    url = relay.url.replace("ws://", "http://") + "/metrics"
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def secured_relay(tmp_path: Path) -> AsyncIterator[Relay]:
    relay = Relay(
        RelaySettings(
            port=0,
            db=str(tmp_path / "journal.sqlite3"),
            auth_file=str(auth_file(tmp_path / "auth.toml")),
            max_message_bytes=4096,
        )
    )
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


async def test_counters_and_gauges_move_with_traffic_errors_and_closes(
    secured_relay: Relay,
) -> None:
    relay = secured_relay
    token = {"Authorization": f"Bearer {DISPATCHER_TOKEN}"}
    _, before = await asyncio.to_thread(scrape, relay)
    async with (
        client(relay.url, additional_headers=token) as sender,
        client(relay.url, additional_headers=token) as member,
    ):
        await request(member, "join_room", {"room_name": "ops"})
        await recv_event(member, "room_joined")
        for _ in range(3):
            await request(sender, "send_to_room", {"room_name": "ops", "message": SECRET_TEXT})
            await recv_event(sender, "sent")
        await sender.send("{not json")
        await recv_event(sender, "error")
        await request(sender, "history", {"room_name": "ops"})
        await recv_event(sender, "history")
        code, during = await asyncio.to_thread(scrape, relay)
        assert code == 200
        assert value(during, "dispatch_connections") == 2
        assert value(during, "dispatch_rooms") == 1
    for headers, frame in (
        (token, b"\x00\x01"),
        (token, "x" * 10_000),
        ({}, json.dumps({"event": "auth", "data": {"token": "wrong"}})),
    ):
        async with connect(relay.url, additional_headers=headers) as refused:
            await refused.send(frame)
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(refused.recv(), 10)

    async with asyncio.timeout(10):
        while True:
            _, after = await asyncio.to_thread(scrape, relay)
            if value(after, "dispatch_closes_total", reason="message_too_big") >= 1:
                break
            await asyncio.sleep(0.1)
    assert value(after, "dispatch_connections") == 0
    grew = {
        ("dispatch_messages_received_total", (("event", "send_to_room"),)): 3,
        ("dispatch_messages_received_total", (("event", "invalid"),)): 1,
        ("dispatch_messages_relayed_total", (("event", "client_message"),)): 3,
        ("dispatch_deliveries_total", ()): 3,
        ("dispatch_errors_total", (("code", "bad_json"),)): 1,
        ("dispatch_closes_total", (("reason", "binary"),)): 1,
        ("dispatch_closes_total", (("reason", "auth"),)): 1,
        ("dispatch_history_reads_total", ()): 1,
    }
    old, new = samples(before), samples(after)
    for key, growth in grew.items():
        assert new.get(key, 0.0) - old.get(key, 0.0) == growth, key
    assert new[("dispatch_journal_commit_seconds_count", ())] >= 1
    assert new[("dispatch_journal_batch_size_sum", ())] >= 3
    assert ("process_resident_memory_bytes", ()) in new
    assert ("dispatch_redis_connected", ()) in new


async def test_metrics_show_no_token_name_or_message_text(secured_relay: Relay) -> None:
    relay = secured_relay
    async with client(
        relay.url, additional_headers={"Authorization": f"Bearer {DISPATCHER_TOKEN}"}
    ) as ws:
        await request(ws, "identify", {"name": "Dispatcher Nine"})
        await request(ws, "send_to_room", {"room_name": "secret-room", "message": SECRET_TEXT})
        await recv_event(ws, "sent")
        _, text = await asyncio.to_thread(scrape, relay)
    for secret in (DISPATCHER_TOKEN, "Dispatcher", SECRET_TEXT, "secret-room", "Larkspur"):
        assert secret not in text


async def test_agent_runs_are_counted(tmp_path: Path) -> None:
    from dispatch_tui.server.agents.rules import RulesAgent

    relay = Relay(RelaySettings(port=0, db=":memory:"), agent=RulesAgent())
    await relay.start()
    try:
        async with client(relay.url) as source:
            turn = {"call_id": "c1", "text": "he collapsed and he is not breathing"}
            await request(source, "publish_transcript", {**turn, "is_final": True})
            await recv_event(source, "sent")
            async with asyncio.timeout(20):
                while True:
                    _, text = await asyncio.to_thread(scrape, relay)
                    if value(text, "dispatch_agent_runs_total") >= 1:
                        break
                    await asyncio.sleep(0.2)
        assert value(text, "dispatch_agent_seconds_count") >= 1
        assert value(text, "dispatch_agent_failures_total") == 0
    finally:
        await relay.stop()


async def test_no_metrics_turns_the_endpoint_off(tmp_path: Path) -> None:
    relay = Relay(RelaySettings(port=0, db=":memory:", metrics=False))
    await relay.start()
    try:
        code, _ = await asyncio.to_thread(scrape, relay)
        assert code == 404
    finally:
        await relay.stop()
