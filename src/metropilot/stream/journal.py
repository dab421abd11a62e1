"""The stream's journal: domain events appended to ``stream_events``, and the queries that read it.

The journal is the unit of work's event sink: each relevant event a transaction recorded (asset
status changes, alarm changes) is mapped to a ``JournalEntry`` by a small function registered per
event type (each context registers the mappers of its own events, in its ``wiring``; the stream
knows none of them) and appended in that same transaction, just before it commits — an outbox:
a change that committed is always journaled, one rolled back never is, and the stream sees it one
commit sooner than a separate write would allow. Every process that changes state journals its own
events (the API, the ``metropilot ingest`` worker), so the stream endpoint reads the table, never
process memory.

Ids are the order clients resume by. A reader remembers the highest id it has seen, so an id
must never become visible after a higher one: SQLite has one writer at a time; on PostgreSQL
appends take a transaction-level advisory lock, so ids commit in the order they are drawn.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from metropilot.shared.events import DomainEvent
from metropilot.shared.journal import AssetFacts, AssetFactsReader
from metropilot.shared.scope import Scope
from metropilot.stream.model import (
    JournalEntry,
    StreamEvent,
    event_payload,
)
from metropilot.stream.repository import stream_events

__all__ = [
    "AppendSignal",
    "Journal",
    "Mapper",
    "append",
    "delete_before",
    "first_id_at_or_after",
    "generic_mapper",
    "newest_id",
    "oldest_id",
    "read_after",
    "scope_clause",
    "signal_for",
]

log = logging.getLogger(__name__)

Mapper = Callable[[Any], JournalEntry | None]
# Serialises appends on PostgreSQL (see the module docstring); any constant unique to the table.
_PG_APPEND_LOCK = 0x4D50_5354_5245_414D  # "MPSTREAM"
sc = stream_events.c


# --- mapping domain events -------------------------------------------------------------------


def _first(event: object, *names: str) -> Any:
    for name in names:
        value = getattr(event, name, None)
        if value is not None:
            return value
    return None


def generic_mapper(stream_type: str) -> Mapper:
    """A mapping for any event exposing ``asset_id`` (or ``asset``), ``commune_insee`` (or
    ``commune``), ``kind`` and ``maintainer_id``: the scoping columns come from them, the
    payload is every field of the event (``asset_id`` shown as ``asset``, ``alarm_id`` as
    ``alarm``, ``commune_insee`` as ``commune``). Without ``maintainer_id`` the journal reads
    the maintainer of the asset from the registry."""

    def mapping(event: Any) -> JournalEntry:
        asset_id = _first(event, "asset_id", "asset")
        commune = _first(event, "commune_insee", "commune")
        kind = getattr(event, "kind", None)
        return JournalEntry(
            type=stream_type,
            at=event.occurred_at,
            payload=event_payload(event),
            asset_id=asset_id if isinstance(asset_id, int) else None,
            commune_insee=str(commune) if commune is not None else None,
            maintainer_id=getattr(event, "maintainer_id", None),
            kind=str(getattr(kind, "value", kind)) if kind is not None else None,
            maintainer_known=hasattr(event, "maintainer_id"),
        )

    return mapping


# --- queries ---------------------------------------------------------------------------------


def append(
    conn: Connection,
    entries: Sequence[JournalEntry],
    asset_facts: AssetFactsReader | None = None,
) -> list[int]:
    """Append entries in the caller's transaction; returns their ids, in order.

    An entry about an asset that does not say its commune, kind or (``maintainer_known`` False)
    its maintainer gets them from ``asset_facts``, the registry's reader the assets context
    registered, in this same transaction."""
    if not entries:
        return []
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_APPEND_LOCK})
    wanted = {
        e.asset_id
        for e in entries
        if e.asset_id is not None
        and (not e.maintainer_known or e.commune_insee is None or e.kind is None)
    }
    registry: dict[int, AssetFacts] = (
        asset_facts(conn, wanted) if asset_facts is not None and wanted else {}
    )
    ids: list[int] = []
    for entry in entries:
        commune, maintainer, kind = entry.commune_insee, entry.maintainer_id, entry.kind
        facts = registry.get(entry.asset_id) if entry.asset_id is not None else None
        if facts is not None:
            commune = commune or facts.commune_insee
            kind = kind or facts.kind
            if not entry.maintainer_known:
                maintainer = facts.maintainer_id
        row = {
            "at": entry.at,
            "type": entry.type,
            "asset_id": entry.asset_id,
            "commune_insee": commune,
            "maintainer_id": maintainer,
            "kind": kind,
            "payload": entry.payload,
        }
        ids.append(int(conn.execute(insert(stream_events).returning(sc.id), row).scalar_one()))
    return ids


def newest_id(conn: Connection) -> int:
    """The highest id in the journal (0 when empty): an index lookup."""
    return int(conn.execute(select(func.max(sc.id))).scalar_one() or 0)


def oldest_id(conn: Connection) -> int | None:
    value = conn.execute(select(func.min(sc.id))).scalar_one()
    return int(value) if value is not None else None


def first_id_at_or_after(conn: Connection, at: Any) -> int | None:
    """The first id journaled at or after a time (served by ``ix_stream_events_at``)."""
    value = conn.execute(select(func.min(sc.id)).where(sc.at >= at)).scalar_one()
    return int(value) if value is not None else None


_SCOPE_DIMENSIONS = frozenset({"communes", "maintainer_ids", "kinds", "any_of"})


def scope_clause(scope: Scope) -> ColumnElement[bool]:
    """The caller's scope over the journal's scoping columns (as ``assets.repository`` does
    over the registry's). An event without a commune, maintainer or kind is outside every
    restricted scope."""
    for dimension in dataclasses.fields(scope):
        if dimension.name not in _SCOPE_DIMENSIONS and getattr(scope, dimension.name) is not None:
            # Fail closed: a restriction the stream does not know must not be dropped silently.
            raise RuntimeError(
                f"the stream journal has no column for scope.{dimension.name}: refusing rather "
                "than showing this caller more than its scope"
            )
    parts: list[ColumnElement[bool]] = []
    if scope.communes is not None:
        parts.append(sc.commune_insee.in_(scope.communes))
    if scope.maintainer_ids is not None:
        parts.append(sc.maintainer_id.in_(scope.maintainer_ids))
    if scope.kinds is not None:
        parts.append(sc.kind.in_(scope.kinds))
    if scope.any_of is not None:
        parts.append(or_(false(), *(scope_clause(alt) for alt in scope.any_of)))
    return and_(true(), *parts)


def read_after(
    conn: Connection,
    after_id: int,
    upto_id: int,
    scope: Scope,
    *,
    types: Sequence[str] | None = None,
    communes: Sequence[str] | None = None,
    limit: int = 500,
) -> list[StreamEvent]:
    """The events a caller may see with ``after_id < id <= upto_id``, oldest first.

    The scope is in the WHERE clause; the id range is a primary-key range scan, so a poll that
    finds nothing new costs an index probe.
    """
    query = (
        select(sc.id, sc.at, sc.type, sc.payload)
        .where(sc.id > after_id, sc.id <= upto_id, scope_clause(scope))
        .order_by(sc.id)
        .limit(limit)
    )
    if communes is not None:
        query = query.where(sc.commune_insee.in_(communes))
    if types is not None:
        query = query.where(sc.type.in_(types))
    return [StreamEvent(int(r[0]), r[1], str(r[2]), dict(r[3])) for r in conn.execute(query)]


def delete_before(conn: Connection, before: Any) -> int:
    """Delete what was journaled before a time, always keeping the newest entry: SQLite numbers
    a new row after the highest remaining one, so an emptied table would hand out ids again that
    clients already hold."""
    newest = select(func.max(sc.id)).scalar_subquery()
    result = conn.execute(delete(stream_events).where(sc.at < before, sc.id < newest))
    return int(result.rowcount or 0)


# --- telling this process's streams at once ----------------------------------------------------


class AppendSignal:
    """Calls its listeners with the newest id after an append committed in this process.

    Listeners are held weakly (bound methods through ``WeakMethod``), so an application that
    goes away stops listening without saying so.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[weakref.WeakMethod[Callable[[int], None]]] = []

    def listen(self, listener: Callable[[int], None]) -> None:
        with self._lock:
            self._listeners.append(weakref.WeakMethod(listener))

    def fire(self, newest: int) -> None:
        with self._lock:
            self._listeners = [ref for ref in self._listeners if ref() is not None]
            listeners = [ref() for ref in self._listeners]
        for listener in listeners:
            if listener is None:
                continue
            try:
                listener(newest)
            except Exception:
                log.exception("stream listener %r failed", listener)


_signals: weakref.WeakKeyDictionary[Engine, AppendSignal] = weakref.WeakKeyDictionary()
_signals_lock = threading.Lock()


def signal_for(engine: Engine) -> AppendSignal:
    """The signal of one database: appends to another database never wake these streams."""
    with _signals_lock:
        found = _signals.get(engine)
        if found is None:
            found = _signals[engine] = AppendSignal()
        return found


# --- the bus subscriber ----------------------------------------------------------------------


class Journal:
    """Maps the events it has a mapping for to journal entries, in the transaction that made them.

    Give ``sink`` to the unit-of-work factory as its ``event_sink``. A detached journal keeps
    nothing (``detach``/``attach``).
    """

    def __init__(self, asset_facts: AssetFactsReader | None = None) -> None:
        self._mappers: dict[type[DomainEvent], Mapper] = {}
        self._attached = True
        self._lock = threading.Lock()
        self.asset_facts = asset_facts

    @property
    def event_types(self) -> tuple[type[DomainEvent], ...]:
        return tuple(self._mappers)

    def register(self, event_type: type[DomainEvent], mapper: Mapper) -> None:
        """Journal this event type through ``mapper`` (returning None skips an event)."""
        with self._lock:
            self._mappers = {**self._mappers, event_type: mapper}

    def attach(self) -> Journal:
        self._attached = True
        return self

    def detach(self) -> None:
        self._attached = False

    def _most_specific(self, event: DomainEvent) -> type[DomainEvent] | None:
        mappers = self._mappers
        return next((t for t in type(event).__mro__ if t in mappers), None)

    def entry_for(self, event: DomainEvent) -> JournalEntry | None:
        event_type = self._most_specific(event)
        return None if event_type is None else self._mappers[event_type](event)

    def sink(self, conn: Connection, events: list[DomainEvent]) -> Callable[[], None] | None:
        """Append the entries of ``events`` in the caller's transaction; returns what wakes
        this process's streams once it has committed."""
        if not self._attached:
            return None
        entries = []
        for event in events:
            try:
                entry = self.entry_for(event)
            except Exception:  # a mapping bug must not undo the change it describes
                log.exception("cannot journal %s", type(event).__name__)
                continue
            if entry is not None:
                entries.append(entry)
        if not entries:
            return None
        newest = max(append(conn, entries, self.asset_facts))
        signal = signal_for(conn.engine)
        return lambda: signal.fire(newest)
