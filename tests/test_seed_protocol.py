"""Each seed event with real clients on a real relay, in the seed's exact shape."""

from __future__ import annotations

import asyncio

from dispatch_tui.server.relay import Relay
from tests.conftest import client, local_address, recv_event, recv_json, request

SEED_EXTENSIONS = {"name", "client_id", "seq", "ts"}


async def test_send_to_all_reaches_every_other_client_in_seed_shape(relay: Relay) -> None:
    async with client(relay.url) as alice, client(relay.url) as bob, client(relay.url) as carol:
        await request(alice, "send_to_all", {"message": {"type": "alert", "n": 1}})
        for receiver in (bob, carol):
            event = await recv_json(receiver)
            assert event["event"] == "client_message"
            data = event["data"]
            assert list(data)[:3] == ["from", "message", "broadcast"]
            assert data["from"] == local_address(alice)
            assert data["message"] == {"type": "alert", "n": 1}
            assert data["broadcast"] is True
            assert "room" not in data
            assert set(data) - {"from", "message", "broadcast"} == SEED_EXTENSIONS
        sent = await recv_event(alice, "sent")
        assert sent["data"]["recipients"] == 2
        assert sent["data"]["broadcast"] is True
        # The sender does not receive its own broadcast.
        await request(alice, "list_rooms")
        assert (await recv_json(alice))["event"] == "rooms_list"


async def test_join_and_send_to_room_reach_only_other_members(relay: Relay) -> None:
    async with (
        client(relay.url) as sender,
        client(relay.url) as member,
        client(relay.url) as outsider,
    ):
        await request(member, "join_room", {"room_name": "dispatch_center"})
        joined = await recv_json(member)
        assert joined == {
            "event": "room_joined",
            "data": {"room_name": "dispatch_center", "clients": 1},
        }
        await request(sender, "join_room", {"room_name": "dispatch_center"})
        await recv_event(sender, "room_joined")
        await request(
            sender, "send_to_room", {"room_name": "dispatch_center", "message": "unit 5 en route"}
        )
        event = await recv_json(member)
        data = event["data"]
        assert event["event"] == "client_message"
        assert list(data)[:3] == ["from", "message", "room"]
        assert data["from"] == local_address(sender)
        assert data["message"] == "unit 5 en route"
        assert data["room"] == "dispatch_center"
        assert set(data) - {"from", "message", "room"} == SEED_EXTENSIONS
        sent = await recv_event(sender, "sent")
        assert sent["data"] == {"recipients": 1, "seq": data["seq"], "room": "dispatch_center"}
        # Neither the outsider nor the sender got the room message.
        await request(outsider, "list_rooms")
        assert (await recv_json(outsider))["event"] == "rooms_list"


async def test_sender_need_not_be_a_member(relay: Relay) -> None:
    async with client(relay.url) as sender, client(relay.url) as member:
        await request(member, "join_room", {"room_name": "field_ops"})
        await recv_event(member, "room_joined")
        await request(sender, "send_to_room", {"room_name": "field_ops", "message": "hi"})
        event = await recv_event(member, "client_message")
        assert event["data"]["room"] == "field_ops"


async def test_list_rooms_counts_members_and_hides_empty_rooms(relay: Relay) -> None:
    async with client(relay.url) as a, client(relay.url) as b:
        for ws, room in ((a, "dispatch_center"), (b, "dispatch_center"), (b, "field_ops")):
            await request(ws, "join_room", {"room_name": room})
            await recv_event(ws, "room_joined")
        await request(a, "list_rooms")
        assert await recv_json(a) == {
            "event": "rooms_list",
            "data": {"rooms": {"dispatch_center": 2, "field_ops": 1}},
        }
        await request(b, "leave_room", {"room_name": "field_ops"})
        assert await recv_json(b) == {
            "event": "room_left",
            "data": {"room_name": "field_ops", "clients": 0},
        }
        await request(a, "list_rooms")
        assert (await recv_json(a))["data"] == {"rooms": {"dispatch_center": 2}}


async def test_leave_room_without_name_leaves_the_latest_room(relay: Relay) -> None:
    async with client(relay.url) as ws:
        for room in ("first", "second"):
            await request(ws, "join_room", {"room_name": room})
            await recv_event(ws, "room_joined")
        await request(ws, "leave_room")
        assert (await recv_json(ws))["data"]["room_name"] == "second"
        await request(ws, "leave_room", {})
        assert (await recv_json(ws))["data"]["room_name"] == "first"
        await request(ws, "leave_room")
        error = await recv_json(ws)
        assert error["event"] == "error"
        assert error["data"]["code"] == "not_found"


async def test_list_clients_in_seed_shape_with_all_rooms(relay: Relay) -> None:
    async with client(relay.url) as a, client(relay.url) as b:
        await request(a, "identify", {"name": "Dispatcher 3"})
        await recv_event(a, "identified")
        for room in ("dispatch_center", "field_ops"):
            await request(a, "join_room", {"room_name": room})
            await recv_event(a, "room_joined")
        await request(b, "list_clients")
        reply = await recv_json(b)
        assert reply["event"] == "clients_list"
        by_address = {c["address"]: c for c in reply["data"]["clients"]}
        assert set(by_address) == {local_address(a), local_address(b)}
        listed_a = by_address[local_address(a)]
        assert list(listed_a)[:2] == ["address", "room"]
        assert listed_a["room"] == "field_ops"
        assert listed_a["rooms"] == ["dispatch_center", "field_ops"]
        assert listed_a["name"] == "Dispatcher 3"
        assert by_address[local_address(b)]["room"] is None

        await request(b, "list_clients", {"room_name": "dispatch_center"})
        in_room = (await recv_json(b))["data"]["clients"]
        assert [c["address"] for c in in_room] == [local_address(a)]


async def test_join_twice_is_harmless_and_disconnect_leaves_every_room(relay: Relay) -> None:
    async with client(relay.url) as watcher:
        async with client(relay.url) as ws:
            for room in ("a", "a", "b"):
                await request(ws, "join_room", {"room_name": room})
                await recv_event(ws, "room_joined")
            await request(watcher, "list_rooms")
            assert (await recv_json(watcher))["data"]["rooms"] == {"a": 1, "b": 1}
        async with asyncio.timeout(10):
            while True:
                await request(watcher, "list_rooms")
                if (await recv_json(watcher))["data"]["rooms"] == {}:
                    break
                await asyncio.sleep(0.05)


async def test_extensions_welcome_id_echo_and_identify(relay: Relay) -> None:
    from websockets.asyncio.client import connect

    async with connect(relay.url) as ws:
        welcome = await recv_json(ws)
        assert welcome["event"] == "welcome"
        assert welcome["data"]["address"] == local_address(ws)
        assert welcome["data"]["protocol"] == 1
        assert set(welcome["data"]) == {
            "client_id", "address", "name", "role", "server", "protocol"
        }  # fmt: skip
        status = await recv_json(ws)
        assert status == {"event": "status", "data": {"source": "off", "agent": "off"}}
        await request(ws, "list_rooms", id="req-7")
        assert (await recv_json(ws))["id"] == "req-7"
        await request(ws, "join_room", {"room_name": "x"}, id=42)
        assert (await recv_json(ws))["id"] == 42
        await request(ws, "send_to_room", {"room_name": "x", "message": 1}, id="s1")
        sent = await recv_json(ws)
        assert sent["event"] == "sent"
        assert sent["id"] == "s1"
        await request(ws, "nope", id="bad-1")
        error = await recv_json(ws)
        assert error["id"] == "bad-1"
        assert error["data"]["code"] == "unknown_event"
