"""Every kind of bad input gets its error code and the connection stays open."""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dispatch_tui.server.relay import Relay
from tests.conftest import client, recv_event, recv_json, request

BAD_INPUTS = [
    ("not json at all", "bad_json"),
    ('{"event": "join_room", ', "bad_json"),
    ("[1, 2, 3]", "bad_message"),
    ('"just a string"', "bad_message"),
    ("42", "bad_message"),
    ("null", "bad_message"),
    ("{}", "bad_message"),
    ('{"event": 5}', "bad_message"),
    ('{"data": {}}', "bad_message"),
    ('{"event": "teleport"}', "unknown_event"),
    ('{"event": "join_room"}', "invalid_data"),
    ('{"event": "join_room", "data": []}', "invalid_data"),
    ('{"event": "join_room", "data": {}}', "invalid_data"),
    ('{"event": "join_room", "data": {"room_name": 5}}', "invalid_data"),
    ('{"event": "join_room", "data": {"room_name": ""}}', "invalid_data"),
    (json.dumps({"event": "join_room", "data": {"room_name": "x" * 65}}), "invalid_data"),
    (json.dumps({"event": "join_room", "data": {"room_name": "a\nb"}}), "invalid_data"),
    (json.dumps({"event": "join_room", "data": {"room_name": "a\x1bb"}}), "invalid_data"),
    ('{"event": "send_to_room", "data": {"room_name": "r"}}', "invalid_data"),
    ('{"event": "send_to_all", "data": {}}', "invalid_data"),
    ('{"event": "send_to_all"}', "invalid_data"),
    ('{"event": "identify", "data": {"name": ""}}', "invalid_data"),
    ('{"event": "history", "data": {"limit": 0}}', "invalid_data"),
    ('{"event": "history", "data": {"limit": 100000}}', "invalid_data"),
    ('{"event": "history", "data": {"since": -1}}', "invalid_data"),
    ('{"event": "history", "data": {"since": "5"}}', "invalid_data"),
    ('{"event": "publish_transcript", "data": {"call_id": "c", "text": "t"}}', "invalid_data"),
    (
        '{"event": "publish_transcript", "data": {"call_id": "c", "text": "t", "is_final": "yes"}}',
        "invalid_data",
    ),
    ('{"event": "list_rooms", "id": [1]}', "invalid_data"),
    (json.dumps({"event": "list_rooms", "id": "x" * 65}), "invalid_data"),
    ('{"event": "leave_room", "data": {"room_name": "never-joined"}}', "not_found"),
]


@pytest.mark.parametrize(("frame", "code"), BAD_INPUTS)
async def test_bad_input_gets_its_error_code_and_connection_stays_open(
    relay: Relay, frame: str, code: str
) -> None:
    async with client(relay.url) as ws:
        await ws.send(frame)
        error = await recv_json(ws)
        assert error["event"] == "error"
        assert error["data"]["code"] == code
        assert isinstance(error["data"]["message"], str) and error["data"]["message"]
        await request(ws, "list_rooms")
        assert (await recv_json(ws))["event"] == "rooms_list"


async def test_error_names_the_event_and_echoes_the_id(relay: Relay) -> None:
    async with client(relay.url) as ws:
        await request(ws, "join_room", {"room_name": 7}, id="j1")
        error = await recv_json(ws)
        assert error["id"] == "j1"
        assert error["data"]["event"] == "join_room"
        assert "room_name" in error["data"]["message"]


async def test_unknown_top_level_keys_are_ignored(relay: Relay) -> None:
    async with client(relay.url) as ws:
        await ws.send(json.dumps({"event": "list_rooms", "extra": True, "trace": {"a": 1}}))
        assert (await recv_json(ws))["event"] == "rooms_list"


async def test_oversized_frame_closes_1009_and_others_are_served(relay: Relay) -> None:
    async with client(relay.url) as other, client(relay.url, max_size=None) as big:
        await request(other, "join_room", {"room_name": "r"})
        await recv_event(other, "room_joined")
        payload = {"room_name": "r", "message": "x" * (relay.settings.max_message_bytes + 1)}
        await request(big, "send_to_room", payload)
        with pytest.raises(ConnectionClosed) as closed:
            await recv_json(big)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        async with client(relay.url) as sender:
            await request(sender, "send_to_room", {"room_name": "r", "message": "still here"})
            event = await recv_event(other, "client_message")
            assert event["data"]["message"] == "still here"


async def test_binary_frame_closes_1003(relay: Relay) -> None:
    async with connect(relay.url) as ws:
        await recv_json(ws)
        await ws.send(b"\x00\x01binary")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv_json(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1003
        assert "binary" in closed.value.rcvd.reason


async def test_healthz_answers_json(relay: Relay) -> None:
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, body = response.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200")
    assert b"application/json" in head
    status = json.loads(body)
    assert status["status"] == "ok"
    assert {"clients", "rooms", "source", "agent"} <= set(status)


async def test_a_lone_surrogate_in_a_message_is_relayed_escaped(relay: Relay) -> None:
    """``"\\ud800"`` is valid JSON with no UTF-8 form: it is relayed as an escape, not a crash."""
    async with client(relay.url) as sender, client(relay.url) as member:
        await request(member, "join_room", {"room_name": "ops"})
        await recv_event(member, "room_joined")
        await sender.send(
            '{"event":"send_to_room","id":1,"data":{"room_name":"ops","message":"a\\ud800b"}}'
        )
        assert (await recv_event(sender, "sent"))["id"] == 1
        frame = await member.recv()
        assert "\\ud800" in frame
        assert json.loads(frame)["data"]["message"] == "a\ud800b"
