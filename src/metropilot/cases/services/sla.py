"""Service levels: the response and resolution targets per team and priority, the deadlines of
a work order on its team's clock, and the warnings and breaches announced when they fall due."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select

from metropilot.accounts import queries as accounts_queries
from metropilot.cases import repository
from metropilot.cases.model import (
    LIVE_WORK_ORDER_STATES,
    CaseState,
    Milestone,
    Priority,
    TimelineEntry,
    WorkOrderSlaAlert,
)
from metropilot.cases.services.reading import get_case, get_work_order
from metropilot.cases.services.recording import event_fields
from metropilot.cases.services.results import SlaPolicy
from metropilot.cases.sla import BusinessCalendar, ClockKind, Pause, SlaTimer
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import SYSTEM, Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput, NotFound

__all__ = [
    "DEFAULT_SLA",
    "announce_deadlines",
    "deadlines",
    "list_sla_policies",
    "put_sla_policy",
]

# Response and resolution targets per priority, until policies per team and contract lot exist:
# urgent work on the calendar clock, the rest in business hours (Europe/Paris, French holidays).
DEFAULT_SLA: dict[Priority, tuple[ClockKind, timedelta, timedelta]] = {
    Priority.P1: (ClockKind.CALENDAR, timedelta(hours=1), timedelta(hours=4)),
    Priority.P2: (ClockKind.CALENDAR, timedelta(hours=4), timedelta(hours=24)),
    Priority.P3: (ClockKind.BUSINESS, timedelta(hours=8), timedelta(hours=40)),
    Priority.P4: (ClockKind.BUSINESS, timedelta(hours=24), timedelta(hours=120)),
}
_BUSINESS = BusinessCalendar()


def _clock_of(
    uow: UnitOfWork, team: str, priority: Priority
) -> tuple[BusinessCalendar | None, timedelta, timedelta]:
    """The calendar (None: the calendar clock) and the response and resolution targets for a
    team and priority: the team's policy, else the one for every team, else the defaults."""
    policy = repository.get_sla_policy(uow.connection, team, priority.value)
    if policy is None:
        clock, response, resolution = DEFAULT_SLA[priority]
        return (_BUSINESS if clock is ClockKind.BUSINESS else None), response, resolution
    calendar = None
    if policy["clock"] == ClockKind.BUSINESS.value:
        spec = policy["calendar"]
        calendar = BusinessCalendar.from_spec(spec) if spec else _BUSINESS
    return (
        calendar,
        timedelta(minutes=int(policy["response_minutes"])),
        timedelta(minutes=int(policy["resolution_minutes"])),
    )


def deadlines(
    uow: UnitOfWork, team: str, priority: Priority, start: datetime, pauses: Sequence[Pause] = ()
) -> dict[str, datetime]:
    """The response and resolution deadlines of an order dispatched at ``start``, and the
    instants 80% of each is gone (the warnings), on the team's clock for the priority."""
    calendar, response, resolution = _clock_of(uow, team, priority)
    times: dict[str, datetime] = {}
    for name, target in (("response", response), ("resolution", resolution)):
        timer = SlaTimer(started_at=start, target=target, calendar=calendar, pauses=tuple(pauses))
        state = timer.state(max([start, *(p.ended_at for p in pauses if p.ended_at)]))
        times[f"{name}_due_at"] = state.deadline
        times[f"{name}_warning_at"] = state.warning_at
    return times


def _policy(row: Mapping[str, Any]) -> SlaPolicy:
    return {
        "team": row["team"],
        "priority": row["priority"],
        "clock": row["clock"],
        "response_minutes": row["response_minutes"],
        "resolution_minutes": row["resolution_minutes"],
        "calendar": row["calendar"],
        "updated_at": row["updated_at"],
    }


def list_sla_policies(uow: UnitOfWork) -> list[SlaPolicy]:
    return [_policy(row) for row in repository.list_sla_policies(uow.connection)]


