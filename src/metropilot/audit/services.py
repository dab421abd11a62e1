"""Audit trail use cases: append (the unit of work's sink), verify, read, export.

Nothing but ``append_entries`` ever writes the trail, and it runs inside the transaction of the
change it records, just before the commit: the change and its record commit or roll back
together, and no one can write a change the trail does not hold.
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import orjson
from sqlalchemy.engine import Connection

from metropilot.audit import repository
from metropilot.audit.model import (
    GENESIS_HASH,
    SECTORS,
    AuditHead,
    AuditRecord,
    ChainVerifier,
    VerifyReport,
    canonical_json,
    canonical_time,
    is_stored_form,
    parse_instant,
    seal,
    stored_form,
)
from metropilot.audit.repository import AuditFilter
from metropilot.db.uow import UnitOfWork
from metropilot.shared.audit import AuditEntry
from metropilot.shared.bounds import check_instant
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput

__all__ = [
    "CSV_COLUMNS",
    "AuditFilter",
    "VerifyReport",
    "append_entries",
    "csv_chunks",
    "head",
    "iter_entries",
    "list_entries",
    "make_filter",
    "verify",
]

Progress = Callable[[str, int, int], None]
VERIFY_CHUNK = 5000
CSV_COLUMNS = (
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


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"an audit entry's changes must be JSON values, got {type(value).__name__}")


def _as_stored(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    """Each entry's changes exactly as a verification will read them back from the database.

    Most are already (``is_stored_form``). The others go through the engine's JSON serialiser
    (orjson) and ``stored_form``, in one call for the batch: datetimes become the strings orjson
    writes, enums their values, tuples lists, non-string keys strings, NaN null, huge floats
    the integers PostgreSQL would return. The hash then covers what is stored, not what the
    service happened to hand over.
    """
    stored = [entry.changes if is_stored_form(entry.changes) else None for entry in entries]
    pending = [i for i, changes in enumerate(stored) if changes is None]
    if not pending:
        return cast(list[dict[str, Any]], stored)
    batch = [entries[i].changes for i in pending]
    try:
        text = orjson.dumps(batch, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # orjson.JSONEncodeError: name the culprit, then fail the transaction
        for entry in entries:
            try:
                orjson.dumps(entry.changes, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
            except TypeError as exc:
                raise TypeError(
                    f"audit entry {entry.action} {entry.object_type} {entry.object_id}: its "
                    f"changes must be JSON values ({exc})"
                ) from None
        raise
    for i, changes in zip(pending, stored_form(text), strict=True):
        stored[i] = changes
    return cast(list[dict[str, Any]], stored)


@contextmanager
def _collector_paused(size: int) -> Iterator[None]:
    """Pause the cyclic garbage collector while sealing a large batch.

    Sealing 35,000 entries allocates about a million small objects, none in a reference cycle;
    the collector would otherwise rescan the growing heap many times (a quarter of the append
    time, measured). It is switched back on afterwards only if it was on.
    """
    if size < 1000 or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def append_entries(connection: Connection, entries: list[AuditEntry]) -> None:
    """The unit of work's audit sink: chain and append ``entries`` in the caller's transaction.

    Appenders are serialised so the chain never forks: on PostgreSQL by a transaction-scoped
    advisory lock taken before the head is read; on SQLite by the database's single write lock,
    which a writing unit of work takes at BEGIN IMMEDIATE (and which a deferred transaction
    cannot obtain over a stale snapshot). Ids come from the head, so even without the lock two
    forks would collide on the primary key rather than both commit.

    The next entry always links to the head, not to whatever the table's newest row is: if the
    newest entries were deleted, the gap stays visible to ``verify`` after later appends.
    """
    if not entries:
        return
    repository.take_append_lock(connection)
    current = repository.read_head(connection)
    newest = repository.newest_entry(connection)
    last_id = max(current.last_id if current else 0, newest[0] if newest else 0)
    # Without a head row (a fresh database, or a deleted head) the newest entry is the tip.
    tip = current.last_hash if current else (newest[1] if newest else GENESIS_HASH)
    with _collector_paused(len(entries)):
        records = seal(entries, _as_stored(entries), first_id=last_id + 1, prev_hash=tip)
        repository.insert_records(connection, records)
    repository.write_head(connection, records[-1].id, records[-1].hash, utcnow())


def head(uow: UnitOfWork) -> AuditHead | None:
    """The newest entry's id and hash, for publishing outside the database."""
    return repository.read_head(uow.connection)


