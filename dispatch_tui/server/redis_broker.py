"""Several relays sharing ``seq`` numbers and fan-out through Redis.

Every relay takes its ``seq`` from one Redis counter, so numbers stay unique
and increasing across the group, and publishes each delivery on one channel.
The other relays deliver it to their own clients and write it to their own
journal, so ``history`` answers the same on any relay a client reconnects to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid

import redis.asyncio as redis

from dispatch_tui.server.broker import Broker, BrokerError, Delivery
from dispatch_tui.server.journal import Entry, Journal

logger = logging.getLogger(__name__)

SEQ_KEY = "dispatch:seq"
CHANNEL = "dispatch:deliveries"
#: Raise the shared counter to at least a relay's own journal (never lower it).
_RAISE_TO = (
    "local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 0"
)


class RedisBroker(Broker):
    """Shared ``seq`` and fan-out for a group of relays."""

    def __init__(self, url: str, journal: Journal) -> None:
        super().__init__()
        self.url = url
        self.journal = journal
        self.relay_id = uuid.uuid4().hex
        self._redis: redis.Redis | None = None
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._redis = redis.from_url(self.url)
        try:
            await self._redis.eval(_RAISE_TO, 1, SEQ_KEY, str(self.journal.last_seq))
        except (redis.RedisError, OSError) as exc:
            await self._redis.aclose()
            raise BrokerError(f"cannot use Redis at {self.url}: {exc}") from None
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._receive(pubsub), name="redis-receive"),
            loop.create_task(self._send(), name="redis-send"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._redis is not None:
            await self._redis.aclose()

    async def next_seq(self) -> int:
        assert self._redis is not None
        return int(await self._redis.incr(SEQ_KEY))

    def publish(self, delivery: Delivery) -> int:
        header = {
            "relay": self.relay_id,
            "room": delivery.room,
            "exclude": delivery.exclude,
            "seq": delivery.seq,
            "event": delivery.event,
        }
        self._outgoing.put_nowait(json.dumps(header).encode() + b"\n" + delivery.payload)
        return self.deliver_locally(delivery)

    async def _send(self) -> None:
        """One writer, so deliveries leave in the order they were made."""
        assert self._redis is not None
        while True:
            message = await self._outgoing.get()
            try:
                await self._redis.publish(CHANNEL, message)
            except (redis.RedisError, OSError) as exc:
                logger.error("could not share a delivery through Redis: %s", exc)

    async def _receive(self, pubsub: redis.client.PubSub) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            header_line, _, payload = bytes(message["data"]).partition(b"\n")
            header = json.loads(header_line)
            if header["relay"] == self.relay_id:
                continue
            delivery = Delivery(
                payload, header["room"], header["exclude"], header["seq"], header["event"]
            )
            self.deliver_locally(delivery)
            if delivery.seq:
                self.journal.append(Entry(delivery.seq, delivery.room, delivery.event, payload))
