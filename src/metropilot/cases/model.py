"""Cases and work orders: their states, who may move them, the events they emit, and the chain
timeline. Pure.

A *case* is what the command post handles: opened from an alarm, a citizen report, an operator
or a field agent, triaged (category, priority, responsible team), then worked through one or
more *work orders* sent to a team — a metropolitan service, a commune service or a contractor.
The state machines below are the only source of what may happen: every service moves a case or
an order with ``transition_case`` / ``transition_work_order``, which say no with a precise error.

A case follows its orders: ``case_follow_up`` says what an order's change does to its case (an
accepted order puts it in progress, a verified one resolves it, the last order refused sends it
back to triage). ``chain_durations`` measures, from the recorded timeline, how long each link of
the chain detection → triage → dispatch → acceptance → on site → done → citizen informed took.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from metropilot.accounts.model import Sector
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput
from metropilot.shared.events import DomainEvent

__all__ = [
    "CASE_ACTION_ROLES",
    "CASE_REASON_REQUIRED",
    "CASE_TRANSITIONS",
    "CHAIN_STEPS",
    "FINAL_CASE_STATES",
    "FINAL_WORK_ORDER_STATES",
    "LIVE_WORK_ORDER_STATES",
    "MAX_REASON",
    "OPEN_CASE_STATES",
    "SETTLED_WORK_ORDER_STATES",
    "TRIAGE_QUEUE_STATES",
    "WORK_ORDER_ACTION_ROLES",
    "WORK_ORDER_REASON_REQUIRED",
    "WORK_ORDER_TRANSITIONS",
    "ActorRole",
    "Assignee",
    "Case",
    "CaseAction",
    "CaseCancelled",
    "CaseClosed",
    "CaseEvent",
    "CaseOpened",
    "CaseOrigin",
    "CaseReopened",
    "CaseResolved",
    "CaseRouted",
    "CaseState",
    "CaseStateChanged",
    "CaseTriaged",
    "ChainDurations",
    "ChainLink",
    "Milestone",
    "Priority",
    "TimelineEntry",
    "WorkOrder",
    "WorkOrderAccepted",
    "WorkOrderAction",
    "WorkOrderCancelled",
    "WorkOrderCompleted",
    "WorkOrderDispatched",
    "WorkOrderEvent",
    "WorkOrderRefused",
    "WorkOrderRejected",
    "WorkOrderState",
    "WorkOrderStateChanged",
    "WorkOrderVerified",
    "actor_role",
    "case_follow_up",
    "case_state_after_orders",
    "chain_durations",
    "parse_case_state",
    "parse_priority",
    "parse_work_order_state",
    "transition_case",
    "transition_work_order",
]

MAX_REASON = 2000


class Priority(StrEnum):
    """P1 is the most urgent. Same values as a citizen report's priority, so one maps onto the
    other by value."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class CaseOrigin(StrEnum):
    ALARM = "alarm"
    CITIZEN_REPORT = "citizen_report"
    OPERATOR = "operator"
    FIELD_AGENT = "field_agent"


class ActorRole(StrEnum):
    """Who is acting, as far as the state machines care. The services derive it from the account
    (``actor_role``): the state machines never see usernames or organisations."""

    OPERATOR = "operator"  # the command post
    SUPERVISOR = "supervisor"  # supervisors and administrators
    ASSIGNED_TEAM = "assigned_team"  # a contractor or field agent of the team the order is for
    SYSTEM = "system"  # the platform itself: routing rules, follow-ups of orders, automations
    OUTSIDER = "outsider"  # anyone else (another team, a commune agent not on the team, ...)


def actor_role(account_role: str | None, *, on_assigned_team: bool = False) -> ActorRole:
    """The state machines' role for an account role (``accounts.model.Role`` values, or
    ``None`` for the platform itself). Membership of the assigned team is the services' to know:
    a contractor of another lot is an outsider, not a team member."""
    if account_role is None:
        return ActorRole.SYSTEM
    if account_role in ("supervisor", "admin"):
        return ActorRole.SUPERVISOR
    if account_role == "operator":
        return ActorRole.OPERATOR
    if on_assigned_team and account_role in ("contractor", "field_agent", "commune_agent"):
        return ActorRole.ASSIGNED_TEAM
    return ActorRole.OUTSIDER


