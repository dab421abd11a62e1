"""The unit of work: one database transaction, the audit entries and the domain events it made.

Services receive a unit of work, read and write through it, put audit entries and events on it,
and the caller commits. Audit entries are written by the audit sink inside the transaction, just
before it commits; so are the events the event sink keeps (the live stream's journal: an outbox,
so what was committed is always journaled and nothing else is). Events are published on the
in-process bus only after the commit succeeded.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy import Connection, Engine

from metropilot.shared.audit import AuditEntry
from metropilot.shared.errors import DomainError
from metropilot.shared.events import DomainEvent, MessageBus, bus

__all__ = [
    "AuditSink",
    "BlockingOnEventLoop",
    "DatabaseBusy",
    "EventSink",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "WriterQueue",
    "mark_serving_loop",
    "refuse_on_event_loop",
    "writer_queue",
]

AuditSink = Callable[[Connection, list[AuditEntry]], None]
# Writes what it keeps of the events in the transaction; may return what to do once committed.
EventSink = Callable[[Connection, list[DomainEvent]], Callable[[], None] | None]


class DatabaseBusy(DomainError):
    """The database stayed busy with other writers longer than a caller should wait."""

    code = "database_busy"
    http_status = 503


class BlockingOnEventLoop(RuntimeError):
    """Database work was started on the thread of an event loop that serves requests.

    Every request of the server shares that thread: a query there stalls them all, and waiting
    there for the writers' queue can wait for ever (the writer that holds it may need the loop to
    finish). Such work belongs in a worker thread (a plain ``def`` route, ``run_in_threadpool``).
    """


# The event loops that serve requests (the web application marks its loop on every request).
_serving_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def mark_serving_loop() -> None:
    """Record that the running event loop serves requests: no database work may begin on it."""
    loop = asyncio.get_running_loop()
    if loop not in _serving_loops:
        _serving_loops.add(loop)


def refuse_on_event_loop() -> None:
    """Raise `BlockingOnEventLoop` when called on the thread of an event loop serving requests.

    Other event loops (a browser driver's in the tests, say) are not the server's business."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop runs on this thread: a worker thread, the CLI, a background loop
    if loop in _serving_loops:
        raise BlockingOnEventLoop(
            "database work on the event loop's thread: run it in a worker thread"
        )


class WriterQueue:
    """The queue of a process's SQLite writers: one write transaction at a time, first come,
    first served, each handed the turn by the one before.

    Held for one transaction, from its first statement to its commit or rollback, never across
    event handlers; released by whichever thread ends the transaction (a request's unit of work
    may be left in another worker thread than the one that used it). A waiter gives up after
    ``timeout`` seconds rather than waiting for ever.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Event] = deque()

    def acquire(self, timeout: float | None = None) -> bool:
        """Take the turn; False when ``timeout`` seconds passed first."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed the turn just as the wait ended
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if not self._held:
                raise RuntimeError("the writer queue is not held")
            if self._waiting:
                self._waiting.popleft().set()  # the turn passes on; the queue stays held
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        """Writers waiting for their turn now (for tests and metrics)."""
        return len(self._waiting)


_writer_queues: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()
_writer_queues_lock = threading.Lock()

# As long as SQLite's own busy timeout (db.engine): a writer that waited this long for the others
# gives up with DatabaseBusy rather than hold its caller for ever.
WRITER_WAIT_S = 30.0


def writer_queue(engine: Engine) -> WriterQueue:
    with _writer_queues_lock:
        found = _writer_queues.get(engine)
        if found is None:
            found = _writer_queues[engine] = WriterQueue()
        return found


class UnitOfWork:
    """One piece of work on the database: transactions opened on first use, each ending with
    `commit` or `rollback`, the audit entries and the events they made.

    Entering the ``with`` block does no I/O: the connection is taken and the transaction begun
    by the first use of `connection`, in whichever thread that is. A write transaction on SQLite
    holds this process's writer queue from that first use until it commits or rolls back; the
    bus's handlers run after that, so they may write in turn. A use after a commit begins the
    next transaction.
    """

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
        self._entered = False
        self._connection: Connection | None = None
        self._in_transaction = False
        self._events: list[DomainEvent] = []
        self._audit: list[AuditEntry] = []
        self._queued: WriterQueue | None = None

    @property
    def connection(self) -> Connection:
        if not self._in_transaction:
            self._begin()
        assert self._connection is not None
        return self._connection

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    def __enter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a unit of work is entered once")
        self._entered = True
        self._events = []
        self._audit = []
        return self

    def _begin(self) -> None:
        if not self._entered:
            raise RuntimeError("unit of work used outside its 'with' block")
        refuse_on_event_loop()
        if self._write and self.engine.dialect.name == "sqlite":
            # SQLite has one writer. Writers of this process queue here, in order, rather than
            # in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) between
            # tries: eight concurrent writers made a 20 ms write wait 800 ms.
            queue = writer_queue(self.engine)
            if not queue.acquire(WRITER_WAIT_S):
                raise DatabaseBusy(
                    f"the database stayed busy with other changes for {WRITER_WAIT_S:.0f} s; "
                    "try again"
                )
            self._queued = queue
        try:
            if self._connection is None:
                connection = self.engine.connect()
                if self._write:
                    # A SQLite writer takes the write lock up front: writers of other processes
                    # then queue on the busy timeout instead of one failing when it upgrades a
                    # read lock mid-transaction.
                    connection = connection.execution_options(sqlite_begin="IMMEDIATE")
                self._connection = connection
            self._connection.begin()
        except BaseException:
            self._release_queue()
            raise
        self._in_transaction = True

    def _release_queue(self) -> None:
        if self._queued is not None:
            self._queued.release()
            self._queued = None

    def _end_transaction(self, *, commit: bool) -> None:
        connection = self._connection
        assert connection is not None
        try:
            if commit:
                connection.commit()
            elif connection.in_transaction():
                connection.rollback()
        finally:
            self._in_transaction = False
            self._release_queue()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered = False
        connection, self._connection = self._connection, None
        try:
            if connection is not None and (self._in_transaction or connection.in_transaction()):
                connection.rollback()
        finally:
            self._in_transaction = False
            self._events = []
            self._audit = []
            try:
                if connection is not None:
                    connection.close()
            finally:
                self._release_queue()

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def audit(self, entry: AuditEntry) -> None:
        self._audit.append(entry)

    def audit_many(self, entries: list[AuditEntry]) -> None:
        self._audit.extend(entries)

    def commit(self) -> None:
        """Commit what this transaction did, its audit entries and its events together; then
        publish the events. Nothing to commit costs nothing."""
        if not self._in_transaction and not self._audit and not self._events:
            return
        if self._audit:
            if self._audit_sink is None:
                raise RuntimeError("audit entries recorded on a unit of work without an audit sink")
            self._audit_sink(self.connection, self._audit)
            self._audit = []
        after_commit = None
        if self._events and self._event_sink is not None:
            after_commit = self._event_sink(self.connection, self._events)
        self._end_transaction(commit=True)
        published, self._events = self._events, []
        if after_commit is not None:
            after_commit()
        for event in published:
            self._bus.publish(event)

    def rollback(self) -> None:
        self._events = []
        self._audit = []
        if self._in_transaction:
            self._end_transaction(commit=False)


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work; ``write=True`` for one that will change state."""

    def __call__(self, *, write: bool = False) -> UnitOfWork: ...
