"""Cases: opened from alarms and citizen reports (or by hand), routed to the responsible team by
ordered rules, triaged, and recorded step by step on the chain timeline.

Opening is driven by events: the platform's bus delivers ``AlarmRaised`` (for rules that open
cases) and ``ReportSubmitted`` after their transaction committed, and ``open_pending`` — run by
the housekeeping every 30 s — opens whatever an event handler missed (a crash between the commit
and the handler), so no alarm or report waits for a case forever.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select

from metropilot.accounts import repository as accounts_repository
from metropilot.alarms import services as alarms_services
from metropilot.alarms.repository import alarm_rules, alarms
from metropilot.assets import repository as assets_repository
from metropilot.cases import repository
from metropilot.cases.model import (
    LIVE_WORK_ORDER_STATES,
    OPEN_CASE_STATES,
    TRIAGE_QUEUE_STATES,
    ActorRole,
    Assignee,
    Case,
    CaseAction,
    CaseOpened,
    CaseOrigin,
    CaseResolved,
    CaseRouted,
    CaseState,
    CaseStateChanged,
    CaseTriaged,
    Milestone,
    Priority,
    TimelineEntry,
    WorkOrder,
    WorkOrderAction,
    WorkOrderDispatched,
    WorkOrderSlaAlert,
    WorkOrderState,
    WorkOrderStateChanged,
    actor_role,
    case_state_after_orders,
    chain_durations,
    transition_case,
    transition_work_order,
)
from metropilot.cases.routing import (
    CaseFacts,
    RoutingDecision,
    RoutingExplanation,
    RoutingRule,
    explain,
    parse_routing_rule,
    route,
)
from metropilot.cases.sla import BusinessCalendar, ClockKind, Pause, SlaTimer
from metropilot.db.uow import UnitOfWork
from metropilot.reports import services as reports_services
from metropilot.reports.model import ReportState
from metropilot.reports.photos import PhotoLimits, store_photos
from metropilot.reports.repository import categories as report_categories
from metropilot.reports.repository import reports
from metropilot.reports.storage import PhotoStorage
from metropilot.shared.actors import SYSTEM, Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from metropilot.shared.scope import ALL_WORK, UNRESTRICTED, Scope, WorkScope
from metropilot.telemetry.repository import asset_twin
from metropilot.territory.repository import communes

__all__ = [
    "CaseQuery",
    "act",
    "announce_deadlines",
    "attach_order_photos",
    "case_of_report",
    "case_timeline",
    "chain_stats",
    "create_rule",
    "delete_procedure",
    "delete_rule",
    "dispatch",
    "explain_routing",
    "get_case",
    "get_procedure",
    "get_work_order",
    "list_procedures",
    "list_rules",
    "list_sla_policies",
    "move_case",
    "open_case",
    "open_for_alarm",
    "open_for_report",
    "open_pending",
    "put_procedure",
    "put_sla_policy",
    "query_cases",
    "query_work_orders",
    "triage",
    "update_rule",
]

log = logging.getLogger(__name__)

SEVERITY_PRIORITY = {
    "critical": Priority.P1,
    "major": Priority.P2,
    "minor": Priority.P3,
    "warning": Priority.P4,
    "info": Priority.P4,
}


# --- routing rules -----------------------------------------------------------------------------


def list_rules(uow: UnitOfWork) -> list[RoutingRule]:
    return repository.list_routing_rules(uow.connection)


def _check_team(uow: UnitOfWork, rule: RoutingRule) -> None:
    if accounts_repository.get_team(uow.connection, rule.team) is None:
        raise InvalidInput(f"no team {rule.team!r}: routing sends cases to existing teams")


def create_rule(uow: UnitOfWork, spec: dict[str, Any], actor: Actor) -> RoutingRule:
    rule = parse_routing_rule(spec)
    _check_team(uow, rule)
    rule_id = repository.insert_routing_rule(uow.connection, rule, utcnow())
    uow.audit(AuditEntry(actor, "routing_rule.created", "routing_rule", str(rule_id)))
    return rule.model_copy(update={"id": rule_id})


def update_rule(uow: UnitOfWork, rule_id: int, spec: dict[str, Any], actor: Actor) -> RoutingRule:
    rule = parse_routing_rule(spec, rule_id=rule_id)
    _check_team(uow, rule)
    if not repository.update_routing_rule(uow.connection, rule_id, rule, utcnow()):
        raise NotFound(f"no routing rule {rule_id}")
    uow.audit(AuditEntry(actor, "routing_rule.updated", "routing_rule", str(rule_id)))
    return rule


def delete_rule(uow: UnitOfWork, rule_id: int, actor: Actor) -> None:
    if not repository.delete_routing_rule(uow.connection, rule_id):
        raise NotFound(f"no routing rule {rule_id}")
    uow.audit(AuditEntry(actor, "routing_rule.deleted", "routing_rule", str(rule_id)))


def explain_routing(
    uow: UnitOfWork,
    *,
    category: str,
    asset_kind: str | None,
    commune_insee: str | None,
    at: datetime,
) -> RoutingExplanation:
    facts = CaseFacts(category=category, asset_kind=asset_kind, commune_insee=commune_insee)
    return explain(list_rules(uow), facts, at)


def _assignee(uow: UnitOfWork, decision: RoutingDecision) -> Assignee | None:
    """The team a decision names, with its organisation and sector; None: the command post's
    own queue (the default, or a team that no longer exists)."""
    team = accounts_repository.get_team(uow.connection, decision.team)
    if team is None:
        return None
    organisation = accounts_repository.get_organisation_by_code(uow.connection, team.organisation)
    if organisation is None:
        return None
    return Assignee(
        team=team.code,
        organisation=organisation.code,
        sector=organisation.sector,
        team_id=team.id,
        organisation_id=organisation.id,
    )


# --- opening -----------------------------------------------------------------------------------


def _asset_facts(
    uow: UnitOfWork, asset_id: int | None, scope: Scope
) -> tuple[str | None, str | None]:
    """The kind and commune of the asset a case is opened on, looked up as ``GET /assets/{id}``
    reads it: outside the scope the asset does not exist, with the very same answer."""
    if asset_id is None:
        return None, None
    a = assets_repository.assets.c
    query = select(a.kind, a.commune_insee).where(a.id == asset_id)
    if not scope.unrestricted:
        query = query.where(assets_repository.scope_clause(scope))
    row = uow.connection.execute(query).first()
    if row is None:
        raise NotFound(f"no asset with id {asset_id}")
    return str(row[0]), str(row[1])


def _check_commune(uow: UnitOfWork, insee: str, scope: Scope) -> None:
    """A case's commune exists and is in the scope; a commune outside it gets the answer an
    unknown one gets."""
    c = communes.c
    known = uow.connection.execute(select(c.insee).where(c.insee == insee)).first() is not None
    if not known or not scope.allows_commune(insee):
        raise NotFound(f"no commune {insee!r}", code="unknown_commune")


def open_case(
    uow: UnitOfWork,
    *,
    origin: CaseOrigin,
    category: str,
    priority: Priority,
    actor: Actor,
    asset_id: int | None = None,
    commune_insee: str | None = None,
    title: str = "",
    description: str = "",
    alarm_id: int | None = None,
    report_id: int | None = None,
    detected_at: datetime | None = None,
    scope: Scope = UNRESTRICTED,
) -> Case:
    """Open a case on an asset or in a commune, routed at once. ``scope`` is what the person
    opening it sees: the asset and the commune are looked up within it."""
    now = utcnow()
    kind, asset_commune = _asset_facts(uow, asset_id, scope)
    if commune_insee is not None:
        _check_commune(uow, commune_insee, scope)
    commune = commune_insee or asset_commune
    decision = route(list_rules(uow), CaseFacts(category, kind, commune), now)
    assignee = _assignee(uow, decision)
    case_id = repository.insert_case(
        uow.connection,
        {
            "origin": origin.value,
            "category": category,
            "priority": priority.value,
            "state": CaseState.OPEN.value,
            "commune_insee": commune,
            "asset_id": asset_id,
            "asset_kind": kind,
            "team": assignee.team if assignee else None,
            "team_id": assignee.team_id if assignee else None,
            "organisation": assignee.organisation if assignee else None,
            "organisation_id": assignee.organisation_id if assignee else None,
            "sector": assignee.sector if assignee else None,
            "routing_rule_id": decision.rule.id if decision.rule else None,
            "title": title[:200],
            "description": description,
            "opened_at": now,
            "updated_at": now,
            "resolved_at": None,
            "closed_at": None,
            "reopened_count": 0,
        },
    )
    if alarm_id is not None:
        repository.link(uow.connection, case_id, now, alarm_id=alarm_id)
    if report_id is not None:
        repository.link(uow.connection, case_id, now, report_id=report_id)
    by = actor.label()
    repository.add_timeline(
        uow.connection,
        case_id,
        TimelineEntry(detected_at or now, Milestone.DETECTED, by, actor.organisation, actor.sector),
    )
    repository.add_timeline(
        uow.connection,
        case_id,
        TimelineEntry(now, Milestone.OPENED, by, actor.organisation, actor.sector),
    )
    repository.add_timeline(
        uow.connection,
        case_id,
        TimelineEntry(now, Milestone.ROUTED, "system:routing", note=decision.reason),
    )
    case = get_case(uow, case_id)
    uow.audit(
        AuditEntry(
            actor,
            "case.opened",
            "case",
            str(case_id),
            {
                "category": [None, category],
                "team": [None, case.assignee.team if case.assignee else None],
            },
        )
    )
    common = _event_fields(case, actor)
    uow.record(
        CaseOpened(
            **common,
            origin=origin.value,
            alarm_ids=case.alarm_ids,
            report_ids=case.report_ids,
        )
    )
    uow.record(
        CaseRouted(
            **common,
            rule_id=decision.rule.id if decision.rule else None,
            rule_name=decision.rule.name if decision.rule else None,
            reason=decision.reason,
        )
    )
    return case


def _event_fields(case: Case, actor: Actor) -> dict[str, Any]:
    assignee = case.assignee
    return {
        "case_id": case.id,
        "category": case.category,
        "priority": case.priority.value,
        "state": case.state.value,
        "asset_id": case.asset_id,
        "kind": case.asset_kind,
        "commune_insee": case.commune_insee,
        "team": assignee.team if assignee else None,
        "organisation": assignee.organisation if assignee else None,
        "organisation_id": assignee.organisation_id if assignee else None,
        "sector": assignee.sector if assignee else None,
        "actor": actor.label(),
        "actor_organisation": actor.organisation,
        "actor_sector": actor.sector,
    }


def open_for_alarm(uow: UnitOfWork, alarm_id: int) -> Case | None:
    """The case an alarm belongs to: its asset's open case, or a new one. None when the alarm is
    gone, cleared already, or its rule does not open cases."""
    if repository.open_case_for(uow.connection, alarm_id=alarm_id) is not None:
        return None
    a, r = alarms.c, alarm_rules.c
    row = uow.connection.execute(
        select(
            a.asset_id, a.severity, a.state, a.raised_at, a.message, r.code, r.name, r.opens_case
        )
        .join(alarm_rules, r.id == a.rule_id)
        .where(a.id == alarm_id)
    ).first()
    if row is None or row.state == "cleared" or not row.opens_case:
        return None
    now = utcnow()
    existing = repository.open_case_on_asset(
        uow.connection, int(row.asset_id), [s.value for s in OPEN_CASE_STATES]
    )
    if existing is not None:
        repository.link(uow.connection, existing, now, alarm_id=alarm_id)
        return get_case(uow, existing)
    return open_case(
        uow,
        origin=CaseOrigin.ALARM,
        category=str(row.code or f"alarm-rule-{row.name}")[:48],
        priority=SEVERITY_PRIORITY.get(str(row.severity), Priority.P3),
        actor=SYSTEM,
        asset_id=int(row.asset_id),
        title=str(row.name),
        description=str(row.message or ""),
        alarm_id=alarm_id,
        detected_at=row.raised_at,
    )


def open_for_report(uow: UnitOfWork, report_id: int, *, by_hand: bool = False) -> Case | None:
    """A case for a citizen report: its linked equipment's open case when there is one. Reports
    of categories that open cases at triage (``opens_case: triage``) wait for an operator
    (``by_hand``)."""
    if repository.open_case_for(uow.connection, report_id=report_id) is not None:
        return None
    r, rc = reports.c, report_categories.c
    row = uow.connection.execute(
        select(
            rc.opens_case,
            r.category_code,
            r.priority,
            r.asset_id,
            r.commune_insee,
            r.requested_at,
            r.description,
            r.state,
            r.duplicate_of,
        )
        .join(report_categories, rc.code == r.category_code)
        .where(r.id == report_id)
    ).first()
    if row is None or row.duplicate_of is not None or row.state not in ("new", "triaged"):
        return None
    if row.opens_case != "auto" and not by_hand:
        return None  # this category's reports become cases at triage
    now = utcnow()
    if row.asset_id is not None:
        existing = repository.open_case_on_asset(
            uow.connection, int(row.asset_id), [s.value for s in OPEN_CASE_STATES]
        )
        if existing is not None:
            repository.link(uow.connection, existing, now, report_id=report_id)
            return get_case(uow, existing)
    return open_case(
        uow,
        origin=CaseOrigin.CITIZEN_REPORT,
        category=str(row.category_code),
        priority=Priority(str(row.priority)),
        actor=SYSTEM,
        asset_id=row.asset_id,
        commune_insee=row.commune_insee,
        title=f"Citizen report {report_id}",
        description=str(row.description or "")[:2000],
        report_id=report_id,
        detected_at=row.requested_at,
    )


def case_of_report(uow: UnitOfWork, report_id: int) -> Case | None:
    case_id = repository.open_case_for(uow.connection, report_id=report_id)
    return None if case_id is None else get_case(uow, case_id)


def open_pending(uow: UnitOfWork, *, limit: int = 200) -> int:
    """Open the cases event handlers missed: active alarms of rules that open cases, and new
    citizen reports, that no case links yet. Returns how many were handled."""
    a, r, rep, links = alarms.c, alarm_rules.c, reports.c, repository.case_links.c
    alarm_ids = uow.connection.execute(
        select(a.id)
        .join(alarm_rules, r.id == a.rule_id)
        .where(
            and_(
                r.opens_case,
                a.state != "cleared",
                a.suppressed_by.is_(None),
                ~exists().where(links.alarm_id == a.id),
            )
        )
        .order_by(a.id)
        .limit(limit)
    ).scalars()
    rc = report_categories.c
    report_ids = uow.connection.execute(
        select(rep.id)
        .join(report_categories, rc.code == rep.category_code)
        .where(
            and_(
                rc.opens_case == "auto",
                rep.state == "new",
                rep.duplicate_of.is_(None),
                ~exists().where(links.report_id == rep.id),
            )
        )
        .order_by(rep.id)
        .limit(limit)
    ).scalars()
    handled = 0
    for alarm_id in list(alarm_ids):
        open_for_alarm(uow, int(alarm_id))
        handled += 1
    for report_id in list(report_ids):
        open_for_report(uow, int(report_id))
        handled += 1
    return handled


# --- triage ------------------------------------------------------------------------------------


def triage(
    uow: UnitOfWork,
    case_id: int,
    actor: Actor,
    actor_account_role: str | None,
    *,
    category: str | None = None,
    priority: Priority | None = None,
    reason: str = "",
    scope: WorkScope = ALL_WORK,
) -> Case:
    """Check a case in the triage queue; a new category routes it again, and says why."""
    case = get_case(uow, case_id, for_update=True, scope=scope)
    state = transition_case(case.state, CaseAction.TRIAGE, actor_role(actor_account_role))
    now = utcnow()
    values: dict[str, Any] = {"state": state.value, "updated_at": now}
    if priority is not None:
        values["priority"] = priority.value
    rerouted: RoutingDecision | None = None
    if category is not None and category != case.category:
        if not reason.strip():
            raise InvalidInput("say why the category changes", code="reason_required")
        values["category"] = category
        rerouted = route(
            list_rules(uow), CaseFacts(category, case.asset_kind, case.commune_insee), now
        )
        assignee = _assignee(uow, rerouted)
        values |= {
            "team": assignee.team if assignee else None,
            "team_id": assignee.team_id if assignee else None,
            "organisation": assignee.organisation if assignee else None,
            "organisation_id": assignee.organisation_id if assignee else None,
            "sector": assignee.sector if assignee else None,
            "routing_rule_id": rerouted.rule.id if rerouted.rule else None,
        }
    repository.update_case(uow.connection, case_id, values)
    by = actor.label()
    repository.add_timeline(
        uow.connection,
        case_id,
        TimelineEntry(now, Milestone.TRIAGED, by, actor.organisation, actor.sector, note=reason),
    )
    if rerouted is not None:
        note = f"category {case.category} → {category}: {reason.strip()}; {rerouted.reason}"
        repository.add_timeline(
            uow.connection,
            case_id,
            TimelineEntry(now, Milestone.ROUTED, by, actor.organisation, actor.sector, note=note),
        )
    changed = get_case(uow, case_id)
    uow.audit(
        AuditEntry(
            actor,
            "case.triaged",
            "case",
            str(case_id),
            {
                k: [getattr(case, k, None), v]
                for k, v in values.items()
                if k in ("category", "priority", "team")
            },
        )
    )
    common = _event_fields(changed, actor)
    uow.record(CaseTriaged(**common))
    if rerouted is not None:
        uow.record(
            CaseRouted(
                **common,
                rule_id=rerouted.rule.id if rerouted.rule else None,
                rule_name=rerouted.rule.name if rerouted.rule else None,
                reason=rerouted.reason,
                previous_team=case.assignee.team if case.assignee else None,
            )
        )
    return changed


# --- reading -----------------------------------------------------------------------------------


def get_case(
    uow: UnitOfWork, case_id: int, *, for_update: bool = False, scope: WorkScope = ALL_WORK
) -> Case:
    """One case; outside the caller's scope it does not exist (the same 404, reads and writes
    alike)."""
    found = repository.get_case(uow.connection, case_id, for_update=for_update, scope=scope)
    if found is None:
        raise NotFound(f"no case {case_id}", code="unknown_case")
    return found


@dataclass(frozen=True, slots=True)
class CaseQuery:
    asset_id: int | None = None
    states: Sequence[CaseState] = ()
    teams: Sequence[str] = ()
    communes: Sequence[str] | None = None  # None: all
    priorities: Sequence[Priority] = ()
    scope: WorkScope = ALL_WORK  # what the caller sees (policy.case_scope)
    triage_queue: bool = False
    offset: int = 0
    limit: int = 100


def query_cases(uow: UnitOfWork, q: CaseQuery) -> list[Case]:
    c = repository.cases.c
    where: list[Any] = []
    if q.asset_id is not None:
        where.append(c.asset_id == q.asset_id)
    states = list(q.states) or (sorted(TRIAGE_QUEUE_STATES) if q.triage_queue else [])
    if states:
        where.append(c.state.in_([s.value for s in states]))
    if q.teams:
        where.append(c.team.in_(list(q.teams)))
    if q.communes is not None:
        where.append(c.commune_insee.in_(list(q.communes)))
    if q.priorities:
        where.append(c.priority.in_([p.value for p in q.priorities]))
    if not q.scope.unrestricted:
        where.append(repository.case_scope_clause(q.scope))
    return repository.find_cases(uow.connection, where, q.offset, q.limit)


def case_timeline(uow: UnitOfWork, case_id: int) -> dict[str, Any]:
    entries = repository.timeline_of(uow.connection, case_id)
    durations = chain_durations(entries)
    return {"entries": entries, "durations": durations}


# --- work orders -------------------------------------------------------------------------------

# Response and resolution targets per priority, until policies per team and contract lot exist:
# urgent work on the calendar clock, the rest in business hours (Europe/Paris, French holidays).
DEFAULT_SLA: dict[Priority, tuple[ClockKind, timedelta, timedelta]] = {
    Priority.P1: (ClockKind.CALENDAR, timedelta(hours=1), timedelta(hours=4)),
    Priority.P2: (ClockKind.CALENDAR, timedelta(hours=4), timedelta(hours=24)),
    Priority.P3: (ClockKind.BUSINESS, timedelta(hours=8), timedelta(hours=40)),
    Priority.P4: (ClockKind.BUSINESS, timedelta(hours=24), timedelta(hours=120)),
}
_BUSINESS = BusinessCalendar()

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


def _deadlines(
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


def list_sla_policies(uow: UnitOfWork) -> list[dict[str, Any]]:
    return repository.list_sla_policies(uow.connection)


def put_sla_policy(
    uow: UnitOfWork,
    team: str,
    priority: Priority,
    clock: str,
    response: timedelta,
    resolution: timedelta,
    calendar: dict[str, Any] | None,
    actor: Actor,
) -> dict[str, Any]:
    """Set a team's (or every team's: '*') targets for a priority (supervisors)."""
    if team != "*" and accounts_repository.get_team(uow.connection, team) is None:
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
    return found


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
    deadlines = _deadlines(uow, case.assignee.team, case.priority, now)
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
            **deadlines,
        },
    )
    repository.update_case(uow.connection, case_id, {"state": case_state.value, "updated_at": now})
    repository.add_timeline(
        uow.connection,
        case_id,
        TimelineEntry(
            now, Milestone.DISPATCHED, actor.label(), actor.organisation, actor.sector, order_id
        ),
    )
    uow.audit(AuditEntry(actor, "work_order.dispatched", "work_order", str(order_id)))
    changed = get_case(uow, case_id)
    uow.record(
        WorkOrderDispatched(
            **_event_fields(changed, actor) | {"state": order_state.value},
            work_order_id=order_id,
            case_state=case_state.value,
        )
    )
    return get_work_order(uow, order_id)


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
    resolves its case and tells its citizens."""
    found = repository.get_work_order(uow.connection, order_id, for_update=True, scope=scope)
    if found is None:
        raise NotFound(f"no work order {order_id}", code="unknown_work_order")
    order = found[0]
    on_team = actor.organisation is not None and actor.organisation == order.assignee.organisation
    role = actor_role(actor_account_role, on_assigned_team=on_team)
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
    repository.add_timeline(
        uow.connection,
        case.id,
        TimelineEntry(
            now,
            ACTION_MILESTONES[action],
            actor.label(),
            actor.organisation,
            actor.sector,
            order_id,
            (note or "").strip(),
        ),
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
            **_event_fields(case, actor) | {"state": target.value},
            work_order_id=order_id,
            case_state=case.state.value,
            previous=order.state.value,
            action=action.value,
        )
    )
    _follow_orders(uow, case, actor, order_id, now)
    return get_work_order(uow, order_id)