def _check_reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(f"a reason is required to {what}", code="reason_required")
    if len(text) > MAX_REASON:
        raise InvalidInput(
            f"the reason to {what} is {len(text)} characters long, at most {MAX_REASON}",
            code="reason_too_long",
        )
    return text


def _roles_text(roles: Iterable[ActorRole]) -> str:
    return ", ".join(sorted(r.value for r in roles))


# --- cases ---------------------------------------------------------------------------------------


class CaseState(StrEnum):
    OPEN = "open"  # awaiting triage
    TRIAGED = "triaged"  # category, priority and team set; awaiting dispatch
    DISPATCHED = "dispatched"  # a work order was sent; no team has accepted yet
    IN_PROGRESS = "in_progress"  # a team accepted and is working
    WAITING_THIRD_PARTY = "waiting_third_party"  # blocked on someone else; the SLA clock pauses
    RESOLVED = "resolved"  # the work was verified
    CLOSED = "closed"  # nothing more to do (the reporters were told)
    CANCELLED = "cancelled"  # no action was needed
    REOPENED = "reopened"  # resolved or closed, but the problem came back: back in triage


class CaseAction(StrEnum):
    TRIAGE = "triage"
    DISPATCH = "dispatch"
    START = "start"  # a team accepted an order
    RETURN_TO_TRIAGE = "return_to_triage"  # every order was refused or cancelled
    WAIT_THIRD_PARTY = "wait_third_party"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    CANCEL = "cancel"
    REOPEN = "reopen"


OPEN_CASE_STATES = frozenset(
    {
        CaseState.OPEN,
        CaseState.TRIAGED,
        CaseState.DISPATCHED,
        CaseState.IN_PROGRESS,
        CaseState.WAITING_THIRD_PARTY,
        CaseState.REOPENED,
    }
)
FINAL_CASE_STATES = frozenset({CaseState.CLOSED, CaseState.CANCELLED})
# The operators' triage queue.
TRIAGE_QUEUE_STATES = frozenset({CaseState.OPEN, CaseState.REOPENED})

_S = CaseState
_A = CaseAction
# (state, action) → new state. Anything not listed is illegal.
CASE_TRANSITIONS: Mapping[tuple[CaseState, CaseAction], CaseState] = {
    (_S.OPEN, _A.TRIAGE): _S.TRIAGED,
    (_S.REOPENED, _A.TRIAGE): _S.TRIAGED,
    (_S.TRIAGED, _A.DISPATCH): _S.DISPATCHED,
    (_S.REOPENED, _A.DISPATCH): _S.DISPATCHED,
    (_S.DISPATCHED, _A.START): _S.IN_PROGRESS,
    (_S.DISPATCHED, _A.RETURN_TO_TRIAGE): _S.OPEN,
    (_S.IN_PROGRESS, _A.RETURN_TO_TRIAGE): _S.OPEN,
    (_S.WAITING_THIRD_PARTY, _A.RETURN_TO_TRIAGE): _S.OPEN,
    (_S.IN_PROGRESS, _A.WAIT_THIRD_PARTY): _S.WAITING_THIRD_PARTY,
    (_S.WAITING_THIRD_PARTY, _A.RESUME): _S.IN_PROGRESS,
    # Resolving without a verified order: the problem went away (a remote reset, a lamp that
    # came back) or was handled outside a work order; the services cancel live orders first.
    (_S.OPEN, _A.RESOLVE): _S.RESOLVED,
    (_S.TRIAGED, _A.RESOLVE): _S.RESOLVED,
    (_S.REOPENED, _A.RESOLVE): _S.RESOLVED,
    (_S.DISPATCHED, _A.RESOLVE): _S.RESOLVED,
    (_S.IN_PROGRESS, _A.RESOLVE): _S.RESOLVED,
    (_S.WAITING_THIRD_PARTY, _A.RESOLVE): _S.RESOLVED,
    (_S.RESOLVED, _A.CLOSE): _S.CLOSED,
    (_S.RESOLVED, _A.REOPEN): _S.REOPENED,
    (_S.CLOSED, _A.REOPEN): _S.REOPENED,
    **{(state, _A.CANCEL): _S.CANCELLED for state in OPEN_CASE_STATES},
}

