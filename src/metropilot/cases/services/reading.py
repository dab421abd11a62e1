"""Reading cases and work orders: one by id, lists filtered within the caller's scope, a case's
timeline, and where time goes along the chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import select

from metropilot.cases import repository
from metropilot.cases.model import (
    TRIAGE_QUEUE_STATES,
    Case,
    CaseState,
    ChainDurations,
    Priority,
    TimelineEntry,
    WorkOrder,
    WorkOrderState,
    chain_durations,
)
from metropilot.cases.services.results import ChainStats, LinkSummary
from metropilot.db.uow import UnitOfWork
from metropilot.shared.errors import NotFound
from metropilot.shared.scope import ALL_WORK, WorkScope

__all__ = [
    "CaseQuery",
    "CaseTimeline",
    "case_of_report",
    "case_timeline",
    "chain_stats",
    "get_case",
    "get_work_order",
    "query_cases",
    "query_work_orders",
    "work_order_deadlines",
]


def get_case(
    uow: UnitOfWork, case_id: int, *, for_update: bool = False, scope: WorkScope = ALL_WORK
) -> Case:
    """One case; outside the caller's scope it does not exist (the same 404, reads and writes
    alike)."""
    found = repository.get_case(uow.connection, case_id, for_update=for_update, scope=scope)
    if found is None:
        raise NotFound(f"no case {case_id}", code="unknown_case")
    return found


def case_of_report(uow: UnitOfWork, report_id: int) -> Case | None:
    case_id = repository.open_case_for(uow.connection, report_id=report_id)
    return None if case_id is None else get_case(uow, case_id)


@dataclass(frozen=True, slots=True)
class CaseQuery:
    asset_id: int | None = None
    states: Sequence[CaseState] = ()
    teams: Sequence[str] = ()
    communes: Sequence[str] | None = None  # None: all
    priorities: Sequence[Priority] = ()
    scope: WorkScope = ALL_WORK  # what the caller sees (policy.case_scope)
    triage_queue: bool = False
    offset: int = 0
    limit: int = 100


def query_cases(uow: UnitOfWork, q: CaseQuery) -> list[Case]:
    c = repository.cases.c
    where: list[Any] = []
    if q.asset_id is not None:
        where.append(c.asset_id == q.asset_id)
    states = list(q.states) or (sorted(TRIAGE_QUEUE_STATES) if q.triage_queue else [])
    if states:
        where.append(c.state.in_([s.value for s in states]))
    if q.teams:
        where.append(c.team.in_(list(q.teams)))
    if q.communes is not None:
        where.append(c.commune_insee.in_(list(q.communes)))
    if q.priorities:
        where.append(c.priority.in_([p.value for p in q.priorities]))
    if not q.scope.unrestricted:
        where.append(repository.case_scope_clause(q.scope))
    return repository.find_cases(uow.connection, where, q.offset, q.limit)


class CaseTimeline(TypedDict):
    entries: list[TimelineEntry]
    durations: ChainDurations


def case_timeline(uow: UnitOfWork, case_id: int) -> CaseTimeline:
    entries = repository.timeline_of(uow.connection, case_id)
    return {"entries": entries, "durations": chain_durations(entries)}


def get_work_order(uow: UnitOfWork, order_id: int, scope: WorkScope = ALL_WORK) -> WorkOrder:
    """One work order; outside the caller's scope it does not exist (the same 404)."""
    found = repository.get_work_order(uow.connection, order_id, scope=scope)
    if found is None:
        raise NotFound(f"no work order {order_id}", code="unknown_work_order")
    return found[0]


def work_order_deadlines(uow: UnitOfWork, order_id: int) -> tuple[datetime | None, datetime | None]:
    found = repository.get_work_order(uow.connection, order_id)
    if found is None:
        raise NotFound(f"no work order {order_id}", code="unknown_work_order")
    row = found[1]
    return row["response_due_at"], row["resolution_due_at"]


def query_work_orders(
    uow: UnitOfWork,
    *,
    states: Sequence[WorkOrderState] = (),
    case_id: int | None = None,
    order_id: int | None = None,
    scope: WorkScope = ALL_WORK,
    offset: int = 0,
    limit: int = 100,
) -> list[tuple[WorkOrder, datetime | None, datetime | None]]:
    """Work orders with their deadlines, newest first, within the caller's scope
    (``policy.work_order_scope``)."""
    w = repository.work_orders.c
    where: list[Any] = []
    if states:
        where.append(w.state.in_([s.value for s in states]))
    if case_id is not None:
        where.append(w.case_id == case_id)
    if order_id is not None:
        where.append(w.id == order_id)
    if not scope.unrestricted:
        where.append(repository.work_order_scope_clause(scope))
    return [
        (order, row["response_due_at"], row["resolution_due_at"])
        for order, row in repository.find_work_orders(uow.connection, where, offset, limit)
    ]


# --- chain statistics --------------------------------------------------------------------------


def chain_stats(
    uow: UnitOfWork,
    *,
    since: datetime,
    until: datetime,
    scope: WorkScope = ALL_WORK,
) -> ChainStats:
    """Where time goes along the chain, for the cases opened in [since, until): each link's
    count, median and 90th percentile in seconds, overall and per team, per public or private
    side, and per commune."""
    c = repository.cases.c
    where: list[Any] = [c.opened_at >= since, c.opened_at < until]
    if not scope.unrestricted:
        where.append(repository.case_scope_clause(scope))
    rows = uow.connection.execute(
        select(c.id, c.team, c.sector, c.commune_insee).where(*where).order_by(c.id)
    ).all()
    groups: dict[str, dict[str, dict[str, list[float]]]] = {
        "overall": {},
        "team": {},
        "sector": {},
        "commune": {},
    }
    for case_id, team, sector, commune in rows:
        durations = chain_durations(repository.timeline_of(uow.connection, int(case_id)))
        keys = {
            "overall": "all",
            "team": team or "command-post",
            "sector": sector or "public",
            "commune": commune or "unknown",
        }
        for link in durations.links:
            seconds = link.duration.total_seconds()
            for dimension, key in keys.items():
                groups[dimension].setdefault(key, {}).setdefault(link.name, []).append(seconds)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "cases": len(rows),
        "overall": _summaries(groups["overall"]),
        "team": _summaries(groups["team"]),
        "sector": _summaries(groups["sector"]),
        "commune": _summaries(groups["commune"]),
    }


def _summaries(by_key: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, LinkSummary]]:
    return {
        key: {name: _summary(values) for name, values in sorted(links.items())}
        for key, links in sorted(by_key.items())
    }


def _summary(values: list[float]) -> LinkSummary:
    ordered = sorted(values)
    n = len(ordered)
    return {
        "count": n,
        "median_s": ordered[(n - 1) // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2,
        "p90_s": ordered[min(n - 1, round(0.9 * (n - 1)))],
    }
