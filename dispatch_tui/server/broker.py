"""Numbering and fan-out behind a small interface, so that several relays share rooms.

The hub hands every message to a broker as an :class:`Outgoing` (its bytes
with a hole for ``seq``). The broker numbers it and stores it where every relay
sharing it can read it. :class:`LocalBroker` (one relay) numbers from a counter
and lets the hub deliver at once; the Redis broker appends to a shared log and
hands each entry of that log, in ``seq`` order, back to the hub of every relay
(its own messages too), so that every client sees the same order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

from dispatch_tui.events import SeqTemplate
from dispatch_tui.server.journal import Journal


@dataclass(frozen=True, slots=True)
class Delivery:
    """One numbered message and who gets it.

    ``room`` None means every connected client; ``exclude`` is the client id of
    the sender, who never receives its own message.
    """

    payload: bytes
    room: str | None
    exclude: str | None = None
    seq: int = 0
    event: str = ""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message the hub wants numbered and shared."""

    template: SeqTemplate
    room: str | None
    exclude: str | None
    event: str


@dataclass(frozen=True, slots=True)
class Appended:
    """What the broker did with an :class:`Outgoing`."""

    delivery: Delivery
    #: Members of the message's stream on the *other* relays.
    remote_recipients: int = 0


class BrokerError(Exception):
    """The shared broker cannot be reached or used; the message says why."""


class BrokerUnavailable(BrokerError):
    """The message could not be stored right now; nothing was delivered."""


class Receiver(Protocol):
    """What a broker needs from the hub of its relay."""

    def receive(self, delivery: Delivery) -> None:
        """Deliver and journal one entry of the shared log."""

    def presence(self) -> Presence:
        """This relay's members, for the other relays to count."""

    def broker_state(self, available: bool, detail: str | None) -> None:
        """The shared broker became reachable or unreachable."""


@dataclass(frozen=True, slots=True)
class Presence:
    """One relay's members as the others see them."""

    #: client_id to the client's ``clients_list`` entry.
    clients: dict[str, dict[str, Any]]
    #: room to its member count.
    rooms: dict[str, int]


class Broker(ABC):
    """Numbers messages and carries them to every relay."""

    #: True when the broker hands every message back through
    #: :meth:`Receiver.receive`; False when the hub delivers it itself.
    delivers: bool = False
    #: None while everything works; else why the relay is degraded.
    degraded: str | None = None

    def __init__(self) -> None:
        self._receiver: Receiver | None = None
        #: Set when the relay stops: nothing waits for the broker any more.
        self.closing = False

    def begin_closing(self) -> None:
        """The relay is stopping: appends fail at once instead of waiting for Redis."""
        self.closing = True

    def attach(self, receiver: Receiver) -> None:
        """Register the local hub."""
        self._receiver = receiver

    @property
    def receiver(self) -> Receiver:
        if self._receiver is None:
            raise RuntimeError("broker has no hub attached")
        return self._receiver

    @abstractmethod
    async def append(self, outgoing: Outgoing) -> Appended:
        """Number and store one message; raises :class:`BrokerUnavailable`."""

    @abstractmethod
    def touch_presence(self) -> None:
        """This relay's presence changed; share it soon."""

    @abstractmethod
    async def presence_changed(self) -> None:
        """Share this relay's presence; returns once the others can see it (or gave up)."""

    @abstractmethod
    async def remote_presence(self, with_clients: bool = True) -> list[Presence] | None:
        """The other relays' presence; None when it cannot be had right now."""

    @abstractmethod
    async def start(self) -> None:
        """Connect to whatever the broker needs."""

    @abstractmethod
    async def stop(self) -> None:
        """Release what :meth:`start` took."""


class LocalBroker(Broker):
    """A single relay: ``seq`` from a counter, delivery straight from the hub."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal
        self._seq = 0

    async def append(self, outgoing: Outgoing) -> Appended:
        self._seq += 1
        payload = outgoing.template.fill(self._seq)
        return Appended(
            Delivery(payload, outgoing.room, outgoing.exclude, self._seq, outgoing.event)
        )

    def touch_presence(self) -> None:
        """No other relay to tell."""

    async def presence_changed(self) -> None:
        """No other relay to tell."""

    async def remote_presence(self, with_clients: bool = True) -> list[Presence] | None:
        return []

    async def start(self) -> None:
        """Go on numbering from the journal's last ``seq``."""
        self._seq = self.journal.last_seq

    async def stop(self) -> None:
        """Nothing to release."""