def verify(
    uow: UnitOfWork,
    *,
    anchors: Mapping[int, str] | None = None,
    progress: Progress | None = None,
    chunk: int = VERIFY_CHUNK,
) -> VerifyReport:
    """Recompute the whole chain in id order, a chunk at a time, and compare with the head.

    Stops at the first problem, which names the entry (and for a broken link, both neighbours);
    ``anchors`` are heads published earlier (``{id: hash}``) that the trail must still contain.
    Appends may commit while a long verification runs (PostgreSQL reads each chunk at READ
    COMMITTED): when the head has moved past the last entry read, the entries appended since are
    read and checked too, so only entries that are really gone are reported missing.
    """
    conn = uow.connection
    total = repository.count_entries(conn) if progress else 0
    verifier = ChainVerifier(anchors)
    done = 0
    stage = "Verifying audit trail"
    if progress:
        progress(stage, 0, total)
    after: int | None = None
    while True:
        for record in repository.iter_entries(conn, AuditFilter(after_id=after), chunk):
            done += 1
            if verifier.feed(record) is not None:
                break
            if progress and done % chunk == 0:
                progress(stage, done, max(total, done))
        current = repository.read_head(conn)
        last = verifier.report.last_id
        caught_up = verifier.failed or current is None or last is None or current.last_id <= last
        if caught_up or last == after:
            break
        after = last
    if progress:
        progress(stage, done, max(total, done))
    return verifier.finish(current)


def _instant(value: str | datetime | None, name: str) -> datetime | None:
    if isinstance(value, datetime):
        return check_instant(value, name)
    text = value.strip() if value is not None else None
    return parse_instant(text, name) if text else None


def make_filter(
    *,
    actor: str | None = None,
    organisation: str | None = None,
    sector: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
) -> AuditFilter:
    """The filters of the list and export, from query text, with a precise error for each."""

    def given(value: str | None) -> str | None:
        value = value.strip() if value is not None else None
        return value or None

    sector = given(sector)
    if sector is not None and sector not in SECTORS:
        raise InvalidInput(
            f"sector: must be {' or '.join(SECTORS)}, got {sector!r}", code="invalid_sector"
        )
    start = _instant(since, "from")
    end = _instant(until, "to")
    if start is not None and end is not None and end <= start:
        raise InvalidInput(
            f"to ({end.isoformat()}) must be later than from ({start.isoformat()})",
            code="invalid_period",
        )
    return AuditFilter(
        actor=given(actor),
        organisation=given(organisation),
        sector=sector,
        action=given(action),
        object_type=given(object_type),
        object_id=given(object_id),
        since=start,
        until=end,
    )


def list_entries(
    uow: UnitOfWork, flt: AuditFilter, limit: int
) -> tuple[list[AuditRecord], int | None]:
    """One page of entries, newest first, and the id to continue below (None on the last page)."""
    rows = repository.list_entries(uow.connection, flt, limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def iter_entries(uow: UnitOfWork, flt: AuditFilter) -> Iterator[AuditRecord]:
    """Every matching entry, oldest first, streamed in chunks."""
    return repository.iter_entries(uow.connection, flt)


def csv_chunks(records: Iterator[AuditRecord], rows_per_chunk: int = 1000) -> Iterator[str]:
    """CSV text in pieces: a header, then one row per entry with its changes as canonical JSON.

    The changes column is exactly the JSON the hash covers, so anyone holding the export can
    recompute every hash (``docs/audit.md`` says how).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(CSV_COLUMNS)
    yield flush()
    pending = 0
    for r in records:
        writer.writerow(
            (
                r.id,
                canonical_time(r.at),
                r.actor_kind,
                r.actor_name,
                "" if r.actor_id is None else r.actor_id,
                r.organisation or "",
                r.sector or "",
                r.action,
                r.object_type,
                r.object_id,
                canonical_json(r.changes),
                r.prev_hash,
                r.hash,
            )
        )
        pending += 1
        if pending == rows_per_chunk:
            yield flush()
            pending = 0
    if pending:
        yield flush()
