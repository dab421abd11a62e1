"""The engine's lookups and writes per batch: open alarms and held conditions of the batch's
assets (one parameter for all their ids), raising without duplicates, reopening, clearing,
parents and their muted children."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from metropilot.alarms.model import AlarmState
from metropilot.alarms.repository.tables import alarm_conditions, alarms
from metropilot.assets.repository import assets


@dataclass(frozen=True, slots=True)
class OpenAlarm:
    id: int
    asset_id: int
    rule_id: int
    state: str
    suppressed_by: int | None
    observed_at: datetime | None = None  # only from open_alarms_of_rules


# The batch's asset ids travel as one parameter: a JSON array on SQLite, an array on PostgreSQL.
_BATCH_SQL = {
    "sqlite": {
        "open": "SELECT id, asset_id, rule_id, state, suppressed_by FROM alarms "
        "WHERE active_key IS NOT NULL AND asset_id IN (SELECT value FROM json_each(?))",
        "held": "SELECT asset_id, rule_id, phase, since_ms FROM alarm_conditions "
        "WHERE asset_id IN (SELECT value FROM json_each(?))",
    },
    "postgresql": {
        "open": "SELECT id, asset_id, rule_id, state, suppressed_by FROM alarms "
        "WHERE active_key IS NOT NULL AND asset_id = ANY(%s)",
        "held": "SELECT asset_id, rule_id, phase, since_ms FROM alarm_conditions "
        "WHERE asset_id = ANY(%s)",
    },
}


def _batch_query(conn: Connection, name: str, asset_ids: Iterable[int]) -> Any:
    dialect = conn.dialect.name
    ids: Any = list(asset_ids)
    if dialect != "postgresql":
        ids = orjson.dumps(ids).decode()
    return conn.exec_driver_sql(_BATCH_SQL[dialect][name], (ids,))


# From this many assets on, reading every open alarm (when they are fewer) beats probing each id.
_SCAN_FROM = 500


def open_alarms_of(conn: Connection, asset_ids: Iterable[int]) -> dict[tuple[int, int], OpenAlarm]:
    """The open alarms of these assets, by (asset, rule): one indexed query for a whole batch."""
    wanted = asset_ids if isinstance(asset_ids, set | frozenset) else set(asset_ids)
    if not wanted:
        return {}
    rows: Any = None
    if len(wanted) >= _SCAN_FROM:
        c = alarms.c
        every = conn.execute(
            select(c.id, c.asset_id, c.rule_id, c.state, c.suppressed_by)
            .where(c.active_key.is_not(None))
            .limit(len(wanted))
        ).all()
        if len(every) < len(wanted):
            rows = [r for r in every if r[1] in wanted]
    if rows is None:
        rows = _batch_query(conn, "open", wanted)
    return {
        (int(r[1]), int(r[2])): OpenAlarm(int(r[0]), int(r[1]), int(r[2]), r[3], r[4]) for r in rows
    }


def conditions_of(
    conn: Connection, asset_ids: Iterable[int]
) -> dict[tuple[int, int], tuple[str, int]]:
    """Held conditions of these assets: (asset, rule) → (phase, since_ms)."""
    wanted = asset_ids if isinstance(asset_ids, set | frozenset) else set(asset_ids)
    if not wanted:
        return {}
    rows: Any = None
    if len(wanted) >= _SCAN_FROM:
        c = alarm_conditions.c
        every = conn.execute(
            select(c.asset_id, c.rule_id, c.phase, c.since_ms).limit(len(wanted))
        ).all()
        if len(every) < len(wanted):
            rows = [r for r in every if r[0] in wanted]
    if rows is None:
        rows = _batch_query(conn, "held", wanted)
    return {(int(r[0]), int(r[1])): (str(r[2]), int(r[3])) for r in rows}


def _insert_ignoring(conn: Connection, table: Table, index: list[str]) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index)


def insert_alarms(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert new open alarms; those whose (asset, rule) already has one are skipped. Returns
    the new alarms' ids by active key."""
    if not rows:
        return {}
    stmt = _insert_ignoring(conn, alarms, ["active_key"]).returning(
        alarms.c.id, alarms.c.active_key
    )
    found: dict[str, int] = {}
    for start in range(0, len(rows), 1000):
        for alarm_id, key in conn.execute(stmt, rows[start : start + 1000]):
            found[str(key)] = int(alarm_id)
    return found


