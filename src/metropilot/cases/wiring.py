"""How cases plug into the platform: alarms and citizen reports open cases; a resolved case fixes
its reports and clears its alarms (through the reports' and alarms' own functions, once the case
is committed); the cases' and work orders' steps go on the live stream; and housekeeping opens
what a handler missed, closes the loops a handler left open, and announces the deadlines that
fell due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from metropilot.alarms import services as alarms_services
from metropilot.alarms.model import AlarmRaised
from metropilot.cases import services
from metropilot.cases.model import (
    CaseOpened,
    CaseResolved,
    CaseRouted,
    CaseTriaged,
    WorkOrderAccepted,
    WorkOrderCancelled,
    WorkOrderCompleted,
    WorkOrderDispatched,
    WorkOrderEvent,
    WorkOrderRefused,
    WorkOrderRejected,
    WorkOrderSlaAlert,
    WorkOrderStateChanged,
    WorkOrderVerified,
)
from metropilot.cases.services import loop
from metropilot.db.uow import UnitOfWork
from metropilot.db.wiring import Wiring
from metropilot.reports import services as reports_services
from metropilot.reports.model import ReportSubmitted
from metropilot.shared.actors import SYSTEM
from metropilot.shared.clock import utcnow
from metropilot.shared.journal import JournalEntry
from metropilot.stream.journal import generic_mapper
from metropilot.stream.model import (
    CASE_OPENED,
    CASE_ROUTED,
    CASE_TRIAGED,
    WORK_ORDER_CHANGED,
    WORK_ORDER_SLA,
)

__all__ = ["wire", "work_order_entry"]

# A work order's steps, and the step each names on the stream.
WORK_ORDER_STEPS: dict[type[WorkOrderEvent], str] = {
    WorkOrderDispatched: "dispatched",
    WorkOrderAccepted: "accepted",
    WorkOrderRefused: "refused",
    WorkOrderStateChanged: "moved",
    WorkOrderCompleted: "done",
    WorkOrderVerified: "verified",
    WorkOrderRejected: "rejected",
    WorkOrderCancelled: "cancelled",
}


# How far back the housekeeping looks for resolved cases whose reports and alarms did not follow
# (a handler that failed, a process stopped right after the case's commit).
LOOP_WINDOW = timedelta(days=2)


def wire(w: Wiring) -> None:
    def on_alarm(event: AlarmRaised) -> None:
        if not event.opens_case or event.suppressed_by is not None:
            return
        with w.uow_factory(write=True) as uow:
            if event.reopened or event.released:
                # Raised again: the case takes the alarm's first raise, which the event lacks.
                services.open_for_alarm(uow, event.alarm_id)
            else:
                services.open_for_raised_alarm(uow, raised_alarm(event))
            uow.commit()

    def on_report(event: ReportSubmitted) -> None:
        # The case takes the report's description and when it was made: read back.
        with w.uow_factory(write=True) as uow:
            services.open_for_report(uow, event.report_id)
            uow.commit()

    def on_resolved(event: CaseResolved) -> None:
        with w.uow_factory(write=True) as uow:
            close_the_loop(
                uow,
                event.case_id,
                event.alarm_ids,
                event.report_ids,
                event.note,
                at=event.occurred_at,
            )
            uow.commit()

    w.on(AlarmRaised, on_alarm)
    w.on(ReportSubmitted, on_report)
    w.on(CaseResolved, on_resolved)
    w.journal(CaseOpened, generic_mapper(CASE_OPENED))
    w.journal(CaseRouted, generic_mapper(CASE_ROUTED))
    w.journal(CaseTriaged, generic_mapper(CASE_TRIAGED))
    w.journal(WorkOrderSlaAlert, generic_mapper(WORK_ORDER_SLA))
    for event_type, step in WORK_ORDER_STEPS.items():
        w.journal(event_type, work_order_mapper(step))
    w.housekeeping("cases", lambda: housekeeping(w))


def raised_alarm(event: AlarmRaised) -> services.RaisedAlarm:
    """What a case takes of a newly raised alarm, from its event (the alarm's message is stored
    cut at 300 characters; it was raised when the event occurred)."""
    return services.RaisedAlarm(
        alarm_id=event.alarm_id,
        asset_id=event.asset_id,
        severity=event.severity,
        rule_code=event.rule_code,
        rule_name=event.rule_name,
        message=event.message[:300],
        raised_at=event.occurred_at,
    )


def close_the_loop(
    uow: UnitOfWork,
    case_id: int,
    alarm_ids: tuple[int, ...],
    report_ids: tuple[int, ...],
    note: str,
    *,
    at: datetime,
) -> None:
    """A resolved case fixes its open citizen reports, whose reporters hear of it; its alarms on
    equipment that is not connected clear at once. Idempotent: what already followed is left
    as it is."""
    for alarm_id in loop.alarms_to_clear(uow, alarm_ids):
        alarms_services.clear(
            uow,
            alarm_id,
            f"case {case_id} resolved (the equipment is not connected)",
            SYSTEM,
            now=at,
        )
    fixed = reports_services.resolve_for_case(
        uow, report_ids, SYSTEM, note=f"Fixed. {note}".strip() if note else "", now=at
    )
    if fixed:
        loop.note_citizens_informed(uow, case_id, at)


def housekeeping(w: Wiring) -> None:
    """Alarms and reports whose case an event handler missed (a crash in between), the SLA
    warnings and breaches that fell due, and the resolved cases whose reports and alarms did not
    follow."""
    with w.uow_factory(write=True) as uow:
        services.open_pending(uow)
        services.announce_deadlines(uow)
        uow.commit()
    close_pending_loops(w)


def close_pending_loops(w: Wiring) -> int:
    """Close, each in a transaction of its own, the loops of resolved cases that a handler left
    open; returns how many."""
    with w.uow_factory() as uow:
        pending = loop.pending_loops(uow, since=utcnow() - LOOP_WINDOW)
    for case in pending:
        with w.uow_factory(write=True) as uow:
            close_the_loop(
                uow, case.case_id, case.alarm_ids, case.report_ids, case.note, at=utcnow()
            )
            uow.commit()
    return len(pending)


def work_order_mapper(step: str) -> Callable[[WorkOrderEvent], JournalEntry]:
    return lambda event: work_order_entry(event, step)


def work_order_entry(event: WorkOrderEvent, step: str) -> JournalEntry:
    """A work order's step, without who acted or their note (those are in the case's timeline
    for those who may read it): the order, its case, the states, the team."""
    return JournalEntry(
        type=WORK_ORDER_CHANGED,
        at=event.occurred_at,
        payload={
            "work_order": event.work_order_id,
            "case": event.case_id,
            "step": step,
            "state": event.state,
            "case_state": event.case_state,
            "category": event.category,
            "priority": event.priority,
            "team": event.team,
            "organisation": event.organisation,
            "asset": event.asset_id,
            "commune": event.commune_insee,
            "kind": event.kind,
        },
        asset_id=event.asset_id,
        commune_insee=event.commune_insee,
        maintainer_id=event.organisation_id,
        kind=event.kind,
        maintainer_known=event.organisation_id is not None,
    )
