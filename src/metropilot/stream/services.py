"""The live stream's use cases: follow the journal for one client, and keep the journal short.

One ``StreamHub`` per process (per application) serves every open stream:

- it knows the newest journal id, refreshed by one cheap indexed query per poll interval however
  many streams are open (events journaled by another process, e.g. ``metropilot ingest``, arrive
  this way), and at once when this process journals something (``journal.signal_for``);
- when the newest id moves, it wakes the streams; each reads what it may see since its last id,
  with the caller's scope in the WHERE clause, on a connection taken for that read only;
- it caps the number of simultaneous streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
import orjson
from sqlalchemy import Engine

from metropilot.db.uow import UnitOfWork, UnitOfWorkFactory
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.stream import journal
from metropilot.stream.model import GAP, StreamEvent, sse_comment, sse_event, sse_retry

__all__ = [
    "StreamConfig",
    "StreamFilter",
    "StreamHub",
    "StreamSlot",
    "StreamStart",
    "event_stream",
    "prune",
    "read_events",
]


# Events as (journal id, SSE frame), framed once however many streams send them.
Frames = list[tuple[int, bytes]]
_ReadKey = tuple[int, int, "StreamFilter"]
# Answers of recent reads kept for streams that ask the same a moment later.
READ_CACHE_SIZE = 64
# The server tells a stream its client left by cancelling the response; asking the connection
# now and then is the backstop.
DISCONNECT_CHECK_S = 1.0


@dataclass(frozen=True, slots=True)
class StreamConfig:
    poll_interval_s: float = 0.010  # how stale the newest id may be (events of other processes)
    heartbeat_s: float = 15.0  # a comment line after this long without anything sent
    retry_ms: int = 3000  # the reconnection delay suggested to clients
    max_streams: int = 200  # simultaneous streams per process; beyond, 503
    max_duration_s: float = 900.0  # then the stream ends; clients reconnect and are checked again
    replay_window: timedelta = timedelta(hours=24)  # how far back ?since= may go
    retention: timedelta = timedelta(hours=24)  # what prune() keeps by default
    batch: int = 500  # events per read

    @classmethod
    def from_settings(cls, settings: object) -> StreamConfig:
        """Read the ``stream_*`` settings where they exist, the defaults otherwise."""
        default = cls()

        def number(name: str, fallback: float) -> float:
            value = getattr(settings, name, None)
            return float(value) if isinstance(value, int | float) else fallback

        return cls(
            poll_interval_s=number("stream_poll_interval_ms", default.poll_interval_s * 1000)
            / 1000,
            heartbeat_s=number("stream_heartbeat_s", default.heartbeat_s),
            retry_ms=int(number("stream_retry_ms", default.retry_ms)),
            max_streams=int(number("stream_max_clients", default.max_streams)),
            max_duration_s=number("stream_max_duration_s", default.max_duration_s),
            replay_window=timedelta(
                hours=number("stream_retention_hours", default.replay_window.total_seconds() / 3600)
            ),
            retention=timedelta(
                hours=number("stream_retention_hours", default.retention.total_seconds() / 3600)
            ),
        )


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """What one client receives: its scope, narrowed by the types and communes it asked for."""

    scope: Scope = UNRESTRICTED
    types: tuple[str, ...] | None = None
    communes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class StreamStart:
    """Where a stream begins: after ``cursor``; ``gap`` is told first when events were lost."""

    cursor: int
    gap: dict[str, Any] | None = None


def read_events(
    uow: UnitOfWork, after_id: int, upto_id: int, flt: StreamFilter, limit: int
) -> list[StreamEvent]:
    return journal.read_after(
        uow.connection,
        after_id,
        upto_id,
        flt.scope,
        types=flt.types,
        communes=flt.communes,
        limit=limit,
    )


def resolve_start(
    uow: UnitOfWork, last_event_id: int | None, since: datetime | None
) -> StreamStart:
    """After ``last_event_id`` when the client resumes, from ``since`` when given, else now.

    A resuming client whose id is older than what the retention kept, or newer than anything
    journaled (the database was replaced), is told so with a ``stream.gap`` event.
    """
    conn = uow.connection
    newest = journal.newest_id(conn)
    if last_event_id is not None:
        if last_event_id > newest:
            return StreamStart(
                newest, {"reason": "unknown_id", "last_event_id": last_event_id, "newest": newest}
            )
        oldest = journal.oldest_id(conn)
        if oldest is not None and last_event_id < oldest - 1:
            return StreamStart(
                last_event_id,
                {"reason": "expired", "last_event_id": last_event_id, "oldest": oldest},
            )
        return StreamStart(last_event_id)
    if since is not None:
        first = journal.first_id_at_or_after(conn, since)
        return StreamStart(first - 1 if first is not None else newest)
    return StreamStart(newest)


def prune(uow: UnitOfWork, before: datetime) -> int:
    """Delete what was journaled before ``before`` (the newest entry always stays); the caller
    commits. Run it periodically, e.g. ``prune(uow, utcnow() - StreamConfig().retention)``."""
    return journal.delete_before(uow.connection, before)


@dataclass(eq=False, slots=True)
class StreamSlot:
    """One of the hub's places; released once, by the stream's end or its garbage collection."""

    hub: StreamHub
    released: bool = False

    def release(self) -> None:
        self.hub._release(self)


@dataclass(eq=False, slots=True)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)


class StreamHub:
    """This process's streams on one database: their places, the newest id, shared reads."""

    def __init__(
        self, engine: Engine, uow_factory: UnitOfWorkFactory, config: StreamConfig | None = None
    ) -> None:
        self.config = config or StreamConfig()
        self._uow_factory = uow_factory
        self._lock = threading.Lock()
        self._newest = 0
        self._waiters: set[_Waiter] = set()
        self._pollers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self.active = 0
        self.polls = 0  # database reads of the newest id, for tests and metrics
        self.reads = 0  # database reads of events
        self._reads: dict[tuple[asyncio.AbstractEventLoop, _ReadKey], asyncio.Task[Frames]] = {}
        self._cache: OrderedDict[_ReadKey, Frames] = OrderedDict()
        self.closing = False
        journal.signal_for(engine).listen(self._on_append)

    def close(self) -> None:
        """The server is stopping: every stream ends after what it is sending now, and new ones
        are refused. Safe from any thread and from a signal handler."""
        self.closing = True
        with self._lock:
            waiters = list(self._waiters)
        for waiter in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: its stream is gone
                waiter.loop.call_soon_threadsafe(waiter.event.set)

    # --- places -------------------------------------------------------------------------------

    def try_acquire(self) -> StreamSlot | None:
        with self._lock:
            if self.closing or self.active >= self.config.max_streams:
                return None
            self.active += 1
        return StreamSlot(self)

    def _release(self, slot: StreamSlot) -> None:
        with self._lock:
            if not slot.released:
                slot.released = True
                self.active -= 1

    # --- the newest id ------------------------------------------------------------------------

    @property
    def newest(self) -> int:
        return self._newest

    def _on_append(self, newest: int) -> None:
        """From the journal, in whichever thread appended: ids up to ``newest`` are committed."""
        self._advance(newest)

    def _advance(self, newest: int) -> None:
        with self._lock:
            if newest <= self._newest:
                return
            self._newest = newest
            waiters = list(self._waiters)
        for waiter in waiters:
            try:
                waiter.loop.call_soon_threadsafe(waiter.event.set)
            except RuntimeError:  # that loop is closed: its stream is gone
                with self._lock:
                    self._waiters.discard(waiter)

    async def _poll(self, loop: asyncio.AbstractEventLoop) -> None:
        """While streams are open on this loop: read the newest id every poll interval, so that
        what other processes journal reaches them too. One query per interval, not per stream."""
        try:
            while any(w.loop is loop for w in list(self._waiters)):
                value = await anyio.to_thread.run_sync(self._read_newest)
                self.polls += 1
                self._advance(value)
                await asyncio.sleep(self.config.poll_interval_s)
        finally:
            with self._lock:
                if self._pollers.get(loop) is asyncio.current_task():
                    del self._pollers[loop]

    def _read_newest(self) -> int:
        with self._uow_factory() as uow:
            return journal.newest_id(uow.connection)

    # --- for one stream -----------------------------------------------------------------------

    async def start(self, last_event_id: int | None, since: datetime | None) -> StreamStart:
        def resolve() -> StreamStart:
            with self._uow_factory() as uow:
                start = resolve_start(uow, last_event_id, since)
                newest = journal.newest_id(uow.connection)
            self._advance(newest)
            return start

        return await anyio.to_thread.run_sync(resolve)

    async def read(self, after_id: int, upto_id: int, flt: StreamFilter) -> Frames:
        """The framed events a filter lets through in ``(after_id, upto_id]``, oldest first.

        Streams with the same filter at the same position (every live operator screen after
        each change) share one query: the first asks, the others wait for its answer, and the
        answer is kept a little, since what a committed id range holds never changes.
        """
        key = (after_id, upto_id, flt)
        loop = asyncio.get_running_loop()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            task = self._reads.get((loop, key))
            if task is None:
                task = loop.create_task(self._read_into_cache(key))
                self._reads[(loop, key)] = task
        # Shielded: a client leaving does not cancel the read the other streams wait for.
        return await asyncio.shield(task)

    async def _read_into_cache(self, key: _ReadKey) -> Frames:
        after_id, upto_id, flt = key
        loop = asyncio.get_running_loop()

        def read() -> Frames:
            with self._uow_factory() as uow:
                events = read_events(uow, after_id, upto_id, flt, self.config.batch)
            return [(e.id, e.frame()) for e in events]

        try:
            frames = await anyio.to_thread.run_sync(read)
            self.reads += 1
            with self._lock:
                self._cache[key] = frames
                while len(self._cache) > READ_CACHE_SIZE:
                    self._cache.popitem(last=False)
            return frames
        finally:
            with self._lock:
                self._reads.pop((loop, key), None)

    def _add_waiter(self) -> _Waiter:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop)
        with self._lock:
            self._waiters.add(waiter)
            poller = self._pollers.get(loop)
            if poller is None or poller.done():
                self._pollers[loop] = loop.create_task(self._poll(loop))
        return waiter

    def _remove_waiter(self, waiter: _Waiter) -> None:
        with self._lock:
            self._waiters.discard(waiter)