def recently_cleared(
    conn: Connection, pairs: Sequence[tuple[int, int]], since: datetime
) -> dict[tuple[int, int], tuple[int, datetime, int]]:
    """The latest alarm cleared since ``since`` for each (asset, rule): → (id, cleared_at,
    flaps). What a flapping condition reopens instead of raising anew."""
    found: dict[tuple[int, int], tuple[int, datetime, int]] = {}
    c = alarms.c
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        query = (
            select(c.asset_id, c.rule_id, c.id, c.cleared_at, c.flaps)
            .where(
                c.active_key.is_(None),
                c.cleared_at >= since,
                tuple_(c.asset_id, c.rule_id).in_(chunk),
            )
            .order_by(c.id)
        )
        for asset_id, rule_id, alarm_id, cleared_at, flaps in conn.execute(query):
            found[(int(asset_id), int(rule_id))] = (int(alarm_id), cleared_at, int(flaps))
    return found


def reopen_alarms(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Reopen cleared alarms (flapping); each row: id, active_key, flaps, and the new values.
    A row whose (asset, rule) got an open alarm meanwhile is skipped by the unique key."""
    reopened = 0
    for row in rows:
        values = {k: v for k, v in row.items() if k != "id"}
        result = conn.execute(
            update(alarms)
            .where(
                alarms.c.id == row["id"],
                alarms.c.active_key.is_(None),
                ~select(alarms.c.id)
                .where(alarms.c.active_key == row["active_key"])
                .correlate(None)
                .exists(),
            )
            .values(values)
        )
        reopened += int(result.rowcount or 0)
    return reopened


def update_alarm(conn: Connection, alarm_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(alarms).where(alarms.c.id == alarm_id).values(values))


def clear_open(conn: Connection, ids: Sequence[int], values: dict[str, Any]) -> list[int]:
    """Clear these alarms if they are still open; returns those it cleared."""
    cleared: list[int] = []
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        result = conn.execute(
            update(alarms)
            .where(alarms.c.id.in_(chunk), alarms.c.active_key.is_not(None))
            .values({**values, "active_key": None, "state": AlarmState.CLEARED.value})
            .returning(alarms.c.id)
        )
        cleared += [int(r) for (r,) in result]
    return cleared


def open_alarms_of_rules(conn: Connection, rule_ids: Iterable[int]) -> list[OpenAlarm]:
    c = alarms.c
    query = select(c.id, c.asset_id, c.rule_id, c.state, c.suppressed_by, c.observed_at).where(
        c.rule_id.in_(list(rule_ids)), c.active_key.is_not(None)
    )
    return [
        OpenAlarm(int(r[0]), int(r[1]), int(r[2]), r[3], r[4], r[5]) for r in conn.execute(query)
    ]


def open_parent_alarms(
    conn: Connection, parent_ids: Iterable[int], rule_ids: Iterable[int]
) -> dict[tuple[int, int], int]:
    """Open alarms of the muting rules on these parents: (parent asset, rule) → alarm id."""
    parents, rules = list(parent_ids), list(rule_ids)
    if not parents or not rules:
        return {}
    c = alarms.c
    found: dict[tuple[int, int], int] = {}
    for start in range(0, len(parents), 500):
        query = select(c.asset_id, c.rule_id, c.id).where(
            c.asset_id.in_(parents[start : start + 500]),
            c.rule_id.in_(rules),
            c.active_key.is_not(None),
        )
        for asset_id, rule_id, alarm_id in conn.execute(query):
            found[(int(asset_id), int(rule_id))] = int(alarm_id)
    return found


def link_open_children(
    conn: Connection, parent_alarm_id: int, parent_asset_id: int, child_rule_ids: Iterable[int]
) -> list[int]:
    """Mute the open, unmuted alarms the parent's children already had for the muted rules."""
    children = select(assets.c.id).where(assets.c.parent_id == parent_asset_id)
    c = alarms.c
    result = conn.execute(
        update(alarms)
        .where(
            c.asset_id.in_(children),
            c.rule_id.in_(list(child_rule_ids)),
            c.active_key.is_not(None),
            c.suppressed_by.is_(None),
        )
        .values(suppressed_by=parent_alarm_id)
        .returning(c.id)
    )
    return [int(r) for (r,) in result]


def muted_children(conn: Connection, parent_alarm_ids: Iterable[int]) -> list[OpenAlarm]:
    c = alarms.c
    query = select(c.id, c.asset_id, c.rule_id, c.state, c.suppressed_by).where(
        c.suppressed_by.in_(list(parent_alarm_ids)), c.active_key.is_not(None)
    )
    return [OpenAlarm(int(r[0]), int(r[1]), int(r[2]), r[3], r[4]) for r in conn.execute(query)]