def _follow_orders(uow: UnitOfWork, case: Case, actor: Actor, order_id: int, now: datetime) -> None:
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
        note = verified.note if verified else ""
        uow.record(
            CaseResolved(
                **_event_fields(changed, SYSTEM),
                previous=case.state.value,
                work_order_id=verified.id if verified else order_id,
                note=note,
            )
        )
        _close_the_loop(uow, changed, note, now)
    else:
        uow.record(
            CaseStateChanged(
                **_event_fields(changed, SYSTEM),
                previous=case.state.value,
                action="follow_orders",
            )
        )


def _close_the_loop(uow: UnitOfWork, case: Case, note: str, now: datetime) -> None:
    """A resolved case fixes its open citizen reports, whose reporters hear of it; its alarms
    on equipment that is not connected (it never reports, so nothing else would clear them)
    clear at once. Connected equipment clears its own alarms when it reports healthy again."""
    twin = asset_twin.c
    for alarm_id in case.alarm_ids:
        alarm = alarms_services.get_alarm(uow, alarm_id)
        if alarm.state.value == "cleared":
            continue
        connected = uow.connection.execute(
            select(twin.asset_id).where(twin.asset_id == alarm.asset_id)
        ).first()
        if connected is None:
            alarms_services.clear(
                uow,
                alarm_id,
                f"case {case.id} resolved (the equipment is not connected)",
                SYSTEM,
                now=now,
            )
    informed = False
    for report_id in case.report_ids:
        report = reports_services.get_report(uow, report_id)
        if not report.is_open:
            continue
        reports_services.change_state(
            uow,
            report_id,
            ReportState.FIXED,
            SYSTEM,
            note=f"Fixed. {note}".strip() if note else "",
            now=now,
        )
        informed = True
    if informed:
        repository.add_timeline(
            uow.connection,
            case.id,
            TimelineEntry(now, Milestone.CITIZEN_INFORMED, "system:reports"),
        )


