"""HTTP for staff: the report catalogue (admins) and the reports to triage and follow up.

| action | operator | supervisor | commune agent | admin |
|---|---|---|---|---|
| read reports | ✓ | ✓ | their communes | ✓ |
| the reporter's contact | ✓ | ✓ | | |
| change a report's state | ✓ | ✓ | their communes | |
| merge duplicates | ✓ | ✓ | | |
| read the catalogue | ✓ | ✓ | ✓ | ✓ |
| change the catalogue | | | | ✓ |

Citizens and client apps use the Open311 API (``open311_routes``), which never shows personal
data. A report a request names (in its path, or ``into`` of a merge) is looked up within the
caller's scope (``policy.report_scope``), reads and writes alike: outside it, the 404 of a
report that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from metropilot.accounts.audience import STAFF, Audience, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.model import Role
from metropilot.accounts.policy import report_scope
from metropilot.api.deps import UowDep, WriteUowDep
from metropilot.api.formats import comma_list, list_envelope
from metropilot.api.params import Instant, ObjectId
from metropilot.api.responses import JSONResponseFast
from metropilot.reports import services
from metropilot.reports.model import parse_category_spec, parse_state
from metropilot.reports.schemas import (
    CategoryListOut,
    CategoryOut,
    MergeIn,
    ReportDetailOut,
    ReportListOut,
    ReportOut,
    StateIn,
    category_out,
    report_out,
)

__all__ = ["REPORT_READERS", "router"]

router = APIRouter(tags=["reports"])

REPORT_READERS = (*STAFF, Audience.COMMUNE_AGENT)
STATE_CHANGERS = (Audience.OPERATOR, Audience.SUPERVISOR, Audience.COMMUNE_AGENT)
MERGERS = (Audience.OPERATOR, Audience.SUPERVISOR)
CONTACT_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR})


# --- the catalogue -----------------------------------------------------------------------------


@router.get(
    "/report-categories",
    dependencies=[audience(*REPORT_READERS)],
    summary="Report categories (Open311 services), inactive ones included",
    response_model=CategoryListOut,
)
def list_categories(uow: UowDep) -> Any:
    found = services.list_categories(uow, include_inactive=True)
    return list_envelope((category_out(c) for c in found), None)


@router.post(
    "/report-categories",
    dependencies=[audience(Audience.ADMIN)],
    summary="Add a report category",
    response_model=CategoryOut,
    status_code=201,
)
def create_category(
    principal: CurrentPrincipal, uow: WriteUowDep, body: Annotated[dict[str, Any], Body()]
) -> Any:
    category = services.create_category(uow, parse_category_spec(body), principal.actor())
    uow.commit()
    return JSONResponseFast(category_out(category), status_code=201)


@router.put(
    "/report-categories/{code}",
    dependencies=[audience(Audience.ADMIN)],
    summary="Replace a report category (its code stays; set active=false to retire it)",
    response_model=CategoryOut,
)
def update_category(
    code: str,
    principal: CurrentPrincipal,
    uow: WriteUowDep,
    body: Annotated[dict[str, Any], Body()],
) -> Any:
    category = services.update_category(uow, code, parse_category_spec(body), principal.actor())
    uow.commit()
    return JSONResponseFast(category_out(category))


# --- reports -----------------------------------------------------------------------------------


@router.get(
    "/reports",
    dependencies=[audience(*REPORT_READERS)],
    summary="Citizen reports, newest first (commune agents: their communes)",
    response_model=ReportListOut,
)
def list_reports(
    principal: CurrentPrincipal,
    uow: UowDep,
    state: Annotated[str | None, Query(description="states, comma separated")] = None,
    category: Annotated[str | None, Query(description="category codes, comma separated")] = None,
    commune: Annotated[str | None, Query(description="INSEE codes, comma separated")] = None,
    since: Annotated[Instant | None, Query(description="submitted at or after")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    communes = report_scope(principal).communes
    asked = comma_list(commune)
    if asked:
        communes = tuple(c for c in asked if communes is None or c in communes)
    query = services.ReportQuery(
        category_codes=comma_list(category),
        states=[parse_state(s) for s in comma_list(state)],
        start=since,
        communes=communes,
        offset=offset,
        limit=limit,
    )
    personal = principal.role in CONTACT_ROLES
    found = services.query_reports(uow, query)
    return list_envelope((report_out(r, personal=personal) for r in found), None)


@router.get(
    "/reports/{report_id}",
    dependencies=[audience(*REPORT_READERS)],
    summary="One citizen report with its public timeline",
    response_model=ReportDetailOut,
)
def get_report(report_id: ObjectId, principal: CurrentPrincipal, uow: UowDep) -> Any:
    report = services.get_report(uow, report_id, scope=report_scope(principal))
    out = report_out(report, personal=principal.role in CONTACT_ROLES)
    out["timeline"] = [
        {"at": u["at"].isoformat(), "state": u["state"], "note": u["description"]}
        for u in services.timeline(uow, report_id)
    ]
    return JSONResponseFast(out)


@router.post(
    "/reports/{report_id}/state",
    dependencies=[audience(*STATE_CHANGERS)],
    summary="Move a report on (triage, schedule, fix, close, reopen) with a public note",
    response_model=ReportOut,
)
def change_state(
    report_id: ObjectId, body: StateIn, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    scope = report_scope(principal)
    services.get_report(uow, report_id, scope=scope)  # 404 outside the scope, before all else
    report = services.change_state(
        uow,
        report_id,
        parse_state(body.state),
        principal.actor(),
        note=body.note,
        agency_responsible=body.agency_responsible,
        expected_at=body.expected_at,
        scope=scope,
    )
    uow.commit()
    return JSONResponseFast(report_out(report, personal=principal.role in CONTACT_ROLES))


@router.post(
    "/reports/{report_id}/merge",
    dependencies=[audience(*MERGERS)],
    summary="Close a report as a duplicate of another; its support and followers move over",
    response_model=ReportOut,
)
def merge(report_id: ObjectId, body: MergeIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    report = services.merge(
        uow, report_id, body.into, principal.actor(), scope=report_scope(principal)
    )
    uow.commit()
    return JSONResponseFast(report_out(report, personal=principal.role in CONTACT_ROLES))
