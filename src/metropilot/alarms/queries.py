"""What other contexts read of alarms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select

from metropilot.alarms.repository import alarm_rules, alarms

__all__ = [
    "AlarmForCase",
    "AlarmSpell",
    "UnclearedAlarm",
    "alarm_for_case",
    "alarm_spells",
    "alarms_awaiting_case",
    "uncleared_alarms",
]

# --- read by cases ---


@dataclass(frozen=True, slots=True)
class AlarmForCase:
    """What a case opened from an alarm takes of it and of its rule."""

    asset_id: int
    severity: str
    state: str
    raised_at: datetime
    message: str
    rule_code: str | None
    rule_name: str
    opens_case: bool


def alarm_for_case(conn: Connection, alarm_id: int) -> AlarmForCase | None:
    a, r = alarms.c, alarm_rules.c
    row = conn.execute(
        select(
            a.asset_id, a.severity, a.state, a.raised_at, a.message, r.code, r.name, r.opens_case
        )
        .join(alarm_rules, r.id == a.rule_id)
        .where(a.id == alarm_id)
    ).first()
    if row is None:
        return None
    return AlarmForCase(
        asset_id=int(row.asset_id),
        severity=str(row.severity),
        state=str(row.state),
        raised_at=row.raised_at,
        message=str(row.message or ""),
        rule_code=row.code,
        rule_name=str(row.name),
        opens_case=bool(row.opens_case),
    )


def alarms_awaiting_case(conn: Connection, *, already_linked: Select[Any], limit: int) -> list[int]:
    """Alarms still on, not muted, of rules that open cases, whose id is not among
    ``already_linked`` (a SELECT of the alarm ids cases link, never NULL), oldest first."""
    a, r = alarms.c, alarm_rules.c
    rows = conn.execute(
        select(a.id)
        .join(alarm_rules, r.id == a.rule_id)
        .where(
            and_(
                r.opens_case,
                a.state != "cleared",
                a.suppressed_by.is_(None),
                a.id.not_in(already_linked),
            )
        )
        .order_by(a.id)
        .limit(limit)
    ).scalars()
    return [int(alarm_id) for alarm_id in rows]


@dataclass(frozen=True, slots=True)
class UnclearedAlarm:
    id: int
    asset_id: int
    last_raised_at: datetime  # raised, or raised again since


def uncleared_alarms(conn: Connection, alarm_ids: Sequence[int]) -> list[UnclearedAlarm]:
    """Those of the alarms that are not cleared."""
    if not alarm_ids:
        return []
    a = alarms.c
    rows = conn.execute(
        select(a.id, a.asset_id, a.raised_at, a.reopened_at)
        .where(a.id.in_(list(alarm_ids)), a.state != "cleared")
        .order_by(a.id)
    )
    return [
        UnclearedAlarm(int(r.id), int(r.asset_id), max(r.raised_at, r.reopened_at or r.raised_at))
        for r in rows
    ]


# --- read by contracts ---


@dataclass(frozen=True, slots=True)
class AlarmSpell:
    """One alarm of an asset, from raised to cleared (``cleared_at`` None while it is open)."""

    asset_id: int
    raised_at: datetime
    cleared_at: datetime | None


def alarm_spells(
    conn: Connection, rule_codes: Sequence[str], start: datetime, end: datetime
) -> list[AlarmSpell]:
    """The alarms of the rules (by code) raised before ``end`` and open after ``start``."""
    al, r = alarms.c, alarm_rules.c
    rows = conn.execute(
        select(al.asset_id, al.raised_at, al.cleared_at)
        .select_from(alarms.join(alarm_rules, al.rule_id == r.id))
        .where(
            r.code.in_(list(rule_codes)),
            al.raised_at < end,
            or_(al.cleared_at.is_(None), al.cleared_at > start),
        )
    )
    return [AlarmSpell(int(asset_id), raised, cleared) for asset_id, raised, cleared in rows]
