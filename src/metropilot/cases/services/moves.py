"""The command post's own moves of a case: wait on a third party (the SLA clock pauses) and
resume, resolve, close, cancel (its live orders too), reopen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from metropilot.cases import repository
from metropilot.cases.model import (
    LIVE_WORK_ORDER_STATES,
    ActorRole,
    Case,
    CaseAction,
    CaseCancelled,
    CaseClosed,
    CaseEvent,
    CaseReopened,
    CaseResolved,
    CaseState,
    CaseStateChanged,
    Milestone,
    WorkOrderAction,
    actor_role,
    transition_case,
    transition_work_order,
)
from metropilot.cases.services.reading import get_case
from metropilot.cases.services.recording import event_fields, record_step
from metropilot.cases.services.sla import deadlines
from metropilot.cases.sla import Pause
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput
from metropilot.shared.scope import ALL_WORK, WorkScope

__all__ = ["CASE_MILESTONES", "move_case"]

CASE_MILESTONES = {
    CaseAction.WAIT_THIRD_PARTY: Milestone.WAITING_THIRD_PARTY,
    CaseAction.RESUME: Milestone.RESUMED,
    CaseAction.RESOLVE: Milestone.RESOLVED,
    CaseAction.CLOSE: Milestone.CLOSED,
    CaseAction.CANCEL: Milestone.CANCELLED,
    CaseAction.REOPEN: Milestone.REOPENED,
}


def move_case(
    uow: UnitOfWork,
    case_id: int,
    action: CaseAction,
    actor: Actor,
    actor_account_role: str | None,
    *,
    reason: str | None = None,
    scope: WorkScope = ALL_WORK,
) -> Case:
    """The command post's own moves of a case: wait on a third party (the SLA clock pauses)
    and resume, resolve, close, cancel (its live orders too), reopen. A resolved case's
    reports and alarms follow once it is committed (``CaseResolved``)."""
    case = get_case(uow, case_id, for_update=True, scope=scope)
    if action not in CASE_MILESTONES:
        raise InvalidInput(f"{action.value} is not done by hand here", code="not_a_case_move")
    target = transition_case(case.state, action, actor_role(actor_account_role), reason=reason)
    now = utcnow()
    values = {"state": target.value, "updated_at": now} | _moved_columns(uow, case, action, now)
    if action is CaseAction.WAIT_THIRD_PARTY:
        values["sla_pauses"] = _pauses_json(
            [*_pauses_of(uow, case_id), Pause(now, None, (reason or "").strip())]
        )
    if action in (CaseAction.CANCEL, CaseAction.RESOLVE):
        _cancel_live_orders(uow, case, target, now)
    repository.update_case(uow.connection, case_id, values)
    note = (reason or "").strip()
    record_step(uow, case_id, now, CASE_MILESTONES[action], actor, note=note)
    uow.audit(
        AuditEntry(
            actor,
            f"case.{action.value}",
            "case",
            str(case_id),
            {"state": [case.state.value, target.value]},
        )
    )
    changed = get_case(uow, case_id)
    uow.record(_moved_event(changed, case.state, action, actor, note, now))
    return changed


def _moved_columns(
    uow: UnitOfWork, case: Case, action: CaseAction, now: datetime
) -> dict[str, Any]:
    """What a move changes of the case beside its state (the pauses of its SLA clock, when it
    was resolved or closed, how many times it was reopened)."""
    if action is CaseAction.RESUME:
        pauses = [
            p if not p.ongoing else Pause(p.started_at, now, p.reason)
            for p in _pauses_of(uow, case.id)
        ]
        _reschedule(uow, case, pauses)
        return {"sla_pauses": _pauses_json(pauses)}
    if action is CaseAction.RESOLVE:
        return {"resolved_at": now}
    if action is CaseAction.CLOSE:
        return {"closed_at": now}
    if action is CaseAction.REOPEN:
        return {
            "reopened_count": case.reopened_count + 1,
            "resolved_at": None,
            "closed_at": None,
            "sla_pauses": [],
        }
    return {}


def _moved_event(
    case: Case, previous: CaseState, action: CaseAction, actor: Actor, note: str, now: datetime
) -> CaseEvent:
    """What a move tells the platform: how a case ended (or came back), with the reports and
    alarms that follow it, or any other move."""
    common = event_fields(case, actor) | {"previous": previous.value}
    alarms, reports = case.alarm_ids, case.report_ids
    if action is CaseAction.RESOLVE:
        return CaseResolved(
            **common, alarm_ids=alarms, report_ids=reports, note=note, occurred_at=now
        )
    if action is CaseAction.CLOSE:
        return CaseClosed(
            **common, alarm_ids=alarms, report_ids=reports, reason=note, occurred_at=now
        )
    if action is CaseAction.CANCEL:
        return CaseCancelled(
            **common, alarm_ids=alarms, report_ids=reports, reason=note, occurred_at=now
        )
    if action is CaseAction.REOPEN:
        return CaseReopened(
            **common, alarm_ids=alarms, report_ids=reports, reason=note, occurred_at=now
        )
    return CaseStateChanged(**common, action=action.value, reason=note)


def _cancel_live_orders(uow: UnitOfWork, case: Case, target: CaseState, now: datetime) -> None:
    for order in repository.work_orders_of(uow.connection, case.id, case.reopened_count):
        if order.state in LIVE_WORK_ORDER_STATES:
            cancelled = transition_work_order(
                order.state,
                WorkOrderAction.CANCEL,
                ActorRole.SYSTEM,
                reason=f"the case was {target.value}",
            )
            repository.update_work_order(
                uow.connection,
                order.id,
                {"state": cancelled.value, "updated_at": now, "reason": f"case {target.value}"},
            )


# --- the pauses of the SLA clock ---------------------------------------------------------------


def _pauses_of(uow: UnitOfWork, case_id: int) -> list[Pause]:
    c = repository.cases.c
    raw = uow.connection.execute(select(c.sla_pauses).where(c.id == case_id)).scalar_one()
    return [
        Pause(
            started_at=datetime.fromisoformat(start),
            ended_at=datetime.fromisoformat(end) if end else None,
            reason=reason,
        )
        for start, end, reason in (raw or [])
    ]


def _pauses_json(pauses: Sequence[Pause]) -> list[list[str | None]]:
    return [
        [p.started_at.isoformat(), p.ended_at.isoformat() if p.ended_at else None, p.reason]
        for p in pauses
    ]


def _reschedule(uow: UnitOfWork, case: Case, pauses: Sequence[Pause]) -> None:
    """Move the live orders' deadlines and warning points by the paused working time."""
    for order in repository.work_orders_of(uow.connection, case.id, case.reopened_count):
        if order.state not in LIVE_WORK_ORDER_STATES or order.dispatched_at is None:
            continue
        values = deadlines(uow, order.assignee.team, case.priority, order.dispatched_at, pauses)
        repository.update_work_order(uow.connection, order.id, values)
