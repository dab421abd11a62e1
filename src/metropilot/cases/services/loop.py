"""Closing the loop: what the cases context keeps of a resolved case's consequences on its
reports and alarms (those are changed by their own contexts, called from ``cases.wiring`` once
the case is committed), and which resolved cases still have consequences pending — a handler
failed, or the process stopped between the case's commit and the handler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select

from metropilot.alarms import queries as alarms_queries
from metropilot.cases import repository
from metropilot.cases.model import Case, CaseState, Milestone, TimelineEntry, WorkOrderState
from metropilot.db.uow import UnitOfWork
from metropilot.reports import queries as reports_queries
from metropilot.telemetry import queries as telemetry_queries

__all__ = ["PendingLoop", "alarms_to_clear", "note_citizens_informed", "pending_loops"]

# How many resolved cases a round of the housekeeping looks at, at most.
PENDING_BATCH = 1000


@dataclass(frozen=True, slots=True)
class PendingLoop:
    """A resolved (or since closed) case whose reports or alarms did not follow: those still to
    change, and what the reporters read."""

    case_id: int
    resolved_at: datetime
    alarm_ids: tuple[int, ...]
    report_ids: tuple[int, ...]
    note: str


def alarms_to_clear(uow: UnitOfWork, alarm_ids: tuple[int, ...]) -> list[int]:
    """The alarms a resolved case clears: those not cleared yet on equipment that is not
    connected (it never reports, so nothing else would clear them). Connected equipment clears
    its own alarms when it reports healthy again."""
    uncleared = alarms_queries.uncleared_alarms(uow.connection, alarm_ids)
    connected = telemetry_queries.connected_assets(
        uow.connection, [alarm.asset_id for alarm in uncleared]
    )
    return [alarm.id for alarm in uncleared if alarm.asset_id not in connected]


def note_citizens_informed(uow: UnitOfWork, case_id: int, at: datetime) -> None:
    repository.add_timeline(
        uow.connection,
        case_id,
        TimelineEntry(at, Milestone.CITIZEN_INFORMED, "system:reports"),
    )


def pending_loops(uow: UnitOfWork, *, since: datetime) -> list[PendingLoop]:
    """The cases resolved since ``since`` (and still resolved or closed) whose open reports were
    not told — no citizen informed since the resolution — or whose alarms on equipment that is
    not connected, there when the case was resolved, are not cleared."""
    c, links = repository.cases.c, repository.case_links.c
    resolved = repository.find_cases(
        uow.connection,
        [
            c.state.in_([CaseState.RESOLVED.value, CaseState.CLOSED.value]),
            c.resolved_at.is_not(None),
            c.resolved_at >= since,
            exists().where(links.case_id == c.id),
        ],
        0,
        PENDING_BATCH,
    )
    conn = uow.connection
    open_reports = reports_queries.open_report_ids(
        conn, [r for case in resolved for r in case.report_ids]
    )
    clearable = set(alarms_to_clear(uow, tuple(a for case in resolved for a in case.alarm_ids)))
    raised = {
        alarm.id: alarm.last_raised_at
        for alarm in alarms_queries.uncleared_alarms(conn, sorted(clearable))
    }
    informed = _informed_since_resolution(uow, [case for case in resolved if case.report_ids])
    pending = []
    for case in resolved:
        assert case.resolved_at is not None
        reports = (
            () if case.id in informed else tuple(r for r in case.report_ids if r in open_reports)
        )
        alarms = tuple(a for a in case.alarm_ids if a in raised and raised[a] <= case.resolved_at)
        if reports or alarms:
            pending.append(
                PendingLoop(case.id, case.resolved_at, alarms, reports, _resolution_note(uow, case))
            )
    return pending


def _informed_since_resolution(uow: UnitOfWork, cases: list[Case]) -> set[int]:
    """Those of the cases whose citizens were informed since the case was last resolved."""
    if not cases:
        return set()
    t = repository.case_timeline.c
    rows = uow.connection.execute(
        select(t.case_id, t.at).where(
            t.case_id.in_([case.id for case in cases]),
            t.what == Milestone.CITIZEN_INFORMED.value,
        )
    ).all()
    resolved_at = {case.id: case.resolved_at for case in cases}
    return {
        int(case_id)
        for case_id, at in rows
        if (since := resolved_at[int(case_id)]) is not None and at >= since
    }


def _resolution_note(uow: UnitOfWork, case: Case) -> str:
    """What the reporters read of the resolution: the verified order's note when the platform
    resolved the case following its orders, the operator's reason when one resolved it."""
    entries = repository.timeline_of(uow.connection, case.id)
    resolution = next((e for e in reversed(entries) if e.what is Milestone.RESOLVED), None)
    if resolution is None or resolution.actor != "system:cases":
        return resolution.note if resolution else ""
    orders = repository.work_orders_of(uow.connection, case.id, case.reopened_count)
    verified = next((o for o in orders if o.state is WorkOrderState.VERIFIED), None)
    return verified.note if verified else ""
