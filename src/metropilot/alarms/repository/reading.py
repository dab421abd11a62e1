"""Reading alarms within a scope (the registry's scope condition on the alarm's asset): pages,
open counts, one alarm, its children and its comments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from metropilot.alarms.model import Alarm, AlarmComment, AlarmState, Severity
from metropilot.alarms.repository.tables import _OPEN, alarm_comments, alarm_rules, alarms
from metropilot.assets.repository import assets, scope_clause
from metropilot.shared.scope import UNRESTRICTED, Scope


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    asset_ids: Sequence[int] = ()
    states: Sequence[str] = ()
    severities: Sequence[str] = ()
    communes: Sequence[str] = ()
    kinds: Sequence[str] = ()
    rule_ids: Sequence[int] = ()
    assignee: str | None = None
    suppressed: bool | None = False  # False: only unmuted alarms; True: only muted; None: both
    before_id: int | None = None  # newest first: the cursor is the last id of the page
    scope: Scope = UNRESTRICTED  # what the caller may see, applied in the query


_child = alarms.alias("child")


def _base_select() -> Select[Any]:
    muted = (
        select(func.count())
        .select_from(_child)
        .where(_child.c.suppressed_by == alarms.c.id)
        .scalar_subquery()
    )
    return (
        select(
            alarms,
            assets.c.external_ref,
            assets.c.kind,
            assets.c.commune_insee,
            assets.c.maintainer_id,
            alarm_rules.c.name,
            alarm_rules.c.code,
            alarm_rules.c.opens_case,
            muted.label("suppressed_count"),
        )
        .select_from(alarms)
        .join(assets, assets.c.id == alarms.c.asset_id)
        .join(alarm_rules, alarm_rules.c.id == alarms.c.rule_id)
    )


def _apply(query: Select[Any], flt: AlarmFilter) -> Select[Any]:
    a, c = assets.c, alarms.c
    if not flt.scope.unrestricted:
        query = query.where(scope_clause(flt.scope))  # the registry's own scoping, on the join
    if flt.asset_ids:
        query = query.where(c.asset_id.in_(list(flt.asset_ids)))
    if flt.states:
        query = query.where(c.state.in_(list(flt.states)))
    if flt.severities:
        query = query.where(c.severity.in_(list(flt.severities)))
    if flt.communes:
        query = query.where(a.commune_insee.in_(list(flt.communes)))
    if flt.kinds:
        query = query.where(a.kind.in_(list(flt.kinds)))
    if flt.rule_ids:
        query = query.where(c.rule_id.in_(list(flt.rule_ids)))
    if flt.assignee is not None:
        query = query.where(c.assignee == flt.assignee)
    if flt.suppressed is True:
        query = query.where(c.suppressed_by.is_not(None))
    elif flt.suppressed is False:
        query = query.where(c.suppressed_by.is_(None))
    if flt.before_id is not None:
        query = query.where(c.id < flt.before_id)
    return query


def _alarm(row: Any) -> Alarm:
    m = row._mapping
    return Alarm(
        id=m["id"],
        rule_id=m["rule_id"],
        rule_name=m["name"],
        rule_code=m["code"],
        opens_case=bool(m["opens_case"]),
        asset_id=m["asset_id"],
        asset_ref=m["external_ref"],
        kind=m["kind"],
        commune=m["commune_insee"],
        maintainer_id=m["maintainer_id"],
        severity=Severity(m["severity"]),
        state=AlarmState(m["state"]),
        message=m["message"],
        value=m["value"],
        observed_at=m["observed_at"],
        raised_at=m["raised_at"],
        reopened_at=m["reopened_at"],
        acknowledged_at=m["acknowledged_at"],
        acknowledged_by=m["acknowledged_by"],
        cleared_at=m["cleared_at"],
        cleared_by=m["cleared_by"],
        clear_reason=m["clear_reason"],
        assignee=m["assignee"],
        suppressed_by=m["suppressed_by"],
        suppressed_count=int(m["suppressed_count"] or 0),
        flaps=m["flaps"],
        escalation_level=m["escalation_level"],
        escalated_at=m["escalated_at"],
        updated_at=m["updated_at"],
    )


def list_alarms(conn: Connection, flt: AlarmFilter, limit: int) -> list[Alarm]:
    query = _apply(_base_select(), flt).order_by(alarms.c.id.desc()).limit(limit)
    return [_alarm(row) for row in conn.execute(query)]


def get_alarms(conn: Connection, ids: Iterable[int], scope: Scope = UNRESTRICTED) -> list[Alarm]:
    wanted = list(ids)
    found: list[Alarm] = []
    for start in range(0, len(wanted), 500):
        query = _apply(_base_select(), AlarmFilter(scope=scope, suppressed=None)).where(
            alarms.c.id.in_(wanted[start : start + 500])
        )
        found += [_alarm(row) for row in conn.execute(query.order_by(alarms.c.id))]
    return found


def get_alarm(conn: Connection, alarm_id: int, scope: Scope = UNRESTRICTED) -> Alarm | None:
    found = get_alarms(conn, [alarm_id], scope)
    return found[0] if found else None


def children_of(conn: Connection, alarm_id: int, scope: Scope = UNRESTRICTED) -> list[Alarm]:
    query = _apply(_base_select(), AlarmFilter(scope=scope, suppressed=True)).where(
        alarms.c.suppressed_by == alarm_id
    )
    return [_alarm(row) for row in conn.execute(query.order_by(alarms.c.id))]


def count_open(conn: Connection, flt: AlarmFilter) -> dict[str, int]:
    """Open alarms by severity, under a filter (for the command post's counters)."""
    query = (
        _apply(
            select(alarms.c.severity, func.count())
            .select_from(alarms)
            .join(assets, assets.c.id == alarms.c.asset_id),
            flt,
        )
        .where(alarms.c.state.in_(_OPEN))
        .group_by(alarms.c.severity)
    )
    return {str(s): int(n) for s, n in conn.execute(query)}


def insert_comment(conn: Connection, alarm_id: int, at: datetime, author: str, text: str) -> int:
    result = conn.execute(
        insert(alarm_comments)
        .values(alarm_id=alarm_id, at=at, author=author, text=text)
        .returning(alarm_comments.c.id)
    )
    return int(result.scalar_one())


def comments_of(conn: Connection, alarm_id: int) -> list[AlarmComment]:
    c = alarm_comments.c
    query = select(alarm_comments).where(c.alarm_id == alarm_id).order_by(c.id)
    return [
        AlarmComment(row.id, row.alarm_id, row.at, row.author, row.text)
        for row in conn.execute(query)
    ]
