"""Storage of the audit trail: the append-only ``audit_log`` and its one-row ``audit_head``.

``audit_log`` is refused UPDATE and DELETE by database triggers (created by migration 0002), so
even code with a bug in it cannot rewrite history; someone with enough privileges can drop the
triggers, which is what the hash chain is there to reveal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    cast,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from metropilot.audit.model import AuditHead, AuditRecord, parse_json
from metropilot.db.schema import JSONDocument, UTCDateTime, metadata

__all__ = [
    "PG_APPEND_LOCK",
    "AuditFilter",
    "audit_head",
    "audit_log",
    "count_entries",
    "guard_lifted",
    "insert_records",
    "iter_entries",
    "list_entries",
    "newest_entry",
    "read_head",
    "take_append_lock",
    "write_head",
]

PG_APPEND_LOCK = int.from_bytes(b"mp-audit", "big")
"""The PostgreSQL advisory lock every appender takes first, so the chain never forks."""

HEAD_ROW_ID = 1

audit_log = Table(
    "audit_log",
    metadata,
    # Ids are given by the appender (head + 1), never by a sequence: they are part of the hash.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_name", String(160), nullable=False),
    Column("actor_id", Integer),
    Column("organisation", String(63)),
    Column("sector", String(16)),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(128), nullable=False),
    Column("changes", JSONDocument, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Each filter's index ends with the id, so "newest first" pages are read straight off it.
    Index("ix_audit_log_actor_name_id", "actor_name", "id"),
    Index("ix_audit_log_organisation_id", "organisation", "id"),
    Index("ix_audit_log_action_id", "action", "id"),
    Index("ix_audit_log_object", "object_type", "object_id", "id"),
    Index("ix_audit_log_at", "at"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(f"id = {HEAD_ROW_ID}", name="single_row"),
)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None  # actor name
    organisation: str | None = None
    sector: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    before_id: int | None = None  # newest-first pages continue below this id
    after_id: int | None = None  # oldest-first exports continue above this id


def take_append_lock(conn: Connection) -> None:
    """Serialise appenders across transactions (PostgreSQL; a SQLite writer already holds
    the database's write lock, taken by ``BEGIN IMMEDIATE``)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(PG_APPEND_LOCK)))


def read_head(conn: Connection) -> AuditHead | None:
    row = conn.execute(
        select(audit_head.c.last_id, audit_head.c.last_hash, audit_head.c.updated_at).where(
            audit_head.c.id == HEAD_ROW_ID
        )
    ).first()
    return AuditHead(int(row[0]), str(row[1]), row[2]) if row else None


def newest_entry(conn: Connection) -> tuple[int, str] | None:
    """The id and hash of the entry with the highest id (read from the primary key)."""
    row = conn.execute(
        select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else None


def write_head(conn: Connection, last_id: int, last_hash: str, at: datetime) -> None:
    values = {"last_id": last_id, "last_hash": last_hash, "updated_at": at}
    done = conn.execute(update(audit_head).where(audit_head.c.id == HEAD_ROW_ID).values(values))
    if done.rowcount == 0:
        conn.execute(insert(audit_head).values(id=HEAD_ROW_ID, **values))


_INSERT_COLUMNS = (
    "id",
    "at",
    "actor_kind",
    "actor_name",
    "actor_id",
    "organisation",
    "sector",
    "action",
    "object_type",
    "object_id",
    "changes",
    "prev_hash",
    "hash",
)


def _unchanged(value: Any) -> Any:
    return value


def insert_records(conn: Connection, records: list[AuditRecord]) -> None:
    """Append sealed records in one ``executemany`` straight on the driver.

    A bulk import may bring 35,000 entries in one commit. Building each row's parameters
    through the Core ``insert`` costs more than hashing it; here only the two columns that need
    it go through their type's own bind processing (UTC time, JSON document), so what is
    stored is what the ``audit_log`` table's types would have stored.
    """
    if not records:
        return
    dialect = conn.dialect
    # The dialect's own implementation of each type: SQLite's DATETIME writes its fixed text
    # format (what range filters compare), PostgreSQL's variant of the JSON column is JSONB.
    at_bind = audit_log.c.at.type.dialect_impl(dialect).bind_processor(dialect) or _unchanged
    changes_bind = (
        audit_log.c.changes.type.dialect_impl(dialect).bind_processor(dialect) or _unchanged
    )
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    # Only this module's constant column names go into the text; values are parameters.
    sql = (
        f"INSERT INTO audit_log ({', '.join(_INSERT_COLUMNS)}) "  # noqa: S608
        f"VALUES ({', '.join([marker] * len(_INSERT_COLUMNS))})"
    )
    conn.exec_driver_sql(
        sql,
        [
            (
                r.id,
                at_bind(r.at),
                r.actor_kind,
                r.actor_name,
                r.actor_id,
                r.organisation,
                r.sector,
                r.action,
                r.object_type,
                r.object_id,
                changes_bind(r.changes),
                r.prev_hash,
                r.hash,
            )
            for r in records
        ],
    )


_COLUMNS = (
    audit_log.c.id,
    audit_log.c.at,
    audit_log.c.actor_kind,
    audit_log.c.actor_name,
    audit_log.c.actor_id,
    audit_log.c.organisation,
    audit_log.c.sector,
    audit_log.c.action,
    audit_log.c.object_type,
    audit_log.c.object_id,
    # As text, parsed by the canonical reader: the driver's own JSON decoding would turn the
    # same document into different numbers on SQLite and on PostgreSQL.
    cast(audit_log.c.changes, Text),
    audit_log.c.prev_hash,
    audit_log.c.hash,
)


def _to_record(row: Any) -> AuditRecord:
    # Positional: verification builds one of these for every entry of the trail.
    (
        entry_id,
        at,
        actor_kind,
        actor_name,
        actor_id,
        organisation,
        sector,
        action,
        object_type,
        object_id,
        changes,
        prev_hash,
        digest,
    ) = row
    return AuditRecord(
        entry_id,
        at,
        actor_kind,
        actor_name,
        actor_id,
        organisation,
        sector,
        action,
        object_type,
        object_id,
        parse_json(changes),
        prev_hash,
        digest,
    )


def _apply_filter(query: Select[Any], flt: AuditFilter) -> Select[Any]:
    c = audit_log.c
    if flt.actor is not None:
        query = query.where(c.actor_name == flt.actor)
    if flt.organisation is not None:
        query = query.where(c.organisation == flt.organisation)
    if flt.sector is not None:
        query = query.where(c.sector == flt.sector)
    if flt.action is not None:
        query = query.where(c.action == flt.action)
    if flt.object_type is not None:
        query = query.where(c.object_type == flt.object_type)
    if flt.object_id is not None:
        query = query.where(c.object_id == flt.object_id)
    if flt.since is not None:
        query = query.where(c.at >= flt.since)
    if flt.until is not None:
        query = query.where(c.at < flt.until)
    if flt.before_id is not None:
        query = query.where(c.id < flt.before_id)
    if flt.after_id is not None:
        query = query.where(c.id > flt.after_id)
    return query


def list_entries(conn: Connection, flt: AuditFilter, limit: int) -> list[AuditRecord]:
    """Matching entries, newest first."""
    query = _apply_filter(select(*_COLUMNS), flt).order_by(audit_log.c.id.desc()).limit(limit)
    return [_to_record(row) for row in conn.execute(query)]


def iter_entries(conn: Connection, flt: AuditFilter, chunk: int = 5000) -> Iterator[AuditRecord]:
    """Matching entries oldest first, fetched in chunks so memory stays flat on export."""
    after = flt.after_id
    while True:
        query = (
            _apply_filter(select(*_COLUMNS), replace(flt, after_id=after))
            .order_by(audit_log.c.id)
            .limit(chunk)
        )
        page = [_to_record(row) for row in conn.execute(query)]
        yield from page
        if len(page) < chunk:
            return
        after = page[-1].id


def count_entries(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


@contextmanager
def guard_lifted(conn: Connection) -> Iterator[None]:
    """Suspend the append-only triggers inside the caller's transaction, then restore them.

    The platform never calls this. It exists for test clean-up, which must empty every table,
    and to show in tests what an attacker with database privileges can do. On SQLite the
    triggers are dropped and recreated from their stored definition (DDL is transactional);
    on PostgreSQL they are disabled and re-enabled (needs the table's owner).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        try:
            yield
        finally:
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        return
    triggers = conn.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": "audit_log"},
    ).all()
    for name, _ in triggers:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    try:
        yield
    finally:
        for _, sql in triggers:
            conn.exec_driver_sql(sql)
