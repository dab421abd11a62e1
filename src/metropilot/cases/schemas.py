"""HTTP shapes of cases, their timeline and routing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from metropilot.cases.model import Case, ChainDurations, TimelineEntry, WorkOrder
from metropilot.cases.routing import RoutingExplanation, RoutingRule
from metropilot.shared.bounds import Id, Instant

__all__ = [
    "CaseDetailOut",
    "CaseIn",
    "CaseListOut",
    "CaseOut",
    "CaseReceiptOut",
    "ChainLinkOut",
    "ChainStatsOut",
    "DispatchIn",
    "ExplainIn",
    "ExplanationOut",
    "LinkSummaryOut",
    "ProcedureIn",
    "ProcedureListOut",
    "ProcedureOut",
    "RoutingRuleListOut",
    "RuleFailureOut",
    "RuleVerdictOut",
    "SlaPolicyIn",
    "SlaPolicyListOut",
    "SlaPolicyOut",
    "TeamOut",
    "TimelineEntryOut",
    "TimelineOut",
    "TriageIn",
    "WorkOrderListOut",
    "WorkOrderOut",
    "WorkOrderStepIn",
    "case_out",
    "case_receipt_out",
    "explanation_out",
    "procedure_out",
    "rule_out",
    "sla_policy_out",
    "timeline_out",
    "work_order_out",
]


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(min_length=1, max_length=48)
    priority: str = Field(default="P3", description="P1 (most urgent) to P4")
    asset: Id | None = None
    commune: str | None = Field(default=None, min_length=5, max_length=5)
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=4000)


class TriageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str | None = Field(default=None, min_length=1, max_length=48)
    priority: str | None = None
    reason: str = Field(default="", max_length=2000, description="required to change category")


class ProcedureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=200)
    steps: list[str] = Field(max_length=60, description="the checklist, in order")


def procedure_out(found: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "category": found["category"],
        "title": found["title"],
        "steps": list(found["steps"]),
        "updated_at": found["updated_at"].isoformat(),
        "updated_by": found["updated_by"],
    }


class SlaPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clock: str = Field(description="calendar (24/7) or business (working hours, holidays off)")
    response_minutes: int = Field(gt=0, le=60 * 24 * 365)
    resolution_minutes: int = Field(gt=0, le=60 * 24 * 365)
    calendar: dict[str, Any] | None = Field(
        default=None,
        description='business hours, e.g. {"hours": {"mon": ["08:00-18:00"]}}; '
        "default: Monday to Friday 08:00-18:00, French public holidays off",
    )


def sla_policy_out(found: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "team": found["team"],
        "priority": found["priority"],
        "clock": found["clock"],
        "response_minutes": found["response_minutes"],
        "resolution_minutes": found["resolution_minutes"],
        "calendar": found["calendar"],
        "updated_at": found["updated_at"].isoformat(),
    }


class DispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instructions: str = Field(default="", max_length=2000)


class WorkOrderStepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(
        default=None,
        max_length=2000,
        description="the team's note (done), or the reason (refuse, reject, cancel)",
    )


def work_order_out(
    order: WorkOrder, response_due: datetime | None, resolution_due: datetime | None
) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": order.id,
        "case": order.case_id,
        "state": order.state.value,
        "team": {
            "code": order.assignee.team,
            "organisation": order.assignee.organisation,
            "sector": order.assignee.sector,
            "public": order.assignee.sector == "public",
        },
        "instructions": order.instructions,
        "note": order.note,
        "photos": len(order.photos),
        "reason": order.reason,
        "created_at": iso(order.created_at),
        "dispatched_at": iso(order.dispatched_at),
        "accepted_at": iso(order.accepted_at),
        "on_site_at": iso(order.on_site_at),
        "done_at": iso(order.done_at),
        "verified_at": iso(order.verified_at),
        "response_due_at": iso(response_due),
        "resolution_due_at": iso(resolution_due),
    }


class ExplainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str | None = Field(default=None, min_length=1, max_length=48)
    asset_kind: str | None = None
    commune: str | None = None
    at: Instant | None = Field(default=None, description="ISO 8601 with offset; default now")
    case: Id | None = Field(default=None, description="take the facts from this case")


def case_out(case: Case) -> dict[str, Any]:
    assignee = case.assignee
    return {
        "id": case.id,
        "asset": case.asset_id,
        "asset_kind": case.asset_kind,
        "category": case.category,
        "priority": case.priority.value,
        "state": case.state.value,
        "origin": case.origin.value,
        "commune": case.commune_insee,
        "team": (
            {
                "code": assignee.team,
                "organisation": assignee.organisation,
                "sector": assignee.sector,
                "public": assignee.sector == "public",
            }
            if assignee
            else None
        ),
        "routing_rule": case.routing_rule_id,
        "title": case.title,
        "description": case.description,
        "alarms": list(case.alarm_ids),
        "reports": list(case.report_ids),
        "opened_at": case.opened_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }


def case_receipt_out(case: Case) -> dict[str, Any]:
    """What the person who opened a case is answered when the case goes to a team whose cases
    they do not see: what they said and the number to quote to the command post, never who
    handles it or why (they could not read the case afterwards either)."""
    return {
        "id": case.id,
        "asset": case.asset_id,
        "asset_kind": case.asset_kind,
        "category": case.category,
        "priority": case.priority.value,
        "state": case.state.value,
        "origin": case.origin.value,
        "commune": case.commune_insee,
        "title": case.title,
        "description": case.description,
        "opened_at": case.opened_at.isoformat(),
        "visible": False,
    }


def timeline_out(entries: list[TimelineEntry], durations: ChainDurations) -> dict[str, Any]:
    return {
        "entries": [
            {
                "at": e.at.isoformat(),
                "what": e.what.value,
                "actor": e.actor,
                "organisation": e.organisation,
                "sector": e.sector,
                "public": None if e.sector is None else e.sector == "public",
                "work_order": e.work_order_id,
                "note": e.note,
            }
            for e in entries
        ],
        "links": [
            {
                "from": link.start.value,
                "to": link.end.value,
                "started_at": link.started_at.isoformat(),
                "ended_at": link.ended_at.isoformat(),
                "seconds": link.duration.total_seconds(),
                "complete": link.complete,
            }
            for link in durations.links
        ],
        "total_seconds": durations.total.total_seconds() if durations.total else None,
        "loops": durations.loops,
        "missing": [m.value for m in durations.missing],
    }


def rule_out(rule: RoutingRule) -> dict[str, Any]:
    return {"id": rule.id, **rule.spec_dict()}


def explanation_out(explanation: RoutingExplanation) -> dict[str, Any]:
    decision = explanation.decision
    return {
        "team": decision.team,
        "rule": decision.rule.id if decision.rule else None,
        "default": decision.default,
        "reason": decision.reason,
        "local_time": explanation.local_time.isoformat(),
        "rules": [
            {
                "id": v.rule.id,
                "name": v.rule.name,
                "matches": v.matches,
                "chosen": v.chosen,
                "failures": [
                    {"criterion": f.criterion.value, "message": f.message} for f in v.failures
                ],
            }
            for v in explanation.verdicts
        ],
    }


# --- what the routes answer (their OpenAPI description; the routes render the dicts above) ----


class TeamOut(BaseModel):
    code: str
    organisation: str
    sector: str = Field(description="public or private")
    public: bool


class CaseOut(BaseModel):
    id: int
    asset: int | None
    asset_kind: str | None
    category: str
    priority: str
    state: str
    origin: str
    commune: str | None
    team: TeamOut | None = Field(description="None: the command post's own queue")
    routing_rule: int | None
    title: str
    description: str
    alarms: list[int]
    reports: list[int]
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None


class CaseReceiptOut(BaseModel):
    """A case opened by someone who may not read it (routed to another organisation's team)."""

    id: int
    asset: int | None
    asset_kind: str | None
    category: str
    priority: str
    state: str
    origin: str
    commune: str | None
    title: str
    description: str
    opened_at: datetime
    visible: bool = False


class CaseListOut(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


class ProcedureOut(BaseModel):
    category: str
    title: str
    steps: list[str]
    updated_at: datetime
    updated_by: str


class ProcedureListOut(BaseModel):
    items: list[ProcedureOut]
    next_cursor: str | None


class CaseDetailOut(CaseOut):
    procedure: ProcedureOut | None = Field(description="the checklist of the case's category")


class TimelineEntryOut(BaseModel):
    at: datetime
    what: str
    actor: str
    organisation: str | None
    sector: str | None
    public: bool | None
    work_order: int | None
    note: str


class ChainLinkOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    started_at: datetime
    ended_at: datetime
    seconds: float
    complete: bool


class TimelineOut(BaseModel):
    entries: list[TimelineEntryOut]
    links: list[ChainLinkOut]
    total_seconds: float | None
    loops: int
    missing: list[str]


class WorkOrderOut(BaseModel):
    id: int
    case: int
    state: str
    team: TeamOut
    instructions: str
    note: str
    photos: int = Field(description="how many photos of the work")
    reason: str
    created_at: datetime | None
    dispatched_at: datetime | None
    accepted_at: datetime | None
    on_site_at: datetime | None
    done_at: datetime | None
    verified_at: datetime | None
    response_due_at: datetime | None
    resolution_due_at: datetime | None


class WorkOrderListOut(BaseModel):
    items: list[WorkOrderOut]
    next_cursor: str | None


class LinkSummaryOut(BaseModel):
    count: int
    median_s: float
    p90_s: float


class ChainStatsOut(BaseModel):
    """Per dimension, per key (a team, a side, a commune; "all" overall), per link of the
    chain."""

    since: datetime
    until: datetime
    cases: int
    overall: dict[str, dict[str, LinkSummaryOut]]
    team: dict[str, dict[str, LinkSummaryOut]]
    sector: dict[str, dict[str, LinkSummaryOut]]
    commune: dict[str, dict[str, LinkSummaryOut]]


class SlaPolicyOut(BaseModel):
    team: str = Field(description="a team's code, or '*' for every team")
    priority: str
    clock: str
    response_minutes: int
    resolution_minutes: int
    calendar: dict[str, Any] | None
    updated_at: datetime


class SlaPolicyListOut(BaseModel):
    items: list[SlaPolicyOut]
    next_cursor: str | None


class RoutingRuleListOut(BaseModel):
    items: list[RoutingRule]
    next_cursor: str | None


class RuleFailureOut(BaseModel):
    criterion: str
    message: str


class RuleVerdictOut(BaseModel):
    id: int | None
    name: str
    matches: bool
    chosen: bool
    failures: list[RuleFailureOut]


class ExplanationOut(BaseModel):
    team: str
    rule: int | None
    default: bool
    reason: str
    local_time: datetime
    rules: list[RuleVerdictOut]
