"""Several relays as one, through a shared, ordered log in Redis.

* **The log** is one Redis Stream. A Lua script numbers a message (one shared
  counter) and appends it under the stream ID ``<seq>-0`` in one atomic step,
  so the log's order is ``seq`` order. Every relay reads the whole log from
  its own cursor and hands each entry to its hub, which delivers it to its
  clients and journals it; the cursor is journaled with the entries, so a
  relay that was down or cut off reads on from where it stopped. The stream
  is trimmed (``MAXLEN ~``) to the journal's retention.
* **``seq`` never goes back.** An epoch key tells a Redis that lost its data
  from one that kept it. Whenever a relay (re)connects it raises the counter
  to the highest ``seq`` it has seen, and past it by :data:`SEQ_GAP` when
  Redis lost data, so a number another relay handed out, but this one never
  saw, is not handed out again. The append script refuses to number anything
  for a relay whose epoch or floor is out of date until it has synced again.
* **Redis away**: appends wait a moment (:attr:`RedisBroker.hold`) for Redis
  to come back, then fail with :class:`BrokerUnavailable`; the relay answers
  ``unavailable`` and stays up, reconnects with backoff and catches up.
* **Presence**: each relay keeps its clients and room counts in two hashes
  that expire unless refreshed, listed in a sorted set scored by expiry, so a
  relay that dies drops out of everyone's counts within :data:`PRESENCE_TTL`.

Appends carry a unique id, so the retries that redis-py makes on a lost
reply cannot store a message twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import uuid
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from dispatch_tui.server.broker import (
    Appended,
    Broker,
    BrokerError,
    BrokerUnavailable,
    Delivery,
    Outgoing,
    Presence,
)
from dispatch_tui.server.journal import Journal
from dispatch_tui.server.tasks import start_task

logger = logging.getLogger(__name__)

PREFIX = "dispatch:"
SEQ_KEY = PREFIX + "seq"
EPOCH_KEY = PREFIX + "epoch"
LOG_KEY = PREFIX + "log"
RELAYS_KEY = PREFIX + "relays"
#: How far past the highest seen ``seq`` the counter jumps after Redis lost data.
SEQ_GAP = 1_000_000
#: Seconds a relay's presence outlives its last heartbeat.
PRESENCE_TTL = 10.0
#: Seconds an append's id is remembered, for redis-py's retries.
_APPEND_ID_TTL = 300
_READ_BLOCK_MS = 1000
_READ_COUNT = 1000
_EPOCH_MEMORY = "redis_epoch"

_SYNC = """
local created = redis.call('SET', KEYS[2], ARGV[2], 'NX')
local epoch = redis.call('GET', KEYS[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
local known = ARGV[3]
local lost = 0
if (created and (floor > 0 or known ~= '')) or (known ~= '' and known ~= epoch)
    or current < floor then
  lost = 1
end
local top = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
if top[1] then
  local last = tonumber(string.match(top[1][1], '^(%d+)'))
  if last > floor then floor = last end
end
local target = floor
if lost == 1 then target = floor + tonumber(ARGV[4]) end
if current < target then
  redis.call('SET', KEYS[1], target)
  current = target
end
return {epoch, lost, current}
"""

_APPEND = """
if redis.call('GET', KEYS[4]) ~= ARGV[9] then
  return redis.error_reply('DISPATCH_RESYNC the shared epoch changed')
end
local done = redis.call('GET', KEYS[5])
local seq
if done then
  seq = tonumber(done)
else
  local current = tonumber(redis.call('GET', KEYS[1]) or '0')
  if current < tonumber(ARGV[10]) then
    return redis.error_reply('DISPATCH_RESYNC the counter is behind this relay')
  end
  seq = redis.call('INCR', KEYS[1])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], seq .. '-0',
    'p', ARGV[1] .. seq .. ARGV[2], 'r', ARGV[3], 'x', ARGV[4], 'e', ARGV[5], 'o', ARGV[6])
  redis.call('SET', KEYS[5], seq, 'EX', ARGV[11])
