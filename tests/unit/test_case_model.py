"""Cases and work orders: the state machines against tables written from the issue's text, the
resolution of a case by its orders, and the chain timeline. No database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from metropilot.cases.model import (
    CASE_TRANSITIONS,
    WORK_ORDER_TRANSITIONS,
    ActorRole,
    CaseAction,
    CaseOpened,
    CaseState,
    Milestone,
    TimelineEntry,
    WorkOrderAction,
    WorkOrderRefused,
    WorkOrderState,
    actor_role,
    case_follow_up,
    case_state_after_orders,
    chain_durations,
    parse_case_state,
    parse_priority,
    transition_case,
    transition_work_order,
)
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput
from metropilot.shared.events import DomainEvent

# --- the tables, written again from the issue (not from the code) ------------------------------

OPERATOR, SUPERVISOR, TEAM, SYSTEM, OUTSIDER = (
    ActorRole.OPERATOR,
    ActorRole.SUPERVISOR,
    ActorRole.ASSIGNED_TEAM,
    ActorRole.SYSTEM,
    ActorRole.OUTSIDER,
)
COMMAND_POST = {OPERATOR, SUPERVISOR}
COMMAND_POST_OR_PLATFORM = {OPERATOR, SUPERVISOR, SYSTEM}

W = WorkOrderState
# created → dispatched → accepted | refused (reason) → en_route → on_site → done (note) →
# verified → closed, or rejected at verification (reason) → reopened → back on the way;
# cancelled (reason) from every state where work may still happen.
EXPECTED_ORDER_MOVES: dict[str, dict[str, str]] = {
    "created": {"dispatch": "dispatched", "cancel": "cancelled"},
    "dispatched": {"accept": "accepted", "refuse": "refused", "cancel": "cancelled"},
    "accepted": {"en_route": "en_route", "on_site": "on_site", "cancel": "cancelled"},
    "en_route": {"on_site": "on_site", "cancel": "cancelled"},
    "on_site": {"done": "done", "cancel": "cancelled"},
    "done": {"verify": "verified", "reject": "reopened", "cancel": "cancelled"},
    "reopened": {"en_route": "en_route", "on_site": "on_site", "cancel": "cancelled"},
    "verified": {"close": "closed"},
    "closed": {},
    "refused": {},
    "cancelled": {},
}
EXPECTED_ORDER_ROLES: dict[str, set[ActorRole]] = {
    "dispatch": COMMAND_POST_OR_PLATFORM,
    "verify": COMMAND_POST_OR_PLATFORM,
    "cancel": COMMAND_POST_OR_PLATFORM,
    "close": COMMAND_POST_OR_PLATFORM,
    "reject": COMMAND_POST,
    "accept": {TEAM},
    "refuse": {TEAM},
    "en_route": {TEAM},
    "on_site": {TEAM},
    "done": {TEAM},
}
EXPECTED_ORDER_REASON = {"refuse", "reject", "cancel", "done"}

EXPECTED_CASE_MOVES: dict[str, dict[str, str]] = {
    "open": {"triage": "triaged", "resolve": "resolved", "cancel": "cancelled"},
    "triaged": {"dispatch": "dispatched", "resolve": "resolved", "cancel": "cancelled"},
    "dispatched": {
        "start": "in_progress",
        "return_to_triage": "open",
        "resolve": "resolved",
        "cancel": "cancelled",
    },
    "in_progress": {
        "wait_third_party": "waiting_third_party",
        "return_to_triage": "open",
        "resolve": "resolved",
        "cancel": "cancelled",
    },
    "waiting_third_party": {
        "resume": "in_progress",
        "return_to_triage": "open",
        "resolve": "resolved",
        "cancel": "cancelled",
    },
    "resolved": {"close": "closed", "reopen": "reopened"},
    "closed": {"reopen": "reopened"},
    "cancelled": {},
    "reopened": {
        "triage": "triaged",
        "dispatch": "dispatched",
        "resolve": "resolved",
        "cancel": "cancelled",
    },
}
EXPECTED_CASE_ROLES: dict[str, set[ActorRole]] = {
    action.value: COMMAND_POST_OR_PLATFORM for action in CaseAction
} | {"wait_third_party": COMMAND_POST, "resume": COMMAND_POST}
EXPECTED_CASE_REASON = {"cancel", "reopen", "wait_third_party"}


def expected_order_outcome(
    state: WorkOrderState, action: WorkOrderAction, role: ActorRole, reason: str | None
) -> type[Exception] | str:
    if role not in EXPECTED_ORDER_ROLES[action.value]:
        return Forbidden
    target = EXPECTED_ORDER_MOVES[state.value].get(action.value)
    if target is None:
        return Conflict
    if action.value in EXPECTED_ORDER_REASON and not (reason or "").strip():
        return InvalidInput
    return target


def expected_case_outcome(
    state: CaseState, action: CaseAction, role: ActorRole, reason: str | None
) -> type[Exception] | str:
    if role not in EXPECTED_CASE_ROLES[action.value]:
        return Forbidden
    target = EXPECTED_CASE_MOVES[state.value].get(action.value)
    if target is None:
        return Conflict
    if action.value in EXPECTED_CASE_REASON and not (reason or "").strip():
        return InvalidInput
    return target


def order_outcome(
    state: WorkOrderState, action: WorkOrderAction, role: ActorRole, reason: str | None
) -> type[Exception] | str:
    try:
        return transition_work_order(state, action, role, reason=reason).value
    except (Forbidden, Conflict, InvalidInput) as exc:
        return type(exc)


def case_outcome(
    state: CaseState, action: CaseAction, role: ActorRole, reason: str | None
) -> type[Exception] | str:
    try:
        return transition_case(state, action, role, reason=reason).value
    except (Forbidden, Conflict, InvalidInput) as exc:
        return type(exc)


def test_the_tables_cover_every_state_and_action() -> None:
    assert set(EXPECTED_ORDER_MOVES) == {s.value for s in WorkOrderState}
    assert set(EXPECTED_CASE_MOVES) == {s.value for s in CaseState}
    assert {(s.value, a.value) for s, a in WORK_ORDER_TRANSITIONS} == {
        (s, a) for s, moves in EXPECTED_ORDER_MOVES.items() for a in moves
    }
    assert {(s.value, a.value) for s, a in CASE_TRANSITIONS} == {
        (s, a) for s, moves in EXPECTED_CASE_MOVES.items() for a in moves
    }


@pytest.mark.parametrize("reason", [None, "", "  ", "the lamp is on a private road"])
def test_every_work_order_move_agrees_with_the_table(reason: str | None) -> None:
    for state in WorkOrderState:
        for action in WorkOrderAction:
            for role in ActorRole:
                expected = expected_order_outcome(state, action, role, reason)
                assert order_outcome(state, action, role, reason) == expected


@pytest.mark.parametrize("reason", [None, "", "waiting on the electricity network"])
def test_every_case_move_agrees_with_the_table(reason: str | None) -> None:
    for state in CaseState:
        for action in CaseAction:
            for role in ActorRole:
                expected = expected_case_outcome(state, action, role, reason)
                assert case_outcome(state, action, role, reason) == expected


reasons = st.sampled_from([None, "", "no access to the site", "wrong lot", "noted"])


def draw_order_move(
    data: st.DataObject, state: WorkOrderState
) -> tuple[WorkOrderAction, ActorRole, str | None]:
    """Mostly a move the issue's table allows (by a role it allows, cancelling rarely, so
    histories go deep: verified, reopened, closed), otherwise anything at all."""
    moves = sorted(EXPECTED_ORDER_MOVES[state.value])
    moves = [m for m in moves if m != "cancel"] or moves
    if moves and data.draw(st.integers(min_value=0, max_value=3)) > 0:
        action = WorkOrderAction(data.draw(st.sampled_from(moves)))
        role = data.draw(st.sampled_from(sorted(EXPECTED_ORDER_ROLES[action.value])))
    else:
        action = data.draw(st.sampled_from(WorkOrderAction))
        role = data.draw(st.sampled_from(ActorRole))
    return action, role, data.draw(reasons)


@settings(max_examples=300)
@given(st.data(), st.integers(min_value=0, max_value=60))
def test_random_work_order_histories_only_take_legal_moves(
    data: st.DataObject, length: int
) -> None:
    state = WorkOrderState.CREATED
    for _ in range(length):
        action, role, reason = draw_order_move(data, state)
        expected = expected_order_outcome(state, action, role, reason)
        outcome = order_outcome(state, action, role, reason)
        assert outcome == expected, f"{state} --{action} by {role} ({reason!r})--> {outcome}"
        if isinstance(outcome, str):
            state = WorkOrderState(outcome)
    event(f"the order ended {state.value}")


case_steps = st.lists(
    st.tuples(st.sampled_from(CaseAction), st.sampled_from(ActorRole), reasons), max_size=40
)


@given(case_steps)
def test_random_case_histories_only_take_legal_moves(
    steps: list[tuple[CaseAction, ActorRole, str | None]],
) -> None:
    state = CaseState.OPEN
    for action, role, reason in steps:
        expected = expected_case_outcome(state, action, role, reason)
        outcome = case_outcome(state, action, role, reason)
        assert outcome == expected, f"{state} --{action} by {role} ({reason!r})--> {outcome}"
        if isinstance(outcome, str):
            state = CaseState(outcome)


def test_errors_are_precise() -> None:
    with pytest.raises(Conflict) as conflict:
        transition_work_order(W.CLOSED, WorkOrderAction.ACCEPT, TEAM)
    assert conflict.value.code == "illegal_transition"
    assert "cannot accept a work order that is closed" in conflict.value.message
    assert "it is final" in conflict.value.message
    with pytest.raises(Conflict) as conflict:
        transition_work_order(W.ON_SITE, WorkOrderAction.ACCEPT, TEAM)
    assert "from on_site: cancel, done" in conflict.value.message
    with pytest.raises(Forbidden) as forbidden:
        transition_work_order(W.DONE, WorkOrderAction.VERIFY, TEAM)
    assert forbidden.value.code == "role_not_allowed"
    assert "assigned_team may not verify" in forbidden.value.message
    with pytest.raises(InvalidInput) as invalid:
        transition_work_order(W.DISPATCHED, WorkOrderAction.REFUSE, TEAM, reason="  ")
    assert invalid.value.code == "reason_required"
    with pytest.raises(InvalidInput) as invalid:
        transition_work_order(W.ON_SITE, WorkOrderAction.DONE, TEAM)
    assert invalid.value.code == "note_required"
    with pytest.raises(InvalidInput) as invalid:
        transition_case(CaseState.TRIAGED, CaseAction.CANCEL, OPERATOR, reason="x" * 2001)
    assert invalid.value.code == "reason_too_long"
    with pytest.raises(Forbidden):
        # The team measured by the SLA may not stop its clock.
        transition_case(CaseState.IN_PROGRESS, CaseAction.WAIT_THIRD_PARTY, TEAM, reason="x")


def test_account_roles_map_onto_the_state_machines_roles() -> None:
    assert actor_role(None) is SYSTEM
    assert actor_role("operator") is OPERATOR
    assert actor_role("admin") is SUPERVISOR
    assert actor_role("supervisor", on_assigned_team=True) is SUPERVISOR
    assert actor_role("contractor", on_assigned_team=True) is TEAM
    assert actor_role("field_agent", on_assigned_team=True) is TEAM
    assert actor_role("contractor") is OUTSIDER
    assert actor_role("citizen", on_assigned_team=True) is OUTSIDER


def test_parsers_name_the_known_values() -> None:
    assert parse_case_state(" triaged ") is CaseState.TRIAGED
    assert parse_priority("p2").value == "P2"
    with pytest.raises(InvalidInput, match="known: open, triaged"):
        parse_case_state("fixed")


# --- a case follows its orders ------------------------------------------------------------------


@dataclass
class Simulation:
    """A case with its orders, driven as the services will: orders move by their state machine,
    the case follows with ``case_state_after_orders``; every case move is checked against the
    table written from the issue."""

    case: CaseState = CaseState.TRIAGED
    orders: list[WorkOrderState] = field(default_factory=lambda: [W.CREATED])
    verified_any: bool = False

    def move_case(self, action: CaseAction, role: ActorRole, reason: str | None = None) -> None:
        before = self.case
        self.case = transition_case(before, action, role, reason=reason)
        assert EXPECTED_CASE_MOVES[before.value][action.value] == self.case.value

    @property
    def resolved(self) -> bool:
        return self.case is CaseState.RESOLVED

    def follow(self) -> None:
        before = self.case
        self.case = case_state_after_orders(before, self.orders)
        if self.case is not before:
            assert self.case.value in EXPECTED_CASE_MOVES[before.value].values()


@settings(max_examples=300)
@given(st.data(), st.integers(min_value=0, max_value=80))
def test_every_verified_order_resolves_its_case(data: st.DataObject, length: int) -> None:
    sim = Simulation()
    for _ in range(length):
        if sim.case in (CaseState.RESOLVED, CaseState.CLOSED, CaseState.CANCELLED):
            break
        what = data.draw(st.sampled_from(["order"] * 6 + ["new_order", "pause", "resume"]))
        if what == "new_order":
            sim.orders.append(W.CREATED)
            continue
        if what in ("pause", "resume"):
            case_action = CaseAction.WAIT_THIRD_PARTY if what == "pause" else CaseAction.RESUME
            if (sim.case, case_action) in CASE_TRANSITIONS:
                sim.move_case(case_action, OPERATOR, "waiting on the network operator")
            continue
        number = data.draw(st.integers(min_value=0, max_value=len(sim.orders) - 1))
        action, role, reason = draw_order_move(data, sim.orders[number])
        try:
            after = transition_work_order(sim.orders[number], action, role, reason=reason)
        except (Forbidden, Conflict, InvalidInput):
            continue
        if action is WorkOrderAction.DISPATCH:
            # The operator dispatches from triage; a case sent back to triage is re-triaged.
            if sim.case is CaseState.OPEN:
                sim.move_case(CaseAction.TRIAGE, OPERATOR)
            if sim.case in (CaseState.TRIAGED, CaseState.REOPENED):
                sim.move_case(CaseAction.DISPATCH, OPERATOR)
        sim.orders[number] = after
        sim.verified_any |= after is W.VERIFIED
        sim.follow()
        if sim.resolved:
            assert sim.verified_any, "only a verified order resolves a case here"
            assert all(s in (W.VERIFIED, W.CLOSED, W.CANCELLED, W.REFUSED) for s in sim.orders)
    event(f"before settling: verified {sim.verified_any}, the case {sim.case.value}")
    if sim.case in (CaseState.CLOSED, CaseState.CANCELLED, CaseState.RESOLVED):
        return
    # Settle what is still live: the case is resolved exactly when an order was verified.
    for number, state in enumerate(sim.orders):
        if state in (W.CREATED, W.DISPATCHED, W.ACCEPTED, W.EN_ROUTE, W.ON_SITE, W.REOPENED):
            sim.orders[number] = transition_work_order(
                state, WorkOrderAction.CANCEL, OPERATOR, reason="no longer needed"
            )
        elif state is W.DONE:
            sim.orders[number] = transition_work_order(state, WorkOrderAction.VERIFY, OPERATOR)
            sim.verified_any = True
        sim.follow()
    event(f"after settling: verified {sim.verified_any}, the case {sim.case.value}")
    dispatched_once = sim.case is not CaseState.TRIAGED
    if sim.verified_any:
        assert sim.resolved
    elif dispatched_once:
        assert sim.case is CaseState.OPEN  # every order refused or cancelled: back to triage


def test_follow_up_rules() -> None:
    assert case_follow_up(CaseState.DISPATCHED, [W.ACCEPTED]) is CaseAction.START
    assert case_follow_up(CaseState.DISPATCHED, [W.DISPATCHED, W.CREATED]) is None
    assert case_follow_up(CaseState.IN_PROGRESS, [W.VERIFIED, W.CANCELLED]) is CaseAction.RESOLVE
    assert case_follow_up(CaseState.IN_PROGRESS, [W.VERIFIED, W.ON_SITE]) is None
    assert case_follow_up(CaseState.DISPATCHED, [W.REFUSED]) is CaseAction.RETURN_TO_TRIAGE
    assert case_follow_up(CaseState.WAITING_THIRD_PARTY, [W.CLOSED]) is CaseAction.RESOLVE
    assert case_follow_up(CaseState.WAITING_THIRD_PARTY, [W.ACCEPTED]) is None  # stays paused
    assert case_follow_up(CaseState.TRIAGED, [W.VERIFIED]) is None
    assert case_follow_up(CaseState.IN_PROGRESS, []) is None
    assert case_state_after_orders(CaseState.DISPATCHED, [W.REFUSED]) is CaseState.OPEN


def test_events_are_frozen_domain_events_with_scoping_fields() -> None:
    opened = CaseOpened(
        case_id=1,
        category="streetlight_out",
        priority="P2",
        state="open",
        origin="alarm",
        asset_id=7,
        kind="streetlight",
        commune_insee="21231",
        alarm_ids=(3,),
    )
    assert isinstance(opened, DomainEvent)
    with pytest.raises(AttributeError):
        opened.case_id = 2  # type: ignore[misc]
    refused = WorkOrderRefused(
        case_id=1,
        category="streetlight_out",
        priority="P2",
        state="refused",
        case_state="open",
        work_order_id=9,
        team="lighting-crew",
        organisation="lumiere-sa",
        organisation_id=4,
        sector="private",
        reason="not our lot",
    )
    assert refused.sector == "private"
    assert not hasattr(refused, "maintainer_id")  # the journal reads it from the registry


# --- the chain timeline -------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def entry(minutes: float, what: Milestone, actor: str = "op") -> TimelineEntry:
    return TimelineEntry(at=T0 + timedelta(minutes=minutes), what=what, actor=actor)


def link_minutes(entries: list[TimelineEntry]) -> dict[str, float]:
    durations = chain_durations(entries)
    return {link.name: link.duration.total_seconds() / 60 for link in durations.links}


def test_a_straight_chain_has_one_link_per_step() -> None:
    m = Milestone
    entries = [
        entry(0, m.DETECTED),
        entry(1, m.OPENED),
        entry(5, m.TRIAGED),
        entry(6, m.DISPATCHED),
        entry(20, m.ACCEPTED),
        entry(50, m.ON_SITE),
        entry(80, m.DONE),
        entry(95, m.VERIFIED),
        entry(96, m.CITIZEN_INFORMED),
    ]
    assert link_minutes(entries) == {
        "detected→triaged": 5,
        "triaged→dispatched": 1,
        "dispatched→accepted": 14,
        "accepted→on_site": 30,
        "on_site→done": 30,
        "done→citizen_informed": 16,
    }
    durations = chain_durations(list(reversed(entries)))  # the order given does not matter
    assert durations.total == timedelta(minutes=96)
    assert durations.loops == 0
    assert durations.rework is None
    assert durations.missing == ()
    assert all(link.complete for link in durations.links)


def test_missing_steps_are_spanned_and_reported() -> None:
    m = Milestone
    entries = [entry(0, m.OPENED), entry(10, m.DISPATCHED), entry(40, m.ON_SITE)]
    durations = chain_durations(entries)
    assert link_minutes(entries) == {"detected→dispatched": 10, "dispatched→on_site": 30}
    assert durations.missing == (m.TRIAGED, m.ACCEPTED)
    assert [link.complete for link in durations.links] == [False, False]
    assert durations.total == timedelta(minutes=40)
    assert chain_durations([]).links == ()
    assert chain_durations([]).total is None


def test_a_refusal_lengthens_dispatch_to_acceptance() -> None:
    m = Milestone
    entries = [
        entry(0, m.DETECTED),
        entry(2, m.TRIAGED),
        entry(3, m.DISPATCHED),
        entry(30, m.REFUSED),
        entry(31, m.RETURNED_TO_TRIAGE),
        entry(40, m.TRIAGED),
        entry(41, m.DISPATCHED),
        entry(50, m.ACCEPTED),
    ]
    assert link_minutes(entries) == {
        "detected→triaged": 2,
        "triaged→dispatched": 1,
        "dispatched→accepted": 47,
    }
    assert chain_durations(entries).loops == 2


def test_rework_after_rejection_and_informing_after_the_work() -> None:
    m = Milestone
    entries = [
        entry(0, m.DETECTED),
        entry(1, m.CITIZEN_INFORMED),  # the report was acknowledged: not the end of the chain
        entry(2, m.TRIAGED),
        entry(3, m.DISPATCHED),
        entry(4, m.ACCEPTED),
        entry(10, m.ON_SITE),
        entry(20, m.DONE),
        entry(30, m.REJECTED),
        entry(40, m.ON_SITE),
        entry(70, m.DONE),
        entry(71, m.VERIFIED),
        entry(75, m.CITIZEN_INFORMED),
    ]
    durations = chain_durations(entries)
    assert link_minutes(entries)["on_site→done"] == 10  # the first pass
    assert link_minutes(entries)["done→citizen_informed"] == 55
    assert durations.rework == timedelta(minutes=50)
    assert durations.total == timedelta(minutes=75)
    assert durations.loops == 1


def test_two_orders_done_side_by_side_are_not_rework() -> None:
    m = Milestone
    entries = [entry(0, m.DETECTED), entry(5, m.DONE), entry(9, m.DONE)]
    assert chain_durations(entries).rework is None


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10_000), st.sampled_from(Milestone)),
        max_size=30,
    )
)
def test_links_are_in_chain_order_and_never_negative(events: list[tuple[int, Milestone]]) -> None:
    durations = chain_durations([entry(minute, what) for minute, what in events])
    for link in durations.links:
        assert link.duration >= timedelta(0)
        assert not link.name.startswith(link.end.value + "→")
    for before, after in zip(durations.links, durations.links[1:], strict=False):
        assert before.end is after.start
    if durations.links and durations.total is not None:
        first_pass = durations.links[-1].ended_at - durations.links[0].started_at
        assert first_pass <= durations.total
