"""Cases: their priorities and origins, who acts on them, their states and who may move them,
and the case itself. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from metropilot.accounts.model import Sector
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput

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


def check_reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(f"a reason is required to {what}", code="reason_required")
    if len(text) > MAX_REASON:
        raise InvalidInput(
            f"the reason to {what} is {len(text)} characters long, at most {MAX_REASON}",
            code="reason_too_long",
        )
    return text


def roles_text(roles: Iterable[ActorRole]) -> str:
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

HUMANS = frozenset({ActorRole.OPERATOR, ActorRole.SUPERVISOR})
HUMANS_OR_PLATFORM = HUMANS | {ActorRole.SYSTEM}
CASE_ACTION_ROLES: Mapping[CaseAction, frozenset[ActorRole]] = {
    _A.TRIAGE: HUMANS_OR_PLATFORM,  # the platform triages when a routing rule decides
    _A.DISPATCH: HUMANS_OR_PLATFORM,
    _A.START: HUMANS_OR_PLATFORM,
    _A.RETURN_TO_TRIAGE: HUMANS_OR_PLATFORM,
    # The pause stops the SLA clock: the team measured by it must not be able to stop it.
    _A.WAIT_THIRD_PARTY: HUMANS,
    _A.RESUME: HUMANS,
    _A.RESOLVE: HUMANS_OR_PLATFORM,
    _A.CLOSE: HUMANS_OR_PLATFORM,
    _A.CANCEL: HUMANS_OR_PLATFORM,
    _A.REOPEN: HUMANS_OR_PLATFORM,  # e.g. the same fault reported again soon after
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
            f"a {role.value} may not {action.value} a case; only: {roles_text(allowed)}",
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
        check_reason(reason, f"{action.value.replace('_', ' ')} a case")
    return target


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


def parse_choice(enum: type[StrEnum], value: str, what: str, code: str) -> StrEnum:
    try:
        return enum(value.strip())
    except ValueError:
        known = ", ".join(m.value for m in enum)
        raise InvalidInput(f"unknown {what} {value!r}; known: {known}", code=code) from None


def parse_case_state(value: str) -> CaseState:
    return CaseState(parse_choice(CaseState, value, "case state", "invalid_state"))


def parse_priority(value: str) -> Priority:
    return Priority(parse_choice(Priority, value.upper(), "priority", "invalid_priority"))
