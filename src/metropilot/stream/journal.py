"""The stream's journal: domain events appended to ``stream_events``, and the queries that read it.

The journal is the unit of work's event sink: each relevant event a transaction recorded (asset
status changes, alarm changes) is mapped to a ``JournalEntry`` by a small function registered per
event type and appended in that same transaction, just before it commits — an outbox: a change
that committed is always journaled, one rolled back never is, and the stream sees it one commit
sooner than a separate write would allow. Every process that changes state journals its own
events (the API, the ``metropilot ingest`` worker), so the stream endpoint reads the table, never
process memory.

Ids are the order clients resume by. A reader remembers the highest id it has seen, so an id
must never become visible after a higher one: SQLite has one writer at a time; on PostgreSQL
appends take a transaction-level advisory lock, so ids commit in the order they are drawn.
"""

from __future__ import annotations

import dataclasses
import importlib
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

from metropilot.assets.repository import assets
from metropilot.assets.services import AssetStatusChanged
from metropilot.shared.events import DomainEvent
from metropilot.shared.scope import Scope
from metropilot.stream.model import (
    ALARM_ACKNOWLEDGED,
    ALARM_CLEARED,
    ALARM_ESCALATED,
    ALARM_RAISED,
    ASSET_STATUS,
    CASE_OPENED,
    CASE_ROUTED,
    CASE_TRIAGED,
    REPORT_SUBMITTED,
    WORK_ORDER_CHANGED,
    WORK_ORDER_SLA,
    JournalEntry,
    StreamEvent,
    event_payload,
)
from metropilot.stream.repository import stream_events

__all__ = [
    "ALARM_EVENT_TYPES",
    "AppendSignal",
    "Journal",
    "Mapper",
    "append",
    "asset_status_entry",
    "default_journal",
    "delete_before",
    "first_id_at_or_after",
    "generic_mapper",
    "newest_id",
    "oldest_id",
    "read_after",
    "register_alarm_events",
    "register_case_events",
    "register_work_order_and_report_events",
    "scope_clause",
    "signal_for",
]

log = logging.getLogger(__name__)

Mapper = Callable[[Any], JournalEntry | None]
# Serialises appends on PostgreSQL (see the module docstring); any constant unique to the table.
_PG_APPEND_LOCK = 0x4D50_5354_5245_414D  # "MPSTREAM"
# The alarms context's events, by class name, and the stream type each becomes.
ALARM_EVENT_TYPES = {
    "AlarmRaised": ALARM_RAISED,
    "AlarmAcknowledged": ALARM_ACKNOWLEDGED,
    "AlarmCleared": ALARM_CLEARED,
    "AlarmEscalated": ALARM_ESCALATED,
}
# The cases context's events, by class name, and the stream type each becomes.
CASE_EVENT_TYPES = {
    "CaseOpened": CASE_OPENED,
    "CaseRouted": CASE_ROUTED,
    "CaseTriaged": CASE_TRIAGED,
    "WorkOrderSlaAlert": WORK_ORDER_SLA,
}
CASES_MODULES = ("metropilot.cases.model",)
# A work order's steps, by class name, and the step each names on the stream.
WORK_ORDER_STEPS = {
    "WorkOrderDispatched": "dispatched",
    "WorkOrderAccepted": "accepted",
    "WorkOrderRefused": "refused",
    "WorkOrderStateChanged": "moved",
    "WorkOrderCompleted": "done",
    "WorkOrderVerified": "verified",
    "WorkOrderRejected": "rejected",
    "WorkOrderCancelled": "cancelled",
}
REPORTS_MODULES = ("metropilot.reports.model",)
# Where the alarms context's events may be defined, looked up in this order.
ALARMS_MODULES = ("metropilot.alarms.services", "metropilot.alarms.model")
sc = stream_events.c


# --- mapping domain events -------------------------------------------------------------------


def asset_status_entry(event: AssetStatusChanged) -> JournalEntry:
    return JournalEntry(
        type=ASSET_STATUS,
        at=event.occurred_at,
        payload={
            "asset": event.asset_id,
            "commune": event.commune_insee,
            "kind": event.kind,
            "status": event.after,
            "previous_status": event.before,
        },
        asset_id=event.asset_id,
        commune_insee=event.commune_insee,
        kind=event.kind,
        maintainer_known=False,  # the event does not say; the journal reads the registry
    )


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


def append(conn: Connection, entries: Sequence[JournalEntry]) -> list[int]:
    """Append entries in the caller's transaction; returns their ids, in order."""
    if not entries:
        return []
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_APPEND_LOCK})
    registry = _registry_facts(conn, {e.asset_id for e in entries if e.asset_id is not None})
    ids: list[int] = []
    for entry in entries:
        commune, maintainer, kind = entry.commune_insee, entry.maintainer_id, entry.kind
        facts = registry.get(entry.asset_id) if entry.asset_id is not None else None
        if facts is not None:
            commune = commune or facts[0]
            kind = kind or facts[2]
            if not entry.maintainer_known:
                maintainer = facts[1]
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


