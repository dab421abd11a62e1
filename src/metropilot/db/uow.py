"""The unit of work: one database transaction, the audit entries and the domain events it made.

Services receive a unit of work, read and write through it, put audit entries and events on it,
and the caller commits. Audit entries are written by the audit sink inside the transaction, just
before it commits; so are the events the event sink keeps (the live stream's journal: an outbox,
so what was committed is always journaled and nothing else is). Events are published on the
in-process bus only after the commit succeeded.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy import Connection, Engine

from metropilot.shared.audit import AuditEntry
from metropilot.shared.events import DomainEvent, MessageBus, bus

__all__ = ["AuditSink", "EventSink", "UnitOfWork", "UnitOfWorkFactory"]

AuditSink = Callable[[Connection, list[AuditEntry]], None]
# Writes what it keeps of the events in the transaction; may return what to do once committed.
EventSink = Callable[[Connection, list[DomainEvent]], Callable[[], None] | None]


class WriterQueue:
    """The queue of a process's SQLite writers: one at a time, in order.

    Re-entrant for the thread that holds it (an event handler may write in the same thread once
    the outer write has committed), and released by whichever thread ends the unit of work: the
    web framework enters a request's unit of work in one worker thread and may leave it in
    another, which a `threading.RLock` refuses (it raised, and the queue stayed held for good).
    """

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._holder: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._turn:
            while self._depth and self._holder != me:
                self._turn.wait()
            self._holder = me
            self._depth += 1

    def release(self) -> None:
        with self._turn:
            if not self._depth:
                raise RuntimeError("the writer queue is not held")
            self._depth -= 1
            if not self._depth:
                self._holder = None
                self._turn.notify()


_writer_queues: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()
_writer_queues_lock = threading.Lock()


def _writer_queue(engine: Engine) -> WriterQueue:
    with _writer_queues_lock:
        found = _writer_queues.get(engine)
        if found is None:
            found = _writer_queues[engine] = WriterQueue()
        return found


class UnitOfWork:
    def __init__(
        self,
        engine: Engine,
        message_bus: MessageBus = bus,
        *,
        audit_sink: AuditSink | None = None,
        event_sink: EventSink | None = None,
        write: bool = False,
    ) -> None:
        self.engine = engine
        self._bus = message_bus
        self._audit_sink = audit_sink
        self._event_sink = event_sink
        self._write = write
        self._connection: Connection | None = None
        self._events: list[DomainEvent] = []
        self._audit: list[AuditEntry] = []
        self._queued: WriterQueue | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside its 'with' block")
        return self._connection

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __enter__(self) -> Self:
        self._queued = None
        if self._write and self.engine.dialect.name == "sqlite":
            # SQLite has one writer. Writers of this process queue here, in order, rather than
            # in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) between
            # tries: eight concurrent writers made a 20 ms write wait 800 ms. Re-entrant: an
            # event handler may write in the same thread once the outer write has committed.
            self._queued = _writer_queue(self.engine)
            self._queued.acquire()
        try:
            connection = self.engine.connect()
            if self._write:
                # A SQLite writer takes the write lock up front: writers of other processes
                # then queue on the busy timeout instead of one failing when it upgrades a
                # read lock mid-transaction.
                connection = connection.execution_options(sqlite_begin="IMMEDIATE")
            self._connection = connection
            connection.begin()
        except BaseException:
            if self._queued is not None:
                self._queued.release()
                self._queued = None
            raise
        self._events = []
        self._audit = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._connection is not None
        try:
            if self._connection.in_transaction():
                self._connection.rollback()
        finally:
            self._connection.close()
            self._connection = None
            if self._queued is not None:
                self._queued.release()
                self._queued = None

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def audit(self, entry: AuditEntry) -> None:
        self._audit.append(entry)

    def audit_many(self, entries: list[AuditEntry]) -> None:
        self._audit.extend(entries)

    def commit(self) -> None:
        if self._audit:
            if self._audit_sink is None:
                raise RuntimeError("audit entries recorded on a unit of work without an audit sink")
            self._audit_sink(self.connection, self._audit)
            self._audit = []
        after_commit = None
        if self._events and self._event_sink is not None:
            after_commit = self._event_sink(self.connection, self._events)
        self.connection.commit()
        published, self._events = self._events, []
        if after_commit is not None:
            after_commit()
        for event in published:
            self._bus.publish(event)
        self.connection.begin()

    def rollback(self) -> None:
        self.connection.rollback()
        self._events = []
        self._audit = []
        self.connection.begin()


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work; ``write=True`` for one that will change state."""

    def __call__(self, *, write: bool = False) -> UnitOfWork: ...
