"""Recorded and demo calls through a real relay: replay, analyze, --demo, demo."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner
from websockets.asyncio.client import ClientConnection

from dispatch_tui.cli.command import app
from tests.conftest import RelayProcess, client, recv_event, request

COLLAPSE_CALL = {
    "call_id": "call-collapse",
    "segments": [
        {"speaker": "dispatcher", "text": "911, what is the address of your emergency?"},
        {"speaker": "caller", "text": "1250 orchard avenue, my dad just collapsed in the garden"},
        {"speaker": "dispatcher", "text": "Is he awake? Is he breathing?"},
        {"speaker": "caller", "text": "no he's not breathing, he's not moving at all"},
    ],
}


async def suggestions_until(ws: ClientConnection, kind: str, timeout: float = 60) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            event = await recv_event(ws, "ai_suggestion", timeout)
            if event["data"]["suggestion"]["incident_type"] == kind:
                return event


async def test_replayed_collapse_reaches_only_the_suggestions_room(
    tmp_path: Path, relay_process: type[RelayProcess]
) -> None:
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(COLLAPSE_CALL) + "\n")
    relay = relay_process(
        "--db", str(tmp_path / "j.sqlite3"), "--suggestions-room", "dispatch_center"
    ).start()
    async with client(relay.url) as member, client(relay.url) as outsider:
        await request(member, "join_room", {"room_name": "dispatch_center"})
        await recv_event(member, "room_joined")
        replay = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "dispatch_tui", "replay", str(calls)),
            *("--speed", "20", "--url", relay.url),
            stderr=asyncio.subprocess.PIPE,
        )
        transcript = await recv_event(outsider, "transcript", timeout=60)
        assert transcript["data"]["call_id"] == "call-collapse"
        event = await suggestions_until(member, "cardiac_arrest")
        _, err = await asyncio.wait_for(replay.communicate(), 60)
        assert replay.returncode == 0, err
        suggestion = event["data"]["suggestion"]
        assert suggestion["priority"] == 1
        assert suggestion["location"] == "1250 orchard avenue"
        assert any("not breathing" in quote for quote in suggestion["evidence"])
        assert event["data"]["call_id"] == "call-collapse"
        # The outsider saw every transcript but no suggestion.
        await request(outsider, "list_rooms", id="probe")
        async with asyncio.timeout(10):
            while True:
                message = json.loads(await outsider.recv())
                assert message["event"] != "ai_suggestion"
                if message.get("id") == "probe":
                    break
        # Both are in the journal: history replays them.
        await request(member, "history", {"room_name": "dispatch_center"})
        history = await recv_event(member, "history")
        assert any(m["event"] == "ai_suggestion" for m in history["data"]["messages"])


def test_analyze_prints_one_json_line_per_call_and_names_bad_lines(tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    other = {"call_id": "c2", "segments": [{"speaker": "caller", "text": "i smell gas"}]}
    calls.write_text(json.dumps(COLLAPSE_CALL) + "\n" + "{not json\n" + json.dumps(other) + "\n")
    result = CliRunner().invoke(app, ["analyze", str(calls), "--json"])
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["call_id"] for line in lines] == ["call-collapse", "c2"]
    assert lines[0]["suggestion"]["incident_type"] == "cardiac_arrest"
    assert lines[1]["suggestion"]["incident_type"] == "gas_leak_hazmat"
    assert "line 2" in result.stderr


def test_analyze_reads_stdin_and_shows_cards_for_people() -> None:
    result = CliRunner().invoke(app, ["analyze", "-"], input=json.dumps(COLLAPSE_CALL) + "\n")
    assert result.exit_code == 0, result.stderr
    assert "P1 CARDIAC ARREST" in result.stdout
    assert "1250 orchard avenue" in result.stdout


async def test_serve_demo_plays_calls_with_advice(
    tmp_path: Path, relay_process: type[RelayProcess]
) -> None:
    relay = relay_process("--db", str(tmp_path / "j.sqlite3"), "--demo").start()
    async with client(relay.url) as ws:
        transcript = await recv_event(ws, "transcript", timeout=60)
        assert transcript["data"]["call_id"].startswith("demo-")
        suggestion = await recv_event(ws, "ai_suggestion", timeout=90)
        assert suggestion["data"]["call_id"].startswith("demo-")


def test_dispatch_demo_runs_an_embedded_relay_and_shows_advice() -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "dispatch_tui", "demo", "--speed", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        seen = []
        for line in demo.stdout:
            seen.append(line)
            if "CARDIAC ARREST" in line:
                break
        assert any("CARDIAC ARREST" in line for line in seen), "".join(seen)
        assert any("418 elm street" in line for line in seen)
    finally:
        demo.terminate()
        demo.wait(30)
