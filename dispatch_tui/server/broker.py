"""Fan-out behind a small interface, so that several relays can share rooms.

The hub hands every outgoing message to a broker as a :class:`Delivery`; the
broker hands it back to the local hub (and, for a shared broker, to every
other relay) through the deliver callback. ``seq`` numbers come from the broker
too, since they must be unique across every relay that shares it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delivery:
    """One encoded message and who gets it.

    ``room`` None means every connected client; ``exclude`` is the client id of
    the sender, who never receives its own message.
    """

    payload: bytes
    room: str | None
    exclude: str | None = None
    #: The message's ``seq`` and event name, for relays that journal it too.
    seq: int = 0
    event: str = ""


Deliver = Callable[[Delivery], int]


class BrokerError(Exception):
    """The shared broker cannot be reached or used; the message says why."""


class Broker(ABC):
    """Allocates ``seq`` numbers and carries deliveries to every relay."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    def attach(self, deliver: Deliver) -> None:
        """Register the local hub's delivery function."""
        self._deliver = deliver

    def deliver_locally(self, delivery: Delivery) -> int:
        if self._deliver is None:
            raise RuntimeError("broker has no hub attached")
        return self._deliver(delivery)

    @abstractmethod
    async def next_seq(self) -> int:
        """A new ``seq``, greater than every one handed out before."""

    @abstractmethod
    def publish(self, delivery: Delivery) -> int:
        """Deliver everywhere; returns how many local clients it reached."""

    @abstractmethod
    async def start(self) -> None:
        """Connect to whatever the broker needs."""

    @abstractmethod
    async def stop(self) -> None:
        """Release what :meth:`start` took."""


class LocalBroker(Broker):
    """A single relay: ``seq`` from a counter, delivery straight to the hub."""

    def __init__(self, last_seq: int = 0) -> None:
        super().__init__()
        self._seq = last_seq

    async def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def publish(self, delivery: Delivery) -> int:
        return self.deliver_locally(delivery)

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        """Nothing to release."""
