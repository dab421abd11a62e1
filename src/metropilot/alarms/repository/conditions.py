"""Held conditions: pending ones waiting out a rule's hold time, inhibited ones waiting for the
equipment to report normal after a clear by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.engine import Connection

from metropilot.alarms.repository.engine import _insert_ignoring
from metropilot.alarms.repository.tables import INHIBITED, PENDING, alarm_conditions


def hold_conditions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Start holding conditions (asset_id, rule_id, phase, since_ms, value); an existing one
    keeps its start."""
    if rows:
        conn.execute(_insert_ignoring(conn, alarm_conditions, ["asset_id", "rule_id"]), rows)


def inhibit(conn: Connection, asset_id: int, rule_id: int, since_ms: int) -> None:
    c = alarm_conditions.c
    conn.execute(delete(alarm_conditions).where(c.asset_id == asset_id, c.rule_id == rule_id))
    conn.execute(
        insert(alarm_conditions).values(
            asset_id=asset_id, rule_id=rule_id, phase=INHIBITED, since_ms=since_ms, value=None
        )
    )


def drop_conditions(conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
    c = alarm_conditions.c
    for start in range(0, len(pairs), 500):
        conn.execute(
            delete(alarm_conditions).where(
                tuple_(c.asset_id, c.rule_id).in_(list(pairs[start : start + 500]))
            )
        )


def drop_conditions_of_rule(conn: Connection, rule_id: int, phase: str | None = None) -> None:
    query = delete(alarm_conditions).where(alarm_conditions.c.rule_id == rule_id)
    if phase is not None:
        query = query.where(alarm_conditions.c.phase == phase)
    conn.execute(query)


def inhibitions(conn: Connection) -> list[tuple[int, int, int]]:
    """Every inhibited condition: (asset, rule, since_ms). Few: one per alarm cleared by hand
    while its condition held."""
    c = alarm_conditions.c
    query = select(c.asset_id, c.rule_id, c.since_ms).where(c.phase == INHIBITED)
    return [(int(a), int(r), int(t)) for a, r, t in conn.execute(query)]


def conditions_of_rule(conn: Connection, rule_id: int) -> list[tuple[int, str]]:
    c = alarm_conditions.c
    query = select(c.asset_id, c.phase).where(c.rule_id == rule_id)
    return [(int(a), str(p)) for a, p in conn.execute(query)]


def due_conditions(
    conn: Connection, rule_id: int, before_ms: int, limit: int
) -> list[tuple[int, int, float | None]]:
    """Pending conditions of a rule that began before ``before_ms``: (asset, since, value)."""
    c = alarm_conditions.c
    query = (
        select(c.asset_id, c.since_ms, c.value)
        .where(c.rule_id == rule_id, c.phase == PENDING, c.since_ms <= before_ms)
        .limit(limit)
    )
    return [(int(a), int(s), v) for a, s, v in conn.execute(query)]
