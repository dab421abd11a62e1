"""Work orders: a case sent to its team, the team's and the command post's steps on it, the
photos of the work, and how the case follows its orders (a verified order resolves it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from metropilot.cases import repository
from metropilot.cases.model import (
    ActorRole,
    Case,
    CaseAction,
    CaseResolved,
    CaseState,
    CaseStateChanged,
    Milestone,
    TimelineEntry,
    WorkOrder,
    WorkOrderAction,
    WorkOrderDispatched,
    WorkOrderState,
    WorkOrderStateChanged,
    actor_role,
    case_state_after_orders,
    transition_case,
    transition_work_order,
)
from metropilot.cases.services.reading import get_case, get_work_order
from metropilot.cases.services.recording import event_fields, record_step
from metropilot.cases.services.sla import deadlines
from metropilot.db.uow import UnitOfWork
from metropilot.reports.photos import PhotoLimits, store_photos
from metropilot.reports.storage import PhotoStorage
from metropilot.shared.actors import SYSTEM, Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from metropilot.shared.scope import ALL_WORK, WorkScope

__all__ = ["MAX_ORDER_PHOTOS", "act", "attach_order_photos", "dispatch"]

ACTION_MILESTONES = {
    WorkOrderAction.ACCEPT: Milestone.ACCEPTED,
    WorkOrderAction.REFUSE: Milestone.REFUSED,
    WorkOrderAction.EN_ROUTE: Milestone.EN_ROUTE,
    WorkOrderAction.ON_SITE: Milestone.ON_SITE,
    WorkOrderAction.DONE: Milestone.DONE,
    WorkOrderAction.VERIFY: Milestone.VERIFIED,
    WorkOrderAction.REJECT: Milestone.REJECTED,
    WorkOrderAction.CLOSE: Milestone.CLOSED,
    WorkOrderAction.CANCEL: Milestone.CANCELLED,
}
ACTION_TIMES = {
    WorkOrderAction.ACCEPT: "accepted_at",
    WorkOrderAction.ON_SITE: "on_site_at",
    WorkOrderAction.DONE: "done_at",
    WorkOrderAction.VERIFY: "verified_at",
}


def dispatch(
    uow: UnitOfWork,
    case_id: int,
    actor: Actor,
    actor_account_role: str | None,
    *,
    instructions: str = "",
    scope: WorkScope = ALL_WORK,
) -> WorkOrder:
    """Send a case to its team as a work order; the SLA deadlines start now."""
    case = get_case(uow, case_id, for_update=True, scope=scope)
    role = actor_role(actor_account_role)
    if case.assignee is None:
        raise InvalidInput(
            "this case has no team yet: add a routing rule, or triage it into a category that "
            "one routes",
            code="no_team",
        )
    case_state = transition_case(case.state, CaseAction.DISPATCH, role)
    order_state = transition_work_order(WorkOrderState.CREATED, WorkOrderAction.DISPATCH, role)
    now = utcnow()
    assignee = case.assignee
    order_id = repository.insert_work_order(
        uow.connection,
        {
            "case_id": case_id,
            "round": case.reopened_count,
            "state": order_state.value,
            "team": assignee.team,
            "team_id": assignee.team_id,
            "organisation": assignee.organisation,
            "organisation_id": assignee.organisation_id,
            "sector": assignee.sector,
            "instructions": instructions[:2000],
            "note": "",
            "photos": [],
            "reason": "",
            "created_at": now,
            "updated_at": now,
            "dispatched_at": now,
            **deadlines(uow, assignee.team, case.priority, now),
        },
    )
    repository.update_case(uow.connection, case_id, {"state": case_state.value, "updated_at": now})
    record_step(uow, case_id, now, Milestone.DISPATCHED, actor, work_order_id=order_id)
    uow.audit(AuditEntry(actor, "work_order.dispatched", "work_order", str(order_id)))
    changed = get_case(uow, case_id)
    uow.record(
        WorkOrderDispatched(
            **event_fields(changed, actor) | {"state": order_state.value},
            work_order_id=order_id,
            case_state=case_state.value,
        )
    )
    return get_work_order(uow, order_id)


def _order_for_update(uow: UnitOfWork, order_id: int, scope: WorkScope) -> WorkOrder:
    found = repository.get_work_order(uow.connection, order_id, for_update=True, scope=scope)
    if found is None:
        raise NotFound(f"no work order {order_id}", code="unknown_work_order")
    return found[0]


def _on_team(actor: Actor, order: WorkOrder) -> bool:
    return actor.organisation is not None and actor.organisation == order.assignee.organisation


def act(
    uow: UnitOfWork,
    order_id: int,
    action: WorkOrderAction,
    actor: Actor,
    actor_account_role: str | None,
    *,
    note: str | None = None,
    scope: WorkScope = ALL_WORK,
) -> WorkOrder:
    """A step of a work order by its team (accept, refuse, en route, on site, done) or by the
    command post (verify, reject, close, cancel); the case follows, and a verified order
    resolves its case (whose reports and alarms follow once it is committed: ``CaseResolved``)."""
    order = _order_for_update(uow, order_id, scope)
    role = actor_role(actor_account_role, on_assigned_team=_on_team(actor, order))
    target = transition_work_order(order.state, action, role, reason=note)
    now = utcnow()
    values: dict[str, Any] = {"state": target.value, "updated_at": now}
    if action in ACTION_TIMES:
        values[ACTION_TIMES[action]] = now
    if action is WorkOrderAction.DONE:
        values["note"] = (note or "").strip()
    elif note and action in (
        WorkOrderAction.REFUSE,
        WorkOrderAction.REJECT,
        WorkOrderAction.CANCEL,
    ):
        values["reason"] = note.strip()
    repository.update_work_order(uow.connection, order_id, values)
    case = get_case(uow, order.case_id, for_update=True)
    record_step(
        uow,
        case.id,
        now,
        ACTION_MILESTONES[action],
        actor,
        work_order_id=order_id,
        note=(note or "").strip(),
    )
    uow.audit(
        AuditEntry(
            actor,
            f"work_order.{action.value}",
            "work_order",
            str(order_id),
            {"state": [order.state.value, target.value]},
        )
    )
    uow.record(
        WorkOrderStateChanged(
            **event_fields(case, actor) | {"state": target.value},
            work_order_id=order_id,
            case_state=case.state.value,
            previous=order.state.value,
            action=action.value,
        )
    )
    _follow_orders(uow, case, order_id, now)
    return get_work_order(uow, order_id)


def _follow_orders(uow: UnitOfWork, case: Case, order_id: int, now: datetime) -> None:
    """The case follows its orders of the current round (see ``case_follow_up``)."""
    orders = repository.work_orders_of(uow.connection, case.id, case.reopened_count)
    target = case_state_after_orders(case.state, [o.state for o in orders])
    if target is case.state:
        return
    values: dict[str, Any] = {"state": target.value, "updated_at": now}
    if target is CaseState.RESOLVED:
        values["resolved_at"] = now
    repository.update_case(uow.connection, case.id, values)
    milestone = {
        CaseState.RESOLVED: Milestone.RESOLVED,
        CaseState.OPEN: Milestone.RETURNED_TO_TRIAGE,
    }.get(target)
    if milestone is not None:
        repository.add_timeline(
            uow.connection, case.id, TimelineEntry(now, milestone, "system:cases")
        )
    changed = get_case(uow, case.id)
    if target is CaseState.RESOLVED:
        verified = next((o for o in orders if o.state is WorkOrderState.VERIFIED), None)
        uow.record(
            CaseResolved(
                **event_fields(changed, SYSTEM),
                previous=case.state.value,
                alarm_ids=changed.alarm_ids,
                report_ids=changed.report_ids,
                work_order_id=verified.id if verified else order_id,
                note=verified.note if verified else "",
                occurred_at=now,
            )
        )
    else:
        uow.record(
            CaseStateChanged(
                **event_fields(changed, SYSTEM),
                previous=case.state.value,
                action="follow_orders",
            )
        )


# --- photos of work done -------------------------------------------------------------------------

MAX_ORDER_PHOTOS = 5


def attach_order_photos(
    uow: UnitOfWork,
    order_id: int,
    photos: Sequence[bytes],
    storage: PhotoStorage,
    actor: Actor,
    actor_account_role: str | None,
    scope: WorkScope = ALL_WORK,
) -> WorkOrder:
    """Photos of the work, by the order's team while it is on site or just done: checked and
    stripped of their metadata like citizens' photos, all or none, at most 5 an order."""
    order = _order_for_update(uow, order_id, scope)
    role = actor_role(actor_account_role, on_assigned_team=_on_team(actor, order))
    if role is not ActorRole.ASSIGNED_TEAM:
        raise Forbidden("only the order's team adds photos of its work", code="not_the_team")
    if order.state not in (WorkOrderState.ON_SITE, WorkOrderState.DONE):
        raise Conflict(
            f"photos of the work are added on site or once done, not when {order.state.value}",
            code="illegal_transition",
        )
    limits = PhotoLimits(max_per_report=MAX_ORDER_PHOTOS)
    stored = store_photos(
        storage, f"order-{order_id}", photos, limits, already_stored=len(order.photos)
    )
    keys = [*order.photos, *(photo.key for photo in stored)]
    repository.update_work_order(uow.connection, order_id, {"photos": keys, "updated_at": utcnow()})
    uow.audit(
        AuditEntry(
            actor,
            "work_order.photos_added",
            "work_order",
            str(order_id),
            {"photos": [len(order.photos), len(keys)]},
        )
    )
    return get_work_order(uow, order_id)