def get_work_order(uow: UnitOfWork, order_id: int, scope: WorkScope = ALL_WORK) -> WorkOrder:
    """One work order; outside the caller's scope it does not exist (the same 404)."""
    found = repository.get_work_order(uow.connection, order_id, scope=scope)
    if found is None:
        raise NotFound(f"no work order {order_id}", code="unknown_work_order")
    return found[0]


def work_order_deadlines(uow: UnitOfWork, order_id: int) -> tuple[datetime | None, datetime | None]:
    found = repository.get_work_order(uow.connection, order_id)
    if found is None:
        raise NotFound(f"no work order {order_id}", code="unknown_work_order")
    row = found[1]
    return row["response_due_at"], row["resolution_due_at"]


def query_work_orders(
    uow: UnitOfWork,
    *,
    states: Sequence[WorkOrderState] = (),
    case_id: int | None = None,
    order_id: int | None = None,
    scope: WorkScope = ALL_WORK,
    offset: int = 0,
    limit: int = 100,
) -> list[tuple[WorkOrder, datetime | None, datetime | None]]:
    """Work orders with their deadlines, newest first, within the caller's scope
    (``policy.work_order_scope``)."""
    w = repository.work_orders.c
    where: list[Any] = []
    if states:
        where.append(w.state.in_([s.value for s in states]))
    if case_id is not None:
        where.append(w.case_id == case_id)
    if order_id is not None:
        where.append(w.id == order_id)
    if not scope.unrestricted:
        where.append(repository.work_order_scope_clause(scope))
    return [
        (order, row["response_due_at"], row["resolution_due_at"])
        for order, row in repository.find_work_orders(uow.connection, where, offset, limit)
    ]


