"""Storage of cases, their links to alarms and reports, their timeline, and the routing rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from metropilot.accounts.model import Sector
from metropilot.cases.model import (
    Assignee,
    Case,
    CaseOrigin,
    CaseState,
    Milestone,
    Priority,
    TimelineEntry,
    WorkOrder,
    WorkOrderState,
)
from metropilot.cases.routing import RoutingRule, parse_routing_rule
from metropilot.db.schema import JSONDocument, UTCDateTime, metadata
from metropilot.shared.scope import ALL_WORK, WorkScope

__all__ = [
    "case_links",
    "case_scope_clause",
    "case_timeline",
    "cases",
    "routing_rules",
    "work_order_scope_clause",
    "work_orders",
]

routing_rules = Table(
    "routing_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("spec", JSONDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("origin", String(16), nullable=False),
    Column("category", String(48), nullable=False),
    Column("priority", String(2), nullable=False),
    Column("state", String(24), nullable=False),
    Column("commune_insee", String(5), ForeignKey("communes.insee")),
    Column("asset_id", Integer, ForeignKey("assets.id")),
    Column("asset_kind", String(32)),
    Column("team", String(63)),  # team code; NULL: the command post's queue
    Column("team_id", Integer, ForeignKey("teams.id")),
    Column("organisation", String(63)),
    Column("organisation_id", Integer, ForeignKey("organisations.id")),
    Column("sector", String(8)),
    Column("routing_rule_id", Integer, ForeignKey("routing_rules.id")),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("reopened_count", Integer, nullable=False),
    # The SLA clock's pauses while waiting on a third party: [[from, to or null, reason], ...]
    Column("sla_pauses", JSONDocument),
    Index("ix_cases_state", "state"),
    Index("ix_cases_asset", "asset_id"),
    Index("ix_cases_team", "team"),
    Index("ix_cases_commune", "commune_insee"),
    Index("ix_cases_opened_at", "opened_at"),
)

# A case's alarms and citizen reports: one row per link, either an alarm or a report.
case_links = Table(
    "case_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("alarm_id", Integer, ForeignKey("alarms.id")),
    Column("report_id", Integer, ForeignKey("reports.id")),
    Column("linked_at", UTCDateTime, nullable=False),
    UniqueConstraint("case_id", "alarm_id", name="uq_case_links_alarm"),
    UniqueConstraint("case_id", "report_id", name="uq_case_links_report"),
    Index("ix_case_links_alarm", "alarm_id"),
    Index("ix_case_links_report", "report_id"),
)

case_timeline = Table(
    "case_timeline",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("what", String(24), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("organisation", String(63)),
    Column("sector", String(8)),
    Column("work_order_id", Integer),
    Column("note", String(2000), nullable=False),
)


work_orders = Table(
    "work_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("round", Integer, nullable=False),  # the case's reopenings when it was created
    Column("state", String(16), nullable=False),
    Column("team", String(63), nullable=False),
    Column("team_id", Integer, ForeignKey("teams.id")),
    Column("organisation", String(63), nullable=False),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), index=True),
    Column("sector", String(8), nullable=False),
    Column("instructions", String(2000), nullable=False),
    Column("note", String(2000), nullable=False),
    Column("photos", JSONDocument, nullable=False),
    Column("reason", String(2000), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("dispatched_at", UTCDateTime),
    Column("accepted_at", UTCDateTime),
    Column("on_site_at", UTCDateTime),
    Column("done_at", UTCDateTime),
    Column("verified_at", UTCDateTime),
    Column("response_due_at", UTCDateTime),
    Column("resolution_due_at", UTCDateTime),
    # The SLA alerts: when each falls due (80% of the time, and the deadline), and when it was
    # announced (NULL: not yet), so the housekeeping announces each once.
    Column("response_warning_at", UTCDateTime),
    Column("resolution_warning_at", UTCDateTime),
    Column("response_warned_at", UTCDateTime),
    Column("response_breached_at", UTCDateTime),
    Column("resolution_warned_at", UTCDateTime),
    Column("resolution_breached_at", UTCDateTime),
    Index("ix_work_orders_state", "state"),
    Index("ix_work_orders_team", "team"),
)


# Response and resolution targets per (team, priority); the team '*' applies to every team.
sla_policies = Table(
    "sla_policies",
    metadata,
    Column("team", String(63), primary_key=True),
    Column("priority", String(2), primary_key=True),
    Column("clock", String(16), nullable=False),  # calendar or business
    Column("response_minutes", Integer, nullable=False),
    Column("resolution_minutes", Integer, nullable=False),
    Column("calendar", JSONDocument),  # a CalendarSpec for business clocks; NULL: the default
    Column("updated_at", UTCDateTime, nullable=False),
)


def get_sla_policy(conn: Connection, team: str, priority: str) -> dict[str, Any] | None:
    """The team's own policy for the priority, else the one for every team ('*')."""
    p = sla_policies.c
    for candidate in (team, "*"):
        row = (
            conn.execute(
                select(sla_policies).where(and_(p.team == candidate, p.priority == priority))
            )
            .mappings()
            .first()
        )
        if row is not None:
            return dict(row)
    return None