_HUMANS = frozenset({ActorRole.OPERATOR, ActorRole.SUPERVISOR})
_HUMANS_OR_PLATFORM = _HUMANS | {ActorRole.SYSTEM}
CASE_ACTION_ROLES: Mapping[CaseAction, frozenset[ActorRole]] = {
    _A.TRIAGE: _HUMANS_OR_PLATFORM,  # the platform triages when a routing rule decides
    _A.DISPATCH: _HUMANS_OR_PLATFORM,
    _A.START: _HUMANS_OR_PLATFORM,
    _A.RETURN_TO_TRIAGE: _HUMANS_OR_PLATFORM,
    # The pause stops the SLA clock: the team measured by it must not be able to stop it.
    _A.WAIT_THIRD_PARTY: _HUMANS,
    _A.RESUME: _HUMANS,
    _A.RESOLVE: _HUMANS_OR_PLATFORM,
    _A.CLOSE: _HUMANS_OR_PLATFORM,
    _A.CANCEL: _HUMANS_OR_PLATFORM,
    _A.REOPEN: _HUMANS_OR_PLATFORM,  # e.g. the same fault reported again soon after
}
# Actions that must say why (the reason is recorded on the timeline and in the event).
CASE_REASON_REQUIRED = frozenset({_A.CANCEL, _A.REOPEN, _A.WAIT_THIRD_PARTY})


def transition_case(
    current: CaseState,
    action: CaseAction,
    role: ActorRole,
    *,
    reason: str | None = None,
) -> CaseState:
    """The state a case moves to. Refuses, in this order: a role that may never take the action
    (``Forbidden``), an action the current state does not allow (``Conflict``,
    ``illegal_transition``), a missing reason where one is required (``InvalidInput``)."""
    allowed = CASE_ACTION_ROLES[action]
    if role not in allowed:
        raise Forbidden(
            f"a {role.value} may not {action.value} a case; only: {_roles_text(allowed)}",
            code="role_not_allowed",
        )
    target = CASE_TRANSITIONS.get((current, action))
    if target is None:
        possible = sorted(a.value for (s, a) in CASE_TRANSITIONS if s is current)
        raise Conflict(
            f"cannot {action.value} a case that is {current.value}; from {current.value}: "
            f"{', '.join(possible) or 'nothing'}",
            code="illegal_transition",
        )
    if action in CASE_REASON_REQUIRED:
        _check_reason(reason, f"{action.value.replace('_', ' ')} a case")
    return target


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
    _WA.DISPATCH: _HUMANS_OR_PLATFORM,  # the platform dispatches when a routing rule decides
    _WA.ACCEPT: _TEAM,
    _WA.REFUSE: _TEAM,
    _WA.EN_ROUTE: _TEAM,
    _WA.ON_SITE: _TEAM,
    _WA.DONE: _TEAM,
    # The platform verifies connected equipment that reports healthy again.
    _WA.VERIFY: _HUMANS_OR_PLATFORM,
    _WA.REJECT: _HUMANS,
    _WA.CLOSE: _HUMANS_OR_PLATFORM,
    _WA.CANCEL: _HUMANS_OR_PLATFORM,  # the platform cancels the orders of a cancelled case
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
            f"{_roles_text(allowed)}",
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
        _check_reason(reason, "finish a work order")
    elif action in WORK_ORDER_REASON_REQUIRED:
        _check_reason(reason, f"{action.value} a work order")
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


# --- entities ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignee:
    """The team responsible, with its organisation and which side of the contract it is on."""

    team: str  # team code
    organisation: str  # organisation code
    sector: Sector
    team_id: int | None = None
    organisation_id: int | None = None


@dataclass(slots=True)
class Case:
    id: int
    origin: CaseOrigin
    category: str
    priority: Priority
    state: CaseState
    opened_at: datetime
    updated_at: datetime
    commune_insee: str | None = None
    asset_id: int | None = None
    asset_kind: str | None = None
    assignee: Assignee | None = None
    routing_rule_id: int | None = None
    title: str = ""
    description: str = ""
    alarm_ids: tuple[int, ...] = ()
    report_ids: tuple[int, ...] = ()
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopened_count: int = 0

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CASE_STATES


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


def _parse(enum: type[StrEnum], value: str, what: str, code: str) -> StrEnum:
    try:
        return enum(value.strip())
    except ValueError:
        known = ", ".join(m.value for m in enum)
        raise InvalidInput(f"unknown {what} {value!r}; known: {known}", code=code) from None