def put_sla_policy(
    uow: UnitOfWork,
    team: str,
    priority: Priority,
    clock: str,
    response: timedelta,
    resolution: timedelta,
    calendar: dict[str, Any] | None,
    actor: Actor,
) -> SlaPolicy:
    """Set a team's (or every team's: '*') targets for a priority (supervisors)."""
    if team != "*" and accounts_queries.team(uow.connection, team) is None:
        raise NotFound(f"no team {team!r}")
    try:
        kind = ClockKind(clock)
    except ValueError:
        raise InvalidInput("clock is calendar or business", code="invalid_sla") from None
    if not timedelta(0) < response <= resolution:
        raise InvalidInput(
            "the response target must be positive and no longer than the resolution target",
            code="invalid_sla",
        )
    if calendar is not None:
        if kind is not ClockKind.BUSINESS:
            raise InvalidInput("a calendar goes with a business clock", code="invalid_sla")
        BusinessCalendar.from_spec(calendar)  # refuses a wrong one, naming the field
    repository.put_sla_policy(
        uow.connection,
        {
            "team": team,
            "priority": priority.value,
            "clock": kind.value,
            "response_minutes": int(response.total_seconds() // 60),
            "resolution_minutes": int(resolution.total_seconds() // 60),
            "calendar": calendar,
            "updated_at": utcnow(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "sla_policy.set",
            "sla_policy",
            f"{team}:{priority.value}",
            {"response_minutes": [None, int(response.total_seconds() // 60)]},
        )
    )
    found = repository.get_sla_policy(uow.connection, team, priority.value)
    assert found is not None
    return _policy(found)


def announce_deadlines(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Announce, once each, the SLA warnings and breaches that fell due: a response deadline
    while the team has not accepted, a resolution deadline while the work is not done. Run by
    the housekeeping every 30 s; returns how many were announced."""
    now = now or utcnow()
    w = repository.work_orders.c
    checks = (
        ("response", "warning", w.response_warning_at, w.response_warned_at, w.accepted_at),
        ("response", "breach", w.response_due_at, w.response_breached_at, w.accepted_at),
        ("resolution", "warning", w.resolution_warning_at, w.resolution_warned_at, w.done_at),
        ("resolution", "breach", w.resolution_due_at, w.resolution_breached_at, w.done_at),
    )
    announced = 0
    for deadline, level, due, flag, met in checks:
        for order_id, due_at in _fallen_due(uow, due, flag, met, now):
            _announce(uow, order_id, deadline, level, due_at, flag.name, now)
            announced += 1
    return announced


def _fallen_due(
    uow: UnitOfWork, due: Any, flag: Any, met: Any, now: datetime
) -> list[tuple[int, datetime]]:
    """Live orders whose ``due`` instant passed, not announced (``flag``) nor met yet."""
    w, c = repository.work_orders.c, repository.cases.c
    rows = uow.connection.execute(
        select(w.id, due)
        .join(repository.cases, c.id == w.case_id)
        .where(
            and_(
                w.state.in_([s.value for s in LIVE_WORK_ORDER_STATES]),
                due <= now,
                flag.is_(None),
                met.is_(None),
                # While the case waits on a third party its clock stands still.
                c.state != CaseState.WAITING_THIRD_PARTY.value,
            )
        )
        .order_by(w.id)
        .limit(500)
    ).all()
    return [(int(order_id), due_at) for order_id, due_at in rows]


def _announce(
    uow: UnitOfWork,
    order_id: int,
    deadline: str,
    level: str,
    due_at: datetime,
    flag: str,
    now: datetime,
) -> None:
    order = get_work_order(uow, order_id)
    case = get_case(uow, order.case_id)
    repository.update_work_order(uow.connection, order.id, {flag: now})
    repository.add_timeline(
        uow.connection,
        case.id,
        TimelineEntry(
            now,
            Milestone.SLA_BREACHED if level == "breach" else Milestone.SLA_WARNING,
            "system:sla",
            work_order_id=order.id,
            note=f"{deadline} deadline {due_at.isoformat()}",
        ),
    )
    uow.record(
        WorkOrderSlaAlert(
            **event_fields(case, SYSTEM) | {"state": order.state.value},
            work_order_id=order.id,
            case_state=case.state.value,
            deadline=deadline,
            level=level,
            due_at=due_at.isoformat(),
        )
    )
