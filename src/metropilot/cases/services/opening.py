"""Opening cases: by hand, for an alarm or for a citizen report, routed at once.

Opening is driven by events: the platform's bus delivers ``AlarmRaised`` (for rules that open
cases) and ``ReportSubmitted`` after their transaction committed, and ``open_pending`` — run by
the housekeeping every 30 s — opens whatever an event handler missed (a crash between the commit
and the handler), so no alarm or report waits for a case forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from metropilot.alarms import queries as alarms_queries
from metropilot.assets import queries as assets_queries
from metropilot.cases import repository
from metropilot.cases.model import (
    OPEN_CASE_STATES,
    Case,
    CaseOpened,
    CaseOrigin,
    CaseRouted,
    CaseState,
    Milestone,
    Priority,
    TimelineEntry,
)
from metropilot.cases.routing import CaseFacts, RoutingDecision
from metropilot.cases.services.reading import get_case
from metropilot.cases.services.recording import event_fields
from metropilot.cases.services.routing import assignee_columns, assignee_of, decide
from metropilot.db.uow import UnitOfWork
from metropilot.reports import queries as reports_queries
from metropilot.shared.actors import SYSTEM, Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import NotFound
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.territory import queries as territory_queries

__all__ = [
    "SEVERITY_PRIORITY",
    "RaisedAlarm",
    "open_case",
    "open_for_alarm",
    "open_for_raised_alarm",
    "open_for_report",
    "open_pending",
]

SEVERITY_PRIORITY = {
    "critical": Priority.P1,
    "major": Priority.P2,
    "minor": Priority.P3,
    "warning": Priority.P4,
    "info": Priority.P4,
}


def _asset_facts(
    uow: UnitOfWork, asset_id: int | None, scope: Scope
) -> tuple[str | None, str | None]:
    """The kind and commune of the asset a case is opened on, looked up as ``GET /assets/{id}``
    reads it: outside the scope the asset does not exist, with the very same answer."""
    if asset_id is None:
        return None, None
    place = assets_queries.asset_place(uow.connection, asset_id, scope)
    if place is None:
        raise NotFound(f"no asset with id {asset_id}")
    return place.kind, place.commune_insee


def _check_commune(uow: UnitOfWork, insee: str, scope: Scope) -> None:
    """A case's commune exists and is in the scope; a commune outside it gets the answer an
    unknown one gets."""
    known = territory_queries.commune_exists(uow.connection, insee)
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
    decision = decide(uow, CaseFacts(category, kind, commune), now)
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
            **assignee_columns(assignee_of(uow, decision), decision),
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
    _record_opening(uow, case_id, actor, detected_at or now, now, decision)
    case = get_case(uow, case_id)
    _announce_opening(uow, case, actor, origin, decision)
    return case


def _record_opening(
    uow: UnitOfWork,
    case_id: int,
    actor: Actor,
    detected_at: datetime,
    now: datetime,
    decision: RoutingDecision,
) -> None:
    """The first steps of the timeline: detected, opened, routed (and why)."""
    by = actor.label()
    for at, what in ((detected_at, Milestone.DETECTED), (now, Milestone.OPENED)):
        repository.add_timeline(
            uow.connection,
            case_id,
            TimelineEntry(at, what, by, actor.organisation, actor.sector),
        )
    repository.add_timeline(
        uow.connection,
        case_id,
        TimelineEntry(now, Milestone.ROUTED, "system:routing", note=decision.reason),
    )


def _announce_opening(
    uow: UnitOfWork, case: Case, actor: Actor, origin: CaseOrigin, decision: RoutingDecision
) -> None:
    uow.audit(
        AuditEntry(
            actor,
            "case.opened",
            "case",
            str(case.id),
            {
                "category": [None, case.category],
                "team": [None, case.assignee.team if case.assignee else None],
            },
        )
    )
    common = event_fields(case, actor)
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


# --- from alarms -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RaisedAlarm:
    """What a case takes of an alarm that opens one (from ``AlarmRaised``, or read back)."""

    alarm_id: int
    asset_id: int
    severity: str
    rule_code: str | None
    rule_name: str
    message: str
    raised_at: datetime


def open_for_alarm(uow: UnitOfWork, alarm_id: int) -> Case | None:
    """The case an alarm belongs to: its asset's open case, or a new one. None when the alarm is
    gone, cleared already, or its rule does not open cases."""
    if repository.open_case_for(uow.connection, alarm_id=alarm_id) is not None:
        return None
    found = alarms_queries.alarm_for_case(uow.connection, alarm_id)
    if found is None or found.state == "cleared" or not found.opens_case:
        return None
    alarm = RaisedAlarm(
        alarm_id=alarm_id,
        asset_id=found.asset_id,
        severity=found.severity,
        rule_code=found.rule_code,
        rule_name=found.rule_name,
        message=found.message,
        raised_at=found.raised_at,
    )
    return _open_for(uow, alarm)


def open_for_raised_alarm(uow: UnitOfWork, alarm: RaisedAlarm) -> Case | None:
    """As ``open_for_alarm``, with what the alarm's event said (the alarm was just raised by a
    rule that opens cases): nothing to read back."""
    if repository.open_case_for(uow.connection, alarm_id=alarm.alarm_id) is not None:
        return None
    return _open_for(uow, alarm)


def _open_for(uow: UnitOfWork, alarm: RaisedAlarm) -> Case:
    existing = repository.open_case_on_asset(
        uow.connection, alarm.asset_id, [s.value for s in OPEN_CASE_STATES]
    )
    if existing is not None:
        repository.link(uow.connection, existing, utcnow(), alarm_id=alarm.alarm_id)
        return get_case(uow, existing)
    return open_case(
        uow,
        origin=CaseOrigin.ALARM,
        category=str(alarm.rule_code or f"alarm-rule-{alarm.rule_name}")[:48],
        priority=SEVERITY_PRIORITY.get(alarm.severity, Priority.P3),
        actor=SYSTEM,
        asset_id=alarm.asset_id,
        title=alarm.rule_name,
        description=alarm.message,
        alarm_id=alarm.alarm_id,
        detected_at=alarm.raised_at,
    )


# --- from citizen reports ----------------------------------------------------------------------


def open_for_report(uow: UnitOfWork, report_id: int, *, by_hand: bool = False) -> Case | None:
    """A case for a citizen report: its linked equipment's open case when there is one. Reports
    of categories that open cases at triage (``opens_case: triage``) wait for an operator
    (``by_hand``)."""
    if repository.open_case_for(uow.connection, report_id=report_id) is not None:
        return None
    report = reports_queries.report_for_case(uow.connection, report_id)
    if report is None or report.duplicate_of is not None or report.state not in ("new", "triaged"):
        return None
    if report.opens_case != "auto" and not by_hand:
        return None  # this category's reports become cases at triage
    if report.asset_id is not None:
        existing = repository.open_case_on_asset(
            uow.connection, report.asset_id, [s.value for s in OPEN_CASE_STATES]
        )
        if existing is not None:
            repository.link(uow.connection, existing, utcnow(), report_id=report_id)
            return get_case(uow, existing)
    return open_case(
        uow,
        origin=CaseOrigin.CITIZEN_REPORT,
        category=report.category_code,
        priority=Priority(report.priority.value),
        actor=SYSTEM,
        asset_id=report.asset_id,
        commune_insee=report.commune_insee,
        title=f"Citizen report {report_id}",
        description=report.description[:2000],
        report_id=report_id,
        detected_at=report.requested_at,
    )


def open_pending(uow: UnitOfWork, *, limit: int = 200) -> int:
    """Open the cases event handlers missed: active alarms of rules that open cases, and new
    citizen reports, that no case links yet. Returns how many were handled."""
    links = repository.case_links.c
    conn = uow.connection
    alarm_ids = alarms_queries.alarms_awaiting_case(
        conn, already_linked=select(links.alarm_id).where(links.alarm_id.is_not(None)), limit=limit
    )
    report_ids = reports_queries.report_ids_awaiting_case(
        conn,
        already_linked=select(links.report_id).where(links.report_id.is_not(None)),
        limit=limit,
    )
    for alarm_id in alarm_ids:
        open_for_alarm(uow, alarm_id)
    for report_id in report_ids:
        open_for_report(uow, report_id)
    return len(alarm_ids) + len(report_ids)