def parse_case_state(value: str) -> CaseState:
    return CaseState(_parse(CaseState, value, "case state", "invalid_state"))


def parse_work_order_state(value: str) -> WorkOrderState:
    return WorkOrderState(_parse(WorkOrderState, value, "work order state", "invalid_state"))


def parse_priority(value: str) -> Priority:
    return Priority(_parse(Priority, value.upper(), "priority", "invalid_priority"))


# --- events --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CaseEvent(DomainEvent):
    """What every case and work-order event carries, so a subscriber and the live stream can
    scope it without reading the case back: the asset and its kind, the commune, the responsible
    team with its organisation and sector. ``organisation_id`` is the responsible team's
    organisation: the stream scopes a contractor's view by it (a journal mapper sets the
    maintainer column from it when known, else lets the registry say who maintains the asset).
    The ``actor_*`` fields say who acted, for the chain timeline."""

    case_id: int
    category: str
    priority: str
    state: str
    asset_id: int | None = None
    kind: str | None = None  # the asset's kind
    commune_insee: str | None = None
    team: str | None = None
    organisation: str | None = None
    organisation_id: int | None = None
    sector: str | None = None
    actor: str = ""
    actor_organisation: str | None = None
    actor_sector: str | None = None


@dataclass(frozen=True, kw_only=True)
class CaseOpened(CaseEvent):
    origin: str
    alarm_ids: tuple[int, ...] = ()
    report_ids: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CaseTriaged(CaseEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class CaseRouted(CaseEvent):
    """The responsible team was chosen (or changed, e.g. with the category): by which rule
    (``None``: the default queue, or an operator's choice) and why."""

    rule_id: int | None
    rule_name: str | None
    reason: str
    previous_team: str | None = None


@dataclass(frozen=True, kw_only=True)
class CaseStateChanged(CaseEvent):
    """Any other move of a case (dispatched, in progress, paused, resumed, back to triage)."""

    previous: str
    action: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CaseResolved(CaseEvent):
    previous: str
    work_order_id: int | None = None  # the verified order that resolved it, if any
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class CaseClosed(CaseEvent):
    previous: str


@dataclass(frozen=True, kw_only=True)
class CaseCancelled(CaseEvent):
    previous: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class CaseReopened(CaseEvent):
    previous: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderEvent(CaseEvent):
    """A work order's event; ``state`` is the order's, ``case_state`` its case's."""

    work_order_id: int
    case_state: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderDispatched(WorkOrderEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class WorkOrderAccepted(WorkOrderEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class WorkOrderRefused(WorkOrderEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderStateChanged(WorkOrderEvent):
    """The team's progress (en route, on site) and closing."""

    previous: str
    action: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderCompleted(WorkOrderEvent):
    note: str
    photos: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class WorkOrderVerified(WorkOrderEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class WorkOrderRejected(WorkOrderEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderSlaAlert(WorkOrderEvent):
    """A deadline of a work order: 80% of its time is gone (``warning``), or it passed
    (``breach``). ``deadline`` is ``response`` (the team has not accepted yet) or
    ``resolution`` (the work is not done yet)."""

    deadline: str
    level: str
    due_at: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderCancelled(WorkOrderEvent):
    previous: str
    reason: str


# --- the chain timeline --------------------------------------------------------------------------


class Milestone(StrEnum):
    """What a timeline entry records."""

    DETECTED = "detected"  # the alarm was raised or the report submitted
    OPENED = "opened"  # the case was opened
    ROUTED = "routed"
    TRIAGED = "triaged"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    DONE = "done"
    VERIFIED = "verified"
    REJECTED = "rejected"
    WAITING_THIRD_PARTY = "waiting_third_party"
    RESUMED = "resumed"
    RETURNED_TO_TRIAGE = "returned_to_triage"
    RESOLVED = "resolved"
    CITIZEN_INFORMED = "citizen_informed"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REOPENED = "reopened"
    SLA_WARNING = "sla_warning"  # 80% of a deadline's time gone
    SLA_BREACHED = "sla_breached"  # a deadline passed


# The chain whose links are measured, in order.
CHAIN_STEPS: tuple[Milestone, ...] = (
    Milestone.DETECTED,
    Milestone.TRIAGED,
    Milestone.DISPATCHED,
    Milestone.ACCEPTED,
    Milestone.ON_SITE,
    Milestone.DONE,
    Milestone.CITIZEN_INFORMED,
)
# Entries that send the chain back: counted as loops.
_LOOPS = frozenset(
    {
        Milestone.REFUSED,
        Milestone.REJECTED,
        Milestone.REOPENED,
        Milestone.RETURNED_TO_TRIAGE,
    }
)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened to a case or one of its orders, attributed."""

    at: datetime
    what: Milestone
    actor: str
    organisation: str | None = None
    sector: str | None = None  # "public" or "private"
    work_order_id: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ChainLink:
    """From one step of the chain reached to the next one reached. When steps are missing
    (nobody recorded an acceptance), the link spans them: ``dispatched → on_site``."""

    start: Milestone
    end: Milestone
    started_at: datetime
    ended_at: datetime

    @property
    def duration(self) -> timedelta:
        return self.ended_at - self.started_at

    @property
    def name(self) -> str:
        return f"{self.start.value}→{self.end.value}"

    @property
    def complete(self) -> bool:
        """Whether the link joins two consecutive steps (no step missing in between)."""
        return CHAIN_STEPS.index(self.end) == CHAIN_STEPS.index(self.start) + 1


@dataclass(frozen=True, slots=True)
class ChainDurations:
    links: tuple[ChainLink, ...]
    # From detection to the last chain step reached, reopenings and rework included.
    total: timedelta | None
    # How many times the chain went back: refusals, rejections, returns to triage, reopenings.
    loops: int
    # After a rejection or reopening, the first ``done`` → the last ``done``: the time redoing
    # the work (``None`` without such a loop).
    rework: timedelta | None = None
    missing: tuple[Milestone, ...] = field(default=())


def chain_durations(entries: Sequence[TimelineEntry]) -> ChainDurations:
    """How long each link of the chain took, from a case's timeline (order does not matter).

    What is measured:
    - the first pass through the chain: each step is the first time it was reached *after* the
      previous step reached (so "citizen informed" is the first notice after the work was done,
      not the acknowledgement of the report);
    - detection is the earliest of ``detected`` and ``opened`` (a case opened by an operator
      has no separate detection);
    - a step never reached after its predecessor is missing and the link spans it, so the
      links always add up to the time from detection to the last step of the first pass;
    - a loop before a step is reached counts in the link where it happened: a refusal and the
      re-dispatch that followed lengthen dispatch → acceptance;
    - a loop after the first ``done`` (rejected at verification, case reopened) is not in the
      links: it is in ``rework`` (first ``done`` → last ``done``) and in ``total``.
    """
    ordered = sorted(entries, key=lambda e: e.at)
    step_of = {m: m for m in CHAIN_STEPS} | {Milestone.OPENED: Milestone.DETECTED}
    reached: list[tuple[Milestone, datetime]] = []
    position = -1
    since: datetime | None = None
    for step_index, step in enumerate(CHAIN_STEPS):
        when = next(
            (
                e.at
                for e in ordered
                if step_of.get(e.what) is step and (since is None or e.at >= since)
            ),
            None,
        )
        if when is None:
            continue
        reached.append((step, when))
        position, since = step_index, when
    links = tuple(
        ChainLink(start=a, end=b, started_at=a_at, ended_at=b_at)
        for (a, a_at), (b, b_at) in pairwise(reached)
    )
    reached_steps = {step for step, _ in reached}
    missing = tuple(s for s in CHAIN_STEPS[: position + 1] if s not in reached_steps)
    chain_times = [e.at for e in ordered if e.what in step_of]
    total = None
    if reached and reached[0][0] is Milestone.DETECTED:
        total = max(chain_times) - reached[0][1]
    dones = [e.at for e in ordered if e.what is Milestone.DONE]
    rework = None
    # Two orders done side by side are not rework; a rejection or reopening in between is.
    if dones and any(e.what in _LOOPS and e.at >= dones[0] for e in ordered):
        rework = dones[-1] - dones[0]
    loops = sum(1 for e in ordered if e.what in _LOOPS)
    return ChainDurations(links=links, total=total, loops=loops, rework=rework, missing=missing)