def _registry_facts(
    conn: Connection, asset_ids: set[int]
) -> dict[int, tuple[str, int | None, str]]:
    if not asset_ids:
        return {}
    a = assets.c
    rows = conn.execute(
        select(a.id, a.commune_insee, a.maintainer_id, a.kind).where(a.id.in_(asset_ids))
    )
    return {int(r[0]): (str(r[1]), r[2], str(r[3])) for r in rows}


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

    def __init__(self) -> None:
        self._mappers: dict[type[DomainEvent], Mapper] = {}
        self._attached = True
        self._lock = threading.Lock()

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
        newest = max(append(conn, entries))
        signal = signal_for(conn.engine)
        return lambda: signal.fire(newest)


def register_alarm_events(journal: Journal, modules: Sequence[str] = ALARMS_MODULES) -> int:
    """Journal the alarms context's events, if it exists; returns how many types were added.

    Looked up by name in the first of ``modules`` that defines them, so that the stream works
    before and without the alarms context; each event is mapped by ``generic_mapper`` (alarm
    id, asset id, commune, kind, maintainer id, rule, severity come through as they are).
    """
    added = 0
    for class_name, stream_type in ALARM_EVENT_TYPES.items():
        event_type = _find_event_type(modules, class_name)
        if event_type is not None:
            journal.register(event_type, generic_mapper(stream_type))
            added += 1
    return added


def register_case_events(journal: Journal, modules: Sequence[str] = CASES_MODULES) -> int:
    """Journal the cases context's events (opened, routed, triaged), looked up by name like
    the alarms'; scoped by the case's asset and commune."""
    added = 0
    for class_name, stream_type in CASE_EVENT_TYPES.items():
        event_type = _find_event_type(modules, class_name)
        if event_type is not None:
            journal.register(event_type, generic_mapper(stream_type))
            added += 1
    return added


def work_order_mapper(step: str) -> Mapper:
    """A work order's step, without who acted or their note (those are in the case's timeline
    for those who may read it): the order, its case, the states, the team."""

    def mapping(event: Any) -> JournalEntry:
        return JournalEntry(
            type=WORK_ORDER_CHANGED,
            at=event.occurred_at,
            payload={
                "work_order": event.work_order_id,
                "case": event.case_id,
                "step": step,
                "state": event.state,
                "case_state": event.case_state,
                "category": event.category,
                "priority": event.priority,
                "team": event.team,
                "organisation": event.organisation,
                "asset": event.asset_id,
                "commune": event.commune_insee,
                "kind": event.kind,
            },
            asset_id=event.asset_id,
            commune_insee=event.commune_insee,
            maintainer_id=event.organisation_id,
            kind=event.kind,
            maintainer_known=event.organisation_id is not None,
        )

    return mapping


def report_submitted_entry(event: Any) -> JournalEntry:
    """A new citizen report: its number, category, commune and equipment, nothing about the
    citizen. For the command post and the commune (not for contractors: they never read
    citizens' reports, so the maintainer is left out on purpose)."""
    return JournalEntry(
        type=REPORT_SUBMITTED,
        at=event.occurred_at,
        payload={
            "report": event.report_id,
            "category": event.category_code,
            "priority": event.priority,
            "asset": event.asset_id,
            "commune": event.commune_insee,
        },
        asset_id=event.asset_id,
        commune_insee=event.commune_insee,
        maintainer_id=None,
        maintainer_known=True,
    )


def register_work_order_and_report_events(journal: Journal) -> int:
    """Journal the work orders' steps and new citizen reports, looked up by name."""
    added = 0
    for class_name, step in WORK_ORDER_STEPS.items():
        event_type = _find_event_type(CASES_MODULES, class_name)
        if event_type is not None:
            journal.register(event_type, work_order_mapper(step))
            added += 1
    submitted = _find_event_type(REPORTS_MODULES, "ReportSubmitted")
    if submitted is not None:
        journal.register(submitted, report_submitted_entry)
        added += 1
    return added


def _find_event_type(modules: Sequence[str], class_name: str) -> type[DomainEvent] | None:
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that module does not exist (yet); a broken import inside it raises
            raise
        found = getattr(module, class_name, None)
        if isinstance(found, type) and issubclass(found, DomainEvent):
            return found
    return None


def default_journal() -> Journal:
    """The journal of asset status changes and, when the alarms context exists, alarm changes."""
    journal = Journal()
    journal.register(AssetStatusChanged, asset_status_entry)
    register_alarm_events(journal)
    register_case_events(journal)
    register_work_order_and_report_events(journal)
    return journal