def list_sla_policies(conn: Connection) -> list[dict[str, Any]]:
    p = sla_policies.c
    rows = conn.execute(select(sla_policies).order_by(p.team, p.priority)).mappings()
    return [dict(r) for r in rows]


def put_sla_policy(conn: Connection, values: dict[str, Any]) -> None:
    p = sla_policies.c
    key = and_(p.team == values["team"], p.priority == values["priority"])
    if conn.execute(select(p.team).where(key)).first() is None:
        conn.execute(insert(sla_policies), values)
    else:
        conn.execute(update(sla_policies).where(key).values(values))


# The written procedure of a category: the checklist operators follow when they triage.
procedures = Table(
    "procedures",
    metadata,
    Column("category", String(48), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("steps", JSONDocument, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)


def get_procedure(conn: Connection, category: str) -> dict[str, Any] | None:
    row = conn.execute(select(procedures).where(procedures.c.category == category)).mappings()
    found = row.first()
    return None if found is None else dict(found)


def list_procedures(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(procedures).order_by(procedures.c.category)).mappings()
    return [dict(r) for r in rows]


def put_procedure(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert or replace; whether it existed."""
    existed = get_procedure(conn, values["category"]) is not None
    if existed:
        conn.execute(
            update(procedures).where(procedures.c.category == values["category"]).values(values)
        )
    else:
        conn.execute(insert(procedures), values)
    return existed


def delete_procedure(conn: Connection, category: str) -> int:
    return int(conn.execute(procedures.delete().where(procedures.c.category == category)).rowcount)


# --- routing rules -----------------------------------------------------------------------------


def list_routing_rules(conn: Connection) -> list[RoutingRule]:
    r = routing_rules.c
    rows = conn.execute(select(r.id, r.spec).order_by(r.position, r.id)).all()
    return [parse_routing_rule(spec, rule_id=int(rule_id)) for rule_id, spec in rows]


def insert_routing_rule(conn: Connection, rule: RoutingRule, now: datetime) -> int:
    spec = rule.spec_dict()
    values = {"position": rule.order, "spec": spec, "created_at": now, "updated_at": now}
    return int(
        conn.execute(insert(routing_rules).returning(routing_rules.c.id), values).scalar_one()
    )


def update_routing_rule(conn: Connection, rule_id: int, rule: RoutingRule, now: datetime) -> int:
    values = {"position": rule.order, "spec": rule.spec_dict(), "updated_at": now}
    result = conn.execute(update(routing_rules).where(routing_rules.c.id == rule_id).values(values))
    return int(result.rowcount)


def delete_routing_rule(conn: Connection, rule_id: int) -> int:
    conn.execute(
        update(cases).where(cases.c.routing_rule_id == rule_id).values(routing_rule_id=None)
    )
    return int(conn.execute(routing_rules.delete().where(routing_rules.c.id == rule_id)).rowcount)


# --- cases -------------------------------------------------------------------------------------


def insert_case(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(cases).returning(cases.c.id), values).scalar_one())


def update_case(conn: Connection, case_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(cases).where(cases.c.id == case_id).values(values))


def link(
    conn: Connection,
    case_id: int,
    now: datetime,
    *,
    alarm_id: int | None = None,
    report_id: int | None = None,
) -> None:
    c = case_links.c
    existing = conn.execute(
        select(c.id).where(
            and_(
                c.case_id == case_id,
                c.alarm_id == alarm_id if alarm_id is not None else c.alarm_id.is_(None),
                c.report_id == report_id if report_id is not None else c.report_id.is_(None),
            )
        )
    ).first()
    if existing is None:
        # Two writers may link the same alarm at once (the alarm's handler and the housekeeping
        # that opens what handlers missed): the second one's row is dropped, not an error that
        # would undo its whole transaction.
        index = ["case_id", "alarm_id"] if alarm_id is not None else ["case_id", "report_id"]
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(
            dialect.insert(case_links).on_conflict_do_nothing(index_elements=index),
            {"case_id": case_id, "alarm_id": alarm_id, "report_id": report_id, "linked_at": now},
        )


def _assignee(row: RowMapping) -> Assignee | None:
    if row["team"] is None:
        return None
    return Assignee(
        team=row["team"],
        organisation=row["organisation"] or "",
        sector=Sector(row["sector"] or "public"),
        team_id=row["team_id"],
        organisation_id=row["organisation_id"],
    )


def _links(conn: Connection, case_ids: Sequence[int]) -> dict[int, tuple[list[int], list[int]]]:
    found: dict[int, tuple[list[int], list[int]]] = {i: ([], []) for i in case_ids}
    if not case_ids:
        return found
    c = case_links.c
    rows = conn.execute(
        select(c.case_id, c.alarm_id, c.report_id)
        .where(c.case_id.in_(list(case_ids)))
        .order_by(c.id)
    )
    for case_id, alarm_id, report_id in rows:
        alarms, reports = found[case_id]
        if alarm_id is not None:
            alarms.append(int(alarm_id))
        if report_id is not None:
            reports.append(int(report_id))
    return found


def _case(row: RowMapping, links: tuple[list[int], list[int]]) -> Case:
    return Case(
        id=row["id"],
        origin=CaseOrigin(row["origin"]),
        category=row["category"],
        priority=Priority(row["priority"]),
        state=CaseState(row["state"]),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        commune_insee=row["commune_insee"],
        asset_id=row["asset_id"],
        asset_kind=row["asset_kind"],
        assignee=_assignee(row),
        routing_rule_id=row["routing_rule_id"],
        title=row["title"],
        description=row["description"],
        alarm_ids=tuple(links[0]),
        report_ids=tuple(links[1]),
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        reopened_count=row["reopened_count"],
    )


def case_scope_clause(scope: WorkScope) -> Any:
    """The SQL condition of the cases a scope sees (``true`` when unrestricted)."""
    c = cases.c
    parts: list[Any] = []
    if scope.communes is not None:
        parts.append(c.commune_insee.in_(list(scope.communes)))
    if scope.organisation_ids is not None:
        parts.append(c.organisation_id.in_(list(scope.organisation_ids)))
    return and_(true(), *parts)


def get_case(
    conn: Connection, case_id: int, *, for_update: bool = False, scope: WorkScope = ALL_WORK
) -> Case | None:
    """One case, or None when there is none with this id in the scope."""
    query = select(cases).where(cases.c.id == case_id)
    if not scope.unrestricted:
        query = query.where(case_scope_clause(scope))
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return _case(row, _links(conn, [case_id])[case_id])


def find_cases(conn: Connection, where: Sequence[Any], offset: int, limit: int) -> list[Case]:
    query = select(cases).where(*where).order_by(cases.c.opened_at.desc(), cases.c.id.desc())
    rows = list(conn.execute(query.offset(offset).limit(limit)).mappings())
    links = _links(conn, [r["id"] for r in rows])
    return [_case(row, links[row["id"]]) for row in rows]


def open_case_for(
    conn: Connection, *, alarm_id: int | None = None, report_id: int | None = None
) -> int | None:
    """The case an alarm or a report is already linked to, if any."""
    c = case_links.c
    column = c.alarm_id if alarm_id is not None else c.report_id
    value = alarm_id if alarm_id is not None else report_id
    row = conn.execute(select(c.case_id).where(column == value).limit(1)).first()
    return None if row is None else int(row[0])


def open_case_on_asset(conn: Connection, asset_id: int, open_states: Sequence[str]) -> int | None:
    c = cases.c
    row = conn.execute(
        select(c.id)
        .where(and_(c.asset_id == asset_id, c.state.in_(list(open_states))))
        .order_by(c.id)
        .limit(1)
    ).first()
    return None if row is None else int(row[0])


# --- the timeline ------------------------------------------------------------------------------


def add_timeline(conn: Connection, case_id: int, entry: TimelineEntry) -> None:
    conn.execute(
        insert(case_timeline),
        {
            "case_id": case_id,
            "at": entry.at,
            "what": entry.what.value,
            "actor": entry.actor[:200],
            "organisation": entry.organisation,
            "sector": entry.sector,
            "work_order_id": entry.work_order_id,
            "note": entry.note[:2000],
        },
    )


def timeline_of(conn: Connection, case_id: int) -> list[TimelineEntry]:
    t = case_timeline.c
    rows = conn.execute(
        select(case_timeline).where(t.case_id == case_id).order_by(t.at, t.id)
    ).mappings()
    return [
        TimelineEntry(
            at=row["at"],
            what=Milestone(row["what"]),
            actor=row["actor"],
            organisation=row["organisation"],
            sector=row["sector"],
            work_order_id=row["work_order_id"],
            note=row["note"],
        )
        for row in rows
    ]


# --- work orders -------------------------------------------------------------------------------


def insert_work_order(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(work_orders).returning(work_orders.c.id), values).scalar_one())


def update_work_order(conn: Connection, order_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(work_orders).where(work_orders.c.id == order_id).values(values))


def _work_order(row: RowMapping) -> WorkOrder:
    return WorkOrder(
        id=row["id"],
        case_id=row["case_id"],
        state=WorkOrderState(row["state"]),
        assignee=Assignee(
            team=row["team"],
            organisation=row["organisation"],
            sector=Sector(row["sector"]),
            team_id=row["team_id"],
            organisation_id=row["organisation_id"],
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        instructions=row["instructions"],
        note=row["note"],
        photos=tuple(row["photos"] or ()),
        reason=row["reason"],
        dispatched_at=row["dispatched_at"],
        accepted_at=row["accepted_at"],
        on_site_at=row["on_site_at"],
        done_at=row["done_at"],
        verified_at=row["verified_at"],
    )


def work_order_scope_clause(scope: WorkScope) -> Any:
    """The SQL condition of the work orders a scope sees: sent to its organisations, for the
    cases of its communes (``true`` when unrestricted)."""
    w = work_orders.c
    parts: list[Any] = []
    if scope.organisation_ids is not None:
        parts.append(w.organisation_id.in_(list(scope.organisation_ids)))
    if scope.communes is not None:
        in_communes = select(cases.c.id).where(cases.c.commune_insee.in_(list(scope.communes)))
        parts.append(w.case_id.in_(in_communes))
    return and_(true(), *parts)


def get_work_order(
    conn: Connection, order_id: int, *, for_update: bool = False, scope: WorkScope = ALL_WORK
) -> tuple[WorkOrder, RowMapping] | None:
    """One work order with its row, or None when there is none with this id in the scope."""
    query = select(work_orders).where(work_orders.c.id == order_id)
    if not scope.unrestricted:
        query = query.where(work_order_scope_clause(scope))
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else (_work_order(row), row)


def work_orders_of(conn: Connection, case_id: int, round_: int | None = None) -> list[WorkOrder]:
    w = work_orders.c
    query = select(work_orders).where(w.case_id == case_id)
    if round_ is not None:
        query = query.where(w.round == round_)
    return [_work_order(r) for r in conn.execute(query.order_by(w.id)).mappings()]


def find_work_orders(
    conn: Connection, where: Sequence[Any], offset: int, limit: int
) -> list[tuple[WorkOrder, RowMapping]]:
    w = work_orders.c
    query = select(work_orders).where(*where).order_by(w.id.desc()).offset(offset).limit(limit)
    return [(_work_order(r), r) for r in conn.execute(query).mappings()]
