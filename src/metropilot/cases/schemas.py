"""HTTP shapes of cases, their timeline and routing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from metropilot.cases.model import Case, ChainDurations, TimelineEntry, WorkOrder
from metropilot.cases.routing import RoutingExplanation, RoutingRule
from metropilot.shared.bounds import Id, Instant

__all__ = [
    "CaseIn",
    "DispatchIn",
    "ExplainIn",
    "ProcedureIn",
    "SlaPolicyIn",
    "TriageIn",
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


def procedure_out(found: dict[str, Any]) -> dict[str, Any]:
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


def sla_policy_out(found: dict[str, Any]) -> dict[str, Any]:
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