def announce_deadlines(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Announce, once each, the SLA warnings and breaches that fell due: a response deadline
    while the team has not accepted, a resolution deadline while the work is not done. Run by
    the housekeeping every 30 s; returns how many were announced."""
    now = now or utcnow()
    w = repository.work_orders.c
    live = [s.value for s in LIVE_WORK_ORDER_STATES]
    checks = (
        ("response", "warning", w.response_warning_at, w.response_warned_at, w.accepted_at),
        ("response", "breach", w.response_due_at, w.response_breached_at, w.accepted_at),
        ("resolution", "warning", w.resolution_warning_at, w.resolution_warned_at, w.done_at),
        ("resolution", "breach", w.resolution_due_at, w.resolution_breached_at, w.done_at),
    )
    announced = 0
    for deadline, level, due, flag, met in checks:
        c = repository.cases.c
        rows = uow.connection.execute(
            select(w.id, due)
            .join(repository.cases, c.id == w.case_id)
            .where(
                and_(
                    w.state.in_(live),
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
        for order_id, due_at in rows:
            order = get_work_order(uow, int(order_id))
            case = get_case(uow, order.case_id)
            repository.update_work_order(uow.connection, order.id, {flag.name: now})
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
                    **_event_fields(case, SYSTEM) | {"state": order.state.value},
                    work_order_id=order.id,
                    case_state=case.state.value,
                    deadline=deadline,
                    level=level,
                    due_at=due_at.isoformat(),
                )
            )
            announced += 1
    return announced


# --- chain statistics --------------------------------------------------------------------------


def chain_stats(
    uow: UnitOfWork,
    *,
    since: datetime,
    until: datetime,
    scope: WorkScope = ALL_WORK,
) -> dict[str, Any]:
    """Where time goes along the chain, for the cases opened in [since, until): each link's
    count, median and 90th percentile in seconds, overall and per team, per public or private
    side, and per commune."""
    c = repository.cases.c
    where: list[Any] = [c.opened_at >= since, c.opened_at < until]
    if not scope.unrestricted:
        where.append(repository.case_scope_clause(scope))
    rows = uow.connection.execute(
        select(c.id, c.team, c.sector, c.commune_insee).where(*where).order_by(c.id)
    ).all()
    groups: dict[str, dict[str, dict[str, list[float]]]] = {
        "overall": {},
        "team": {},
        "sector": {},
        "commune": {},
    }
    for case_id, team, sector, commune in rows:
        durations = chain_durations(repository.timeline_of(uow.connection, int(case_id)))
        keys = {
            "overall": "all",
            "team": team or "command-post",
            "sector": sector or "public",
            "commune": commune or "unknown",
        }
        for link in durations.links:
            seconds = link.duration.total_seconds()
            for dimension, key in keys.items():
                groups[dimension].setdefault(key, {}).setdefault(link.name, []).append(seconds)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "cases": len(rows),
        **{
            dimension: {
                key: {name: _summary(values) for name, values in sorted(links.items())}
                for key, links in sorted(by_key.items())
            }
            for dimension, by_key in groups.items()
        },
    }


def _summary(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    n = len(ordered)
    return {
        "count": n,
        "median_s": ordered[(n - 1) // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2,
        "p90_s": ordered[min(n - 1, round(0.9 * (n - 1)))],
    }


# --- procedures --------------------------------------------------------------------------------

MAX_STEPS = 60


def get_procedure(uow: UnitOfWork, category: str) -> dict[str, Any] | None:
    return repository.get_procedure(uow.connection, category)


def list_procedures(uow: UnitOfWork) -> list[dict[str, Any]]:
    return repository.list_procedures(uow.connection)


def put_procedure(
    uow: UnitOfWork, category: str, title: str, steps: Sequence[str], actor: Actor
) -> dict[str, Any]:
    """Write the checklist of a category (supervisors): the steps in order, each one line."""
    cleaned = [step.strip() for step in steps if step.strip()]
    problems = []
    if not title.strip():
        problems.append("a procedure needs a title")
    if not cleaned:
        problems.append("a procedure needs at least one step")
    if len(cleaned) > MAX_STEPS:
        problems.append(f"a procedure has at most {MAX_STEPS} steps")
    long_steps = [i + 1 for i, step in enumerate(cleaned) if len(step) > 500]
    if long_steps:
        problems.append(f"steps {long_steps} are over 500 characters")
    if problems:
        raise InvalidInput("; ".join(problems), code="invalid_procedure")
    existed = repository.put_procedure(
        uow.connection,
        {
            "category": category,
            "title": title.strip()[:200],
            "steps": cleaned,
            "updated_at": utcnow(),
            "updated_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "procedure.updated" if existed else "procedure.created",
            "procedure",
            category,
            {"steps": [None, len(cleaned)]},
        )
    )
    found = get_procedure(uow, category)
    assert found is not None
    return found


def delete_procedure(uow: UnitOfWork, category: str, actor: Actor) -> None:
    if not repository.delete_procedure(uow.connection, category):
        raise NotFound(f"no procedure for {category!r}")
    uow.audit(AuditEntry(actor, "procedure.deleted", "procedure", category))


# --- the case's own moves ------------------------------------------------------------------------

CASE_MILESTONES = {
    CaseAction.WAIT_THIRD_PARTY: Milestone.WAITING_THIRD_PARTY,
    CaseAction.RESUME: Milestone.RESUMED,
    CaseAction.RESOLVE: Milestone.RESOLVED,
    CaseAction.CLOSE: Milestone.CLOSED,
    CaseAction.CANCEL: Milestone.CANCELLED,
    CaseAction.REOPEN: Milestone.REOPENED,
}


def _pauses(raw: Any) -> list[Pause]:
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


def _reschedule(uow: UnitOfWork, case: Case, pauses: Sequence[Pause], now: datetime) -> None:
    """Move the live orders' deadlines and warning points by the paused working time."""
    for order in repository.work_orders_of(uow.connection, case.id, case.reopened_count):
        if order.state not in LIVE_WORK_ORDER_STATES or order.dispatched_at is None:
            continue
        values = _deadlines(uow, order.assignee.team, case.priority, order.dispatched_at, pauses)
        repository.update_work_order(uow.connection, order.id, values)


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
    and resume, resolve, close, cancel (its live orders too), reopen."""
    case = get_case(uow, case_id, for_update=True, scope=scope)
    if action not in CASE_MILESTONES:
        raise InvalidInput(f"{action.value} is not done by hand here", code="not_a_case_move")
    target = transition_case(case.state, action, actor_role(actor_account_role), reason=reason)
    now = utcnow()
    c = repository.cases.c
    raw = uow.connection.execute(select(c.sla_pauses).where(c.id == case_id)).scalar_one()
    pauses = _pauses(raw)
    values: dict[str, Any] = {"state": target.value, "updated_at": now}
    if action is CaseAction.WAIT_THIRD_PARTY:
        pauses.append(Pause(started_at=now, ended_at=None, reason=(reason or "").strip()))
        values["sla_pauses"] = _pauses_json(pauses)
    elif action is CaseAction.RESUME:
        pauses = [p if not p.ongoing else Pause(p.started_at, now, p.reason) for p in pauses]
        values["sla_pauses"] = _pauses_json(pauses)
        _reschedule(uow, case, pauses, now)
    elif action is CaseAction.RESOLVE:
        values["resolved_at"] = now
    elif action is CaseAction.CLOSE:
        values["closed_at"] = now
    elif action is CaseAction.REOPEN:
        values |= {
            "reopened_count": case.reopened_count + 1,
            "resolved_at": None,
            "closed_at": None,
        }
        values["sla_pauses"] = []
    if action in (CaseAction.CANCEL, CaseAction.RESOLVE):
        for order in repository.work_orders_of(uow.connection, case_id, case.reopened_count):
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
    repository.update_case(uow.connection, case_id, values)
    repository.add_timeline(
        uow.connection,
        case_id,
        TimelineEntry(
            now,
            CASE_MILESTONES[action],
            actor.label(),
            actor.organisation,
            actor.sector,
            note=(reason or "").strip(),
        ),
    )
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
    uow.record(
        CaseStateChanged(
            **_event_fields(changed, actor),
            previous=case.state.value,
            action=action.value,
            reason=(reason or "").strip(),
        )
    )
    if action is CaseAction.RESOLVE:
        _close_the_loop(uow, changed, (reason or "").strip(), now)
    return changed


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
    found = repository.get_work_order(uow.connection, order_id, for_update=True, scope=scope)
    if found is None:
        raise NotFound(f"no work order {order_id}", code="unknown_work_order")
    order = found[0]
    on_team = actor.organisation is not None and actor.organisation == order.assignee.organisation
    if actor_role(actor_account_role, on_assigned_team=on_team) is not ActorRole.ASSIGNED_TEAM:
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
