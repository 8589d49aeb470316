"""A bare room relay, the yardstick that ``fanout.py`` measures dispatch against.

It does only what fan-out strictly needs, so that any gap between it and
dispatch is the price of dispatch's extras (validation, seq, journal, slow
consumer guard): rooms in a dict, one ``json.dumps`` per message, websockets'
``broadcast`` to the other members, no journal, no compression. It speaks the
seed events ``join_room`` and ``send_to_room`` so one benchmark client fits both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve


class ReferenceRelay:
    """Room membership and the two seed events; nothing else."""

    def __init__(self) -> None:
        self.rooms: dict[str, set[ServerConnection]] = {}

    async def handle(self, ws: ServerConnection) -> None:
        host, port = ws.remote_address[:2]
        address = f"{host}:{port}"
        joined: set[str] = set()
        try:
            async for frame in ws:
                request = json.loads(frame)
                data: dict[str, Any] = request.get("data") or {}
                room: str = data.get("room_name", "")
                if request.get("event") == "join_room":
                    members = self.rooms.setdefault(room, set())
                    members.add(ws)
                    joined.add(room)
                    reply = {"room_name": room, "clients": len(members)}
                    await ws.send(json.dumps({"event": "room_joined", "data": reply}))
                elif request.get("event") == "send_to_room":
                    out = {"from": address, "message": data.get("message"), "room": room}
                    text = json.dumps({"event": "client_message", "data": out})
                    broadcast([m for m in self.rooms.get(room, ()) if m is not ws], text)
        finally:
            for room in joined:
                self.rooms[room].discard(ws)
                if not self.rooms[room]:
                    del self.rooms[room]


async def main(host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM, printing one startup line like ``dispatch serve``."""
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with serve(ReferenceRelay().handle, host, port, compression=None) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"reference relay listening on ws://{host}:{bound}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    # One descriptor per client: a benchmark with 1000 clients needs more than 1024.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(args.host, args.port))
