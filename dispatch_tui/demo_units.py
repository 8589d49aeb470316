"""Field units that talk in the demo, so its chat panes are not empty."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

from dispatch_tui.client import ClientError, DispatchClient


def status(unit: str, state: str, location: str) -> dict[str, Any]:
    """A unit's ``status_update``, in the shape of the relay's own examples."""
    return {"type": "status_update", "unit": unit, "status": state, "location": location}


#: (unit, room, message): a plausible shift of radio chatter and status updates, in a loop.
CHATTER: tuple[tuple[str, str, Any], ...] = (
    ("Unit 23", "dispatch_center", status("Unit 23", "available", "Station 4")),
    ("Medic 7", "dispatch_center", status("Medic 7", "en_route", "Main St & 1st Ave")),
    ("Engine 12", "dispatch_center", status("Engine 12", "on_scene", "220 Harbor Road")),
    (
        "Unit 23",
        "field_ops",
        {"type": "location_update", "unit_id": "Unit 23", "coordinates": [37.7749, -122.4194]},
    ),
    ("Unit 23", "field_ops", "Unit 23 available, back in service at station 4"),
    ("Medic 7", "dispatch_center", "Medic 7 en route, ETA six minutes"),
    ("Unit 23", "field_ops", "copy, heading north on Elm"),
    ("Sup. Lee", "dispatch_center", "all units: road closure on Route 9 until 18:00"),
    ("Engine 12", "field_ops", "Engine 12 on scene, smoke showing from the second floor"),
    ("Medic 7", "dispatch_center", "patient contact, CPR in progress"),
    ("Unit 23", "field_ops", "urgent: need backup at the Maple Street crossing"),
    ("Engine 12", "field_ops", "fire knocked down, overhauling"),
    ("Medic 7", "dispatch_center", status("Medic 7", "transporting", "to County General")),
)


async def play_chatter(url: str, interval: float = 7.0) -> None:
    """Connect one client per unit and replay :data:`CHATTER` until cancelled."""
    units: dict[str, DispatchClient] = {}
    try:
        for name in dict.fromkeys(unit for unit, _, _ in CHATTER):
            client = DispatchClient(url, name=name, reconnect=True)
            await client.connect()
            units[name] = client
            for room in dict.fromkeys(room for unit, room, _ in CHATTER if unit == name):
                await client.join(room)
        for unit, room, message in itertools.cycle(CHATTER):
            await asyncio.sleep(interval)
            with contextlib.suppress(ClientError):
                await units[unit].send_to_room(room, message)
    finally:
        for client in units.values():
            await client.close()