def _guard(slot: StreamSlot, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    # An async generator that never started runs no finally clause: its collection frees the slot.
    weakref.finalize(stream, slot.release)
    return stream


def event_stream(
    hub: StreamHub,
    slot: StreamSlot,
    start: StreamStart,
    flt: StreamFilter,
    *,
    is_disconnected: Callable[[], Awaitable[bool]],
    max_events: int | None = None,
    timeout_s: float | None = None,
) -> AsyncIterator[bytes]:
    """The body of one SSE response: the retry hint, what was missed, then live events and
    heartbeats, until the client leaves, ``max_events`` were sent or the time is up."""
    return _guard(
        slot, _event_stream(hub, slot, start, flt, is_disconnected, max_events, timeout_s)
    )


async def _event_stream(
    hub: StreamHub,
    slot: StreamSlot,
    start: StreamStart,
    flt: StreamFilter,
    is_disconnected: Callable[[], Awaitable[bool]],
    max_events: int | None,
    timeout_s: float | None,
) -> AsyncIterator[bytes]:
    config = hub.config
    waiter = hub._add_waiter()
    loop = waiter.loop
    began = loop.time()
    lifetime = config.max_duration_s if timeout_s is None else min(timeout_s, config.max_duration_s)
    deadline = began + lifetime
    next_beat = began + config.heartbeat_s
    next_check = began + DISCONNECT_CHECK_S
    cursor = start.cursor
    sent = 0
    try:
        first = sse_retry(config.retry_ms)
        if start.gap is not None:
            first += sse_event(None, GAP, orjson.dumps(start.gap))
        yield first
        while True:
            # Clear before reading the newest id: a wake-up after this line is never lost.
            waiter.event.clear()
            newest = hub.newest
            while newest > cursor:
                frames = await hub.read(cursor, newest, flt)
                if frames:
                    if max_events is not None:
                        frames = frames[: max_events - sent]
                    sent += len(frames)
                    yield b"".join(frame for _, frame in frames)
                    next_beat = loop.time() + config.heartbeat_s
                    if max_events is not None and sent >= max_events:
                        return
                cursor = frames[-1][0] if len(frames) >= config.batch else newest
            now = loop.time()
            if now >= deadline or hub.closing:
                return
            if now >= next_beat:
                yield sse_comment("keep-alive")
                next_beat = now + config.heartbeat_s
            if now >= next_check:
                if await is_disconnected():
                    return
                next_check = now + DISCONNECT_CHECK_S
            # Woken by a new id (the poller or this process's journal), else by the clock.
            wait = min(next_check, next_beat, deadline) - now
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.0)):
                    await waiter.event.wait()
    finally:
        hub._remove_waiter(waiter)
        slot.release()
