"""How cases plug into the platform: alarms and citizen reports open cases, the cases' and work
orders' steps go on the live stream, and housekeeping opens what a handler missed and announces
the deadlines that fell due."""

from __future__ import annotations

from collections.abc import Callable

from metropilot.alarms.model import AlarmRaised
from metropilot.cases import services
from metropilot.cases.model import (
    CaseOpened,
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
from metropilot.db.wiring import Wiring
from metropilot.reports.model import ReportSubmitted
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


def wire(w: Wiring) -> None:
    def on_alarm(event: AlarmRaised) -> None:
        if not event.opens_case or event.suppressed_by is not None:
            return
        with w.uow_factory(write=True) as uow:
            services.open_for_alarm(uow, event.alarm_id)
            uow.commit()

    def on_report(event: ReportSubmitted) -> None:
        with w.uow_factory(write=True) as uow:
            services.open_for_report(uow, event.report_id)
            uow.commit()

    w.on(AlarmRaised, on_alarm)
    w.on(ReportSubmitted, on_report)
    w.journal(CaseOpened, generic_mapper(CASE_OPENED))
    w.journal(CaseRouted, generic_mapper(CASE_ROUTED))
    w.journal(CaseTriaged, generic_mapper(CASE_TRIAGED))
    w.journal(WorkOrderSlaAlert, generic_mapper(WORK_ORDER_SLA))
    for event_type, step in WORK_ORDER_STEPS.items():
        w.journal(event_type, work_order_mapper(step))
    w.housekeeping("cases", lambda: open_missed_and_announce(w))


def open_missed_and_announce(w: Wiring) -> None:
    """Alarms and reports whose case an event handler missed (a crash in between), and the SLA
    warnings and breaches that fell due."""
    with w.uow_factory(write=True) as uow:
        services.open_pending(uow)
        services.announce_deadlines(uow)
        uow.commit()


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
