"""Storage of commands to equipment and of the batches an area command makes.

The commands table is also the outbox: a command is stored ``pending`` in the transaction that
accepts it, and the dispatcher sends what is pending (and retries what went unanswered) after
the commit, so a command the caller was told about is never lost to a crash in between.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from metropilot.assets.repository import assets
from metropilot.db.schema import JSONDocument, UTCDateTime, metadata
from metropilot.telemetry.repository import twin_values

__all__ = ["command_batches", "commands", "public_alerts", "scenario_runs"]

command_batches = Table(
    "command_batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("command", String(32), nullable=False),
    Column("params", JSONDocument, nullable=False),
    Column("area", JSONDocument, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("targets", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
)

commands = Table(
    "commands",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("batch_id", Integer, ForeignKey("command_batches.id"), index=True),
    Column("asset_id", Integer, ForeignKey("assets.id"), nullable=False, index=True),
    Column("asset_ref", String(100), nullable=False),
    Column("command", String(32), nullable=False),
    Column("params", JSONDocument, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("acknowledged_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("deadline", UTCDateTime, nullable=False),
    Column("next_send_at", UTCDateTime),  # NULL: nothing to send
    Column("result", String(500)),  # what the equipment said when it failed, or why it timed out
    Column("actor", String(200), nullable=False),
    Index("ix_commands_next_send_at", "next_send_at"),
    Index("ix_commands_status_deadline", "status", "deadline"),
)


def insert_batch(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(command_batches).values(values))
    (key,) = result.inserted_primary_key or (None,)
    assert key is not None
    return int(key)


def insert_commands(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """One statement for all the rows (an area command's thousands); their ids in order."""
    if not rows:
        return []
    result = conn.execute(
        insert(commands).returning(commands.c.id, sort_by_parameter_order=True), list(rows)
    )
    return [int(i) for i in result.scalars()]


def get_commands(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 5000):
        query = select(commands).where(commands.c.id.in_(list(ids[start : start + 5000])))
        for row in conn.execute(query).mappings():
            found[int(row["id"])] = dict(row)
    return found


def update_commands(conn: Connection, changes: Mapping[int, Mapping[str, Any]]) -> None:
    """Each command's new values, grouped by the columns they set: one statement a group."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for command_id, values in changes.items():
        groups.setdefault(tuple(sorted(values)), []).append(
            {"_id": command_id, **{f"_{k}": v for k, v in values.items()}}
        )
    for columns, params in groups.items():
        statement = (
            update(commands)
            .where(commands.c.id == bindparam("_id"))
            .values({column: bindparam(f"_{column}") for column in columns})
        )
        conn.execute(statement, params)


def get_command(conn: Connection, command_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(commands).where(commands.c.id == command_id)).mappings().first()
    return None if row is None else dict(row)


def get_batch(conn: Connection, batch_id: int) -> dict[str, Any] | None:
    query = select(command_batches).where(command_batches.c.id == batch_id)
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def batch_counts(conn: Connection, batch_id: int) -> dict[str, int]:
    from sqlalchemy import func

    c = commands.c
    rows = conn.execute(
        select(c.status, func.count()).where(c.batch_id == batch_id).group_by(c.status)
    )
    return {str(status): int(n) for status, n in rows}


def list_commands(
    conn: Connection,
    *,
    asset_id: int | None = None,
    batch_id: int | None = None,
    statuses: Sequence[str] = (),
    limit: int = 100,
) -> list[dict[str, Any]]:
    c = commands.c
    query = select(commands)
    if asset_id is not None:
        query = query.where(c.asset_id == asset_id)
    if batch_id is not None:
        query = query.where(c.batch_id == batch_id)
    if statuses:
        query = query.where(c.status.in_(list(statuses)))
    rows = conn.execute(query.order_by(c.id.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


def due_to_send(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Commands whose (re)sending is due, oldest first."""
    c = commands.c
    query = (
        select(commands)
        .where(c.next_send_at.is_not(None), c.next_send_at <= now)
        .order_by(c.next_send_at, c.id)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def overdue(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Commands still waiting for the equipment past their deadline."""
    c = commands.c
    query = (
        select(commands)
        .where(c.status.in_(("pending", "sent", "acknowledged")), c.deadline <= now)
        .order_by(c.deadline, c.id)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def update_command(conn: Connection, command_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(commands).where(commands.c.id == command_id).values(values))


def mark_sent(conn: Connection, ids: Sequence[int], now: datetime, next_send_at: datetime) -> None:
    """Sent (again) now; to be sent again at ``next_send_at`` unless answered before."""
    c = commands.c
    conn.execute(
        update(commands)
        .where(c.id.in_(list(ids)), c.status.in_(("pending", "sent")))
        .values(
            status="sent",
            attempts=c.attempts + 1,
            sent_at=now,
            next_send_at=next_send_at,
        )
    )


def stop_sending(conn: Connection, ids: Sequence[int]) -> None:
    c = commands.c
    conn.execute(update(commands).where(c.id.in_(list(ids))).values(next_send_at=None))


def open_for_assets(conn: Connection, asset_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The commands still in flight for these assets."""
    c = commands.c
    query = select(commands).where(
        and_(
            c.asset_id.in_(list(asset_ids)),
            or_(c.status == "pending", c.status == "sent", c.status == "acknowledged"),
        )
    )
    return [dict(r) for r in conn.execute(query).mappings()]


# --- scenarios and public alerts --------------------------------------------------------------

scenario_runs = Table(
    "scenario_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scenario", String(48), nullable=False),
    Column("params", JSONDocument, nullable=False),
    Column("plan", JSONDocument, nullable=False),  # what the preview showed, as it ran
    Column("previous", JSONDocument, nullable=False),  # asset id → the state reported before
    Column("batches", JSONDocument, nullable=False),  # command batch ids
    Column("cases", JSONDocument, nullable=False),
    Column("alert_id", Integer),
    Column("reason", String(500), nullable=False),
    Column("run_at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("rolled_back_at", UTCDateTime),
    Column("rollback_batches", JSONDocument),
)

public_alerts = Table(
    "public_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message", String(500), nullable=False),
    Column("commune_insee", String(5)),  # NULL: the whole metropolis
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("scenario_run_id", Integer),
)


def insert_run(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(scenario_runs).values(values))
    (key,) = result.inserted_primary_key or (None,)
    assert key is not None
    return int(key)


def get_run(conn: Connection, run_id: int) -> dict[str, Any]:
    row = conn.execute(select(scenario_runs).where(scenario_runs.c.id == run_id)).mappings()
    found = row.first()
    return {} if found is None else dict(found)


def update_run(conn: Connection, run_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(scenario_runs).where(scenario_runs.c.id == run_id).values(values))


def insert_alert(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(public_alerts).values(values))
    (key,) = result.inserted_primary_key or (None,)
    assert key is not None
    return int(key)


def end_alert(conn: Connection, alert_id: int, at: datetime) -> None:
    conn.execute(update(public_alerts).where(public_alerts.c.id == alert_id).values(ends_at=at))


def active_alerts(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    p = public_alerts.c
    query = (
        select(p.id, p.message, p.commune_insee, p.starts_at, p.ends_at)
        .where(p.starts_at <= now, p.ends_at > now)
        .order_by(p.starts_at.desc())
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def last_done(
    conn: Connection, asset_ids: Sequence[int], command: str
) -> dict[int, tuple[Mapping[str, Any], datetime]]:
    """Per asset, the parameters and end of its newest command of this type that was done."""
    c = commands.c
    rows = conn.execute(
        select(c.asset_id, c.params, c.finished_at)
        .where(c.asset_id.in_(list(asset_ids)), c.command == command, c.status == "done")
        .order_by(c.finished_at)
    )
    return {int(asset_id): (params, finished_at) for asset_id, params, finished_at in rows}


def mean_of_children(
    conn: Connection, parent_ids: Sequence[int], metric: str, since_ms: int
) -> dict[int, float]:
    """Per parent asset, the mean of a metric its children's twins reported since ``since_ms``.

    Joins the registry's and the twin's tables in one aggregate (a cabinet's lights are
    hundreds; asking each context in turn would ship every light's id both ways)."""
    a, t = assets.c, twin_values.c
    rows = conn.execute(
        select(a.parent_id, func.avg(t.value))
        .select_from(assets.join(twin_values, t.asset_id == a.id))
        .where(a.parent_id.in_(list(parent_ids)), t.metric == metric, t.ts_ms >= since_ms)
        .group_by(a.parent_id)
    )
    return {int(parent): float(level) for parent, level in rows}
