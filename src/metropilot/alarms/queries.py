"""What other contexts read of alarms: an alarm as a case opens from it, the alarms still
waiting for a case, and the spells of a rule's alarms (the contracts' outages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, and_, or_, select

from metropilot.alarms.model import AlarmState, Severity
from metropilot.alarms.repository import alarm_rules, alarms

__all__ = ["AlarmForCase", "AlarmSpell", "alarm_for_case", "alarms_awaiting_case", "spells_of"]


# --- read by cases ---


@dataclass(frozen=True, slots=True)
class AlarmForCase:
    """What a case opened from an alarm needs of it and of its rule."""

    alarm_id: int
    asset_id: int
    severity: Severity
    state: AlarmState
    raised_at: datetime
    message: str
    rule_code: str | None
    rule_name: str
    opens_case: bool


def alarm_for_case(conn: Connection, alarm_id: int) -> AlarmForCase | None:
    """The alarm and its rule (None: no such alarm)."""
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
        alarm_id,
        int(row.asset_id),
        Severity(row.severity),
        AlarmState(row.state),
        row.raised_at,
        str(row.message),
        row.code,
        str(row.name),
        bool(row.opens_case),
    )


def alarms_awaiting_case(
    conn: Connection, linked: Select[tuple[int | None]], *, limit: int
) -> list[int]:
    """The open, unmuted alarms of rules that open cases, that are not among ``linked`` (the
    alarm ids the caller has already given a case), oldest first."""
    a, r = alarms.c, alarm_rules.c
    ids = conn.execute(
        select(a.id)
        .join(alarm_rules, r.id == a.rule_id)
        .where(
            and_(
                r.opens_case,
                a.state != AlarmState.CLEARED.value,
                a.suppressed_by.is_(None),
                a.id.not_in(linked.where(linked.selected_columns[0].is_not(None))),
            )
        )
        .order_by(a.id)
        .limit(limit)
    ).scalars()
    return [int(i) for i in ids]


# --- read by contracts ---


@dataclass(frozen=True, slots=True)
class AlarmSpell:
    """One alarm of an asset, from raised to cleared (``cleared_at`` None while it is open)."""

    asset_id: int
    raised_at: datetime
    cleared_at: datetime | None


def spells_of(
    conn: Connection, rule_codes: Sequence[str], start: datetime, end: datetime
) -> list[AlarmSpell]:
    """The alarms of the rules (by code) overlapping ``[start, end)``, open ones included."""
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
    return [AlarmSpell(int(a), raised, cleared) for a, raised, cleared in rows]
