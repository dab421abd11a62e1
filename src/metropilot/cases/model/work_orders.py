"""Work orders: their states, who may move them, and how a case follows its orders. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from metropilot.cases.model.cases import (
    HUMANS,
    HUMANS_OR_PLATFORM,
    ActorRole,
    Assignee,
    CaseAction,
    CaseState,
    check_reason,
    parse_choice,
    roles_text,
    transition_case,
)
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput

# --- work orders ---------------------------------------------------------------------------------


class WorkOrderState(StrEnum):
    CREATED = "created"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REFUSED = "refused"  # the team said no (with a reason): the case goes back to triage
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    DONE = "done"  # the team says it is finished, with a note (and photos)
    VERIFIED = "verified"  # the command post checked the work: it resolves the case
    CLOSED = "closed"
    REOPENED = "reopened"  # rejected at verification: back to the team
    CANCELLED = "cancelled"


class WorkOrderAction(StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    REFUSE = "refuse"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    DONE = "done"
    VERIFY = "verify"
    REJECT = "reject"
    CLOSE = "close"
    CANCEL = "cancel"


FINAL_WORK_ORDER_STATES = frozenset(
    {WorkOrderState.REFUSED, WorkOrderState.CLOSED, WorkOrderState.CANCELLED}
)
# Nothing more will happen on the ground: the order counts for its case's resolution.
SETTLED_WORK_ORDER_STATES = FINAL_WORK_ORDER_STATES | {WorkOrderState.VERIFIED}
LIVE_WORK_ORDER_STATES = frozenset(set(WorkOrderState) - SETTLED_WORK_ORDER_STATES)
# A team has taken the order on (it is working, or its work is being checked).
_TAKEN_ON = frozenset(
    {
        WorkOrderState.ACCEPTED,
        WorkOrderState.EN_ROUTE,
        WorkOrderState.ON_SITE,
        WorkOrderState.DONE,
        WorkOrderState.REOPENED,
    }
)

_W = WorkOrderState
_WA = WorkOrderAction
WORK_ORDER_TRANSITIONS: Mapping[tuple[WorkOrderState, WorkOrderAction], WorkOrderState] = {
    (_W.CREATED, _WA.DISPATCH): _W.DISPATCHED,
    (_W.DISPATCHED, _WA.ACCEPT): _W.ACCEPTED,
    (_W.DISPATCHED, _WA.REFUSE): _W.REFUSED,
    (_W.ACCEPTED, _WA.EN_ROUTE): _W.EN_ROUTE,
    (_W.REOPENED, _WA.EN_ROUTE): _W.EN_ROUTE,
    (_W.EN_ROUTE, _WA.ON_SITE): _W.ON_SITE,
    # A team already nearby (or still there after a rejection) skips the journey.
    (_W.ACCEPTED, _WA.ON_SITE): _W.ON_SITE,
    (_W.REOPENED, _WA.ON_SITE): _W.ON_SITE,
    (_W.ON_SITE, _WA.DONE): _W.DONE,
    (_W.DONE, _WA.VERIFY): _W.VERIFIED,
    (_W.DONE, _WA.REJECT): _W.REOPENED,
    (_W.VERIFIED, _WA.CLOSE): _W.CLOSED,
    # Cancelled from any state where work may still happen; a verified order already resolved
    # its case, so cancelling it would rewrite what was checked.
    **{(state, _WA.CANCEL): _W.CANCELLED for state in LIVE_WORK_ORDER_STATES},
}

_TEAM = frozenset({ActorRole.ASSIGNED_TEAM})
WORK_ORDER_ACTION_ROLES: Mapping[WorkOrderAction, frozenset[ActorRole]] = {
    _WA.DISPATCH: HUMANS_OR_PLATFORM,  # the platform dispatches when a routing rule decides
    _WA.ACCEPT: _TEAM,
    _WA.REFUSE: _TEAM,
    _WA.EN_ROUTE: _TEAM,
    _WA.ON_SITE: _TEAM,
    _WA.DONE: _TEAM,
    # The platform verifies connected equipment that reports healthy again.
    _WA.VERIFY: HUMANS_OR_PLATFORM,
    _WA.REJECT: HUMANS,
    _WA.CLOSE: HUMANS_OR_PLATFORM,
    _WA.CANCEL: HUMANS_OR_PLATFORM,  # the platform cancels the orders of a cancelled case
}
# Actions that must say why; ``done`` must carry the team's note.
WORK_ORDER_REASON_REQUIRED = frozenset({_WA.REFUSE, _WA.REJECT, _WA.CANCEL, _WA.DONE})


def transition_work_order(
    current: WorkOrderState,
    action: WorkOrderAction,
    role: ActorRole,
    *,
    reason: str | None = None,
) -> WorkOrderState:
    """The state a work order moves to. ``reason`` is the reason of a refusal, a rejection or a
    cancellation, and the team's note for ``done``. Refuses, in this order: a role that may
    never take the action (``Forbidden``), an action the current state does not allow
    (``Conflict``, ``illegal_transition``), a missing reason or note (``InvalidInput``)."""
    allowed = WORK_ORDER_ACTION_ROLES[action]
    if role not in allowed:
        raise Forbidden(
            f"a {role.value} may not {action.value.replace('_', ' ')} a work order; only: "
            f"{roles_text(allowed)}",
            code="role_not_allowed",
        )
    target = WORK_ORDER_TRANSITIONS.get((current, action))
    if target is None:
        possible = sorted(a.value for (s, a) in WORK_ORDER_TRANSITIONS if s is current)
        raise Conflict(
            f"cannot {action.value.replace('_', ' ')} a work order that is {current.value}; "
            f"from {current.value}: {', '.join(possible) or 'nothing (it is final)'}",
            code="illegal_transition",
        )
    if action is _WA.DONE:
        if not (reason or "").strip():
            raise InvalidInput(
                "a work order is done with a note saying what was done", code="note_required"
            )
        check_reason(reason, "finish a work order")
    elif action in WORK_ORDER_REASON_REQUIRED:
        check_reason(reason, f"{action.value} a work order")
    return target


# --- a case follows its orders -------------------------------------------------------------------


def case_follow_up(current: CaseState, orders: Iterable[WorkOrderState]) -> CaseAction | None:
    """What the platform does to a case after one of its orders changed, or ``None``.

    ``orders`` are the case's orders of the current round: those created since the case was
    last reopened (orders verified before a reopening already resolved it once).
    - every order settled and at least one verified (or closed, which follows verification):
      the case is resolved — "a verified work order resolves its case";
    - every order settled and none verified (all refused or cancelled): back to triage;
    - a team has taken an order on while the case was only dispatched: in progress.
    A case waiting on a third party stays paused until an operator resumes it or it resolves;
    a case in triage, resolved or final is not moved by its orders.
    """
    states = list(orders)
    if current not in (
        CaseState.DISPATCHED,
        CaseState.IN_PROGRESS,
        CaseState.WAITING_THIRD_PARTY,
    ):
        return None
    if not states:
        return None
    if all(s in SETTLED_WORK_ORDER_STATES for s in states):
        if any(s in (WorkOrderState.VERIFIED, WorkOrderState.CLOSED) for s in states):
            return CaseAction.RESOLVE
        return CaseAction.RETURN_TO_TRIAGE
    if current is CaseState.DISPATCHED and any(s in _TAKEN_ON for s in states):
        return CaseAction.START
    return None


def case_state_after_orders(current: CaseState, orders: Iterable[WorkOrderState]) -> CaseState:
    """The state a case takes after its orders changed (see ``case_follow_up``); always a
    legal transition of the case taken by the platform."""
    action = case_follow_up(current, orders)
    if action is None:
        return current
    return transition_case(current, action, ActorRole.SYSTEM)


@dataclass(slots=True)
class WorkOrder:
    id: int
    case_id: int
    state: WorkOrderState
    assignee: Assignee
    created_at: datetime
    updated_at: datetime
    instructions: str = ""
    note: str = ""  # the team's note when done
    photos: tuple[str, ...] = ()  # references of the photos sent with ``done``
    reason: str = ""  # the last refusal, rejection or cancellation reason
    dispatched_at: datetime | None = None
    accepted_at: datetime | None = None
    on_site_at: datetime | None = None
    done_at: datetime | None = None
    verified_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_WORK_ORDER_STATES


def parse_work_order_state(value: str) -> WorkOrderState:
    return WorkOrderState(parse_choice(WorkOrderState, value, "work order state", "invalid_state"))