end
local field = ARGV[3]
if field == '' then field = '*' end
local remote = 0
for _, relay in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[7], '+inf')) do
  if relay ~= ARGV[6] then
    remote = remote + tonumber(redis.call('HGET', ARGV[12] .. relay, field) or '0')
  end
end
return {seq, remote}
"""


def _clients_key(relay_id: str) -> str:
    return f"{PREFIX}clients:{relay_id}"


def _rooms_key(relay_id: str) -> str:
    return f"{PREFIX}rooms:{relay_id}"


class _Resync(Exception):
    """Redis's epoch or counter is not what this relay last synced with."""


class RedisBroker(Broker):
    """Shared ``seq``, log and presence for a group of relays; see the module docstring."""

    delivers = True

    def __init__(
        self,
        url: str,
        journal: Journal,
        max_log_entries: int = 1_000_000,
        hold: float = 2.0,
    ) -> None:
        super().__init__()
        self.url = url
        self.journal = journal
        self.max_log_entries = max_log_entries
        #: Seconds an append waits for Redis to come back before it fails.
        self.hold = hold
        self.relay_id = uuid.uuid4().hex
        self._appends = itertools.count(1)
        self._commands = redis.from_url(
            url,
            socket_timeout=2.0,
            socket_connect_timeout=1.0,
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 2),
        )
        self._reader = redis.from_url(
            url, socket_timeout=_READ_BLOCK_MS / 1000 + 3.0, socket_connect_timeout=1.0
        )
        self._sync_script = self._commands.register_script(_SYNC)
        self._append_script = self._commands.register_script(_APPEND)
        #: Read from the journal once it is open (:meth:`start`).
        self._epoch = ""
        self._cursor = 0
        #: The highest ``seq`` this relay has seen; the shared counter may not be below it.
        self._floor = 0
        self._synced = asyncio.Event()
        self._resync_wanted = asyncio.Event()
        self._presence_wanted = asyncio.Event()
        self._presence_generation = 0
        self._presence_written = 0
        self._presence_shown = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Sync with Redis and read the log up to its end, before any client is served."""
        journal = self.journal
        self._epoch = journal.remembered(_EPOCH_MEMORY) or ""
        self._cursor = journal.log_cursor
        self._floor = max(journal.last_seq, self._cursor)
        try:
            await self._sync()
            while await self._read_once(block=False):
                pass
        except (redis.RedisError, OSError) as exc:
            await self._close_clients()
            raise BrokerError(f"cannot use Redis at {self.url}: {exc}") from None
        self._tasks = [
            start_task(self._follow_log(), "redis-log"),
            start_task(self._share_presence(), "redis-presence"),
        ]
        self._presence_wanted.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(redis.RedisError, OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._drop_presence()
        await self._close_clients()

    async def _close_clients(self) -> None:
        await self._commands.aclose()
        await self._reader.aclose()

    # -- the log ---------------------------------------------------------

    async def append(self, outgoing: Outgoing) -> Appended:
        append_id = f"{PREFIX}append:{self.relay_id}:{next(self._appends)}"
        deadline = time.monotonic() + self.hold
        reason = "not synced with Redis yet"
        while True:
            if self.closing:
                raise BrokerUnavailable("message not stored: the relay is stopping")
            remaining = deadline - time.monotonic()
            if not self._synced.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(remaining, 0.0)):
                        await self._synced.wait()
            if self._synced.is_set():
                try:
                    seq, remote = await self._run_append(outgoing, append_id)
                except _Resync as exc:
                    reason = str(exc)
                    self._want_resync()
                except (redis.RedisError, OSError) as exc:
                    reason = f"Redis is unreachable: {exc}"
                    self._want_resync(reason)
                else:
                    self._floor = max(self._floor, seq)
                    payload = outgoing.template.fill(seq)
                    delivery = Delivery(
                        payload, outgoing.room, outgoing.exclude, seq, outgoing.event
                    )
                    return Appended(delivery, remote)
            if time.monotonic() >= deadline:
                raise BrokerUnavailable(f"message not stored: {reason}")

    async def _run_append(self, outgoing: Outgoing, append_id: str) -> tuple[int, int]:
        keys = [SEQ_KEY, LOG_KEY, RELAYS_KEY, EPOCH_KEY, append_id]
        args: list[Any] = [
            outgoing.template.head,
            outgoing.template.tail,
            outgoing.room or "",
            outgoing.exclude or "",
            outgoing.event,
            self.relay_id,
            int(time.time() * 1000),
            self.max_log_entries,
            self._epoch,
            self._floor,
            _APPEND_ID_TTL,
            PREFIX + "rooms:",
        ]
        try:
            seq, remote = await self._append_script(keys=keys, args=args)
        except redis.ResponseError as exc:
            if "DISPATCH_RESYNC" in str(exc):
                raise _Resync(str(exc).replace("DISPATCH_RESYNC ", "")) from None
            raise
        return int(seq), int(remote)

    async def _sync(self) -> None:
        """Agree with Redis on the epoch and raise the counter past what this relay saw."""
        candidate = uuid.uuid4().hex
        epoch, lost, current = await self._sync_script(
            keys=[SEQ_KEY, EPOCH_KEY, LOG_KEY], args=[self._floor, candidate, self._epoch, SEQ_GAP]
        )
        epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
        if int(lost):
            logger.warning(
                "Redis at %s lost data (epoch %s, now %s): seq raised to %d so none is reused",
                self.url,
                self._epoch or "unknown",
                epoch,
                int(current),
            )
        if epoch != self._epoch:
            self._epoch = epoch
            self.journal.remember(_EPOCH_MEMORY, epoch)
        self._floor = max(self._floor, int(current))
        self._resync_wanted.clear()
        self._synced.set()
        self._set_degraded(None)

    def begin_closing(self) -> None:
        super().begin_closing()
        # Wake appends waiting for Redis, so that they fail now.
        self._synced.set()

    def _want_resync(self, reason: str | None = None) -> None:
        self._synced.clear()
        self._resync_wanted.set()
        if reason is not None:
            self._set_degraded(reason)

    def _set_degraded(self, reason: str | None) -> None:
        if reason == self.degraded:
            return
        if reason is None:
            logger.info("Redis at %s reachable again", self.url)
        else:
            logger.error("Redis at %s: %s", self.url, reason)
        self.degraded = reason
        self.receiver.broker_state(reason is None, reason)

    async def _follow_log(self) -> None:
        """Read the log for ever; after any failure, reconnect, sync, and read on."""
        delay = 0.1
        while True:
            try:
                if self._resync_wanted.is_set() or not self._synced.is_set():
                    await self._sync()
                    self._presence_wanted.set()
                await self._read_once(block=True)
                delay = 0.1
            except (redis.RedisError, OSError) as exc:
                self._want_resync(f"Redis is unreachable: {exc}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _read_once(self, block: bool) -> bool:
        """Hand the next entries after the cursor to the hub; False when there were none."""
        reply: Any = await self._reader.xread(
            {LOG_KEY: f"{self._cursor}-0"},
            count=_READ_COUNT,
            block=_READ_BLOCK_MS if block else None,
        )
        if not reply:
            return False
        for entry_id, fields in reply[0][1]:
            seq = int(entry_id.split(b"-", 1)[0])
            room = fields[b"r"].decode()
            exclude = fields[b"x"].decode()
            delivery = Delivery(
                fields[b"p"], room or None, exclude or None, seq, fields[b"e"].decode()
            )
            self._cursor = seq
            self._floor = max(self._floor, seq)
            self.receiver.receive(delivery)
        return True

    # -- presence --------------------------------------------------------

    def touch_presence(self) -> None:
        self._presence_generation += 1
        self._presence_wanted.set()

    async def presence_changed(self) -> None:
        self.touch_presence()
        if not self._synced.is_set():
            return
        wanted = self._presence_generation
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0), self._presence_shown:
                await self._presence_shown.wait_for(lambda: self._presence_written >= wanted)

    async def _share_presence(self) -> None:
        """Write this relay's presence on every change and at every heartbeat."""
        heartbeat = PRESENCE_TTL / 4
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(heartbeat):
                    await self._presence_wanted.wait()
            self._presence_wanted.clear()
            generation = self._presence_generation
            try:
                await self._write_presence()
            except (redis.RedisError, OSError) as exc:
                logger.debug("presence not shared: %s", exc)
                await asyncio.sleep(0.5)
                self._presence_wanted.set()
                continue
            async with self._presence_shown:
                self._presence_written = generation
                self._presence_shown.notify_all()

    async def _write_presence(self) -> None:
        presence = self.receiver.presence()
        clients_key, rooms_key = _clients_key(self.relay_id), _rooms_key(self.relay_id)
        ttl_ms = int(PRESENCE_TTL * 1000)
        now_ms = int(time.time() * 1000)
        counts: dict[str, int] = {**presence.rooms, "*": len(presence.clients)}
        async with self._commands.pipeline(transaction=True) as pipe:
            pipe.delete(clients_key, rooms_key)
            if presence.clients:
                pipe.hset(
                    clients_key,
                    mapping={cid: json.dumps(entry) for cid, entry in presence.clients.items()},
                )
                pipe.pexpire(clients_key, ttl_ms)
            pipe.hset(rooms_key, mapping=counts)  # type: ignore[arg-type]
            pipe.pexpire(rooms_key, ttl_ms)
            pipe.zadd(RELAYS_KEY, {self.relay_id: now_ms + ttl_ms})
            pipe.zremrangebyscore(RELAYS_KEY, "-inf", now_ms)
            await pipe.execute()

    async def _drop_presence(self) -> None:
        async with self._commands.pipeline(transaction=True) as pipe:
            pipe.zrem(RELAYS_KEY, self.relay_id)
            pipe.delete(_clients_key(self.relay_id), _rooms_key(self.relay_id))
            await pipe.execute()

    async def remote_presence(self, with_clients: bool = True) -> list[Presence] | None:
        try:
            async with asyncio.timeout(2.0):
                live: Any = await self._commands.zrangebyscore(
                    RELAYS_KEY, int(time.time() * 1000), "+inf"
                )
                others = [r.decode() for r in live if r.decode() != self.relay_id]
                async with self._commands.pipeline(transaction=False) as pipe:
                    for relay_id in others:
                        pipe.hgetall(_rooms_key(relay_id))
                        if with_clients:
                            pipe.hgetall(_clients_key(relay_id))
                    replies = await pipe.execute()
        except (redis.RedisError, OSError, TimeoutError) as exc:
            logger.warning("presence of the other relays not read: %s", exc)
            return None
        step = 2 if with_clients else 1
        found = []
        for index in range(0, len(replies), step):
            rooms = {
                room.decode(): int(count) for room, count in replies[index].items() if room != b"*"
            }
            clients = _client_entries(replies[index + 1]) if with_clients else {}
            found.append(Presence(clients, rooms))
        return found


def _client_entries(stored: dict[bytes, bytes]) -> dict[str, dict[str, Any]]:
    """Another relay's clients as it stored them; an entry that is not a JSON object is skipped."""
    entries = {}
    for client_id, entry in stored.items():
        try:
            value = json.loads(entry)
        except ValueError:
            value = None
        if isinstance(value, dict):
            entries[client_id.decode(errors="replace")] = value
        else:
            logger.error("unreadable client entry in another relay's presence")
    return entries
