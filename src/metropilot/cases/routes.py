"""HTTP: cases (the command post's work), their timeline, and routing rules.

| action | operator | supervisor | commune agent | contractor | field agent | admin |
|---|---|---|---|---|---|---|
| read cases | ✓ | ✓ | their communes | their organisation's | their organisation's | ✓ |
| open a case by hand | ✓ | ✓ | | | ✓ | |
| triage | ✓ | ✓ | | | | |
| read routing rules, explain | ✓ | ✓ | | | | ✓ |
| change routing rules | | ✓ | | | | |

Every case, work order and citizen report a request names — in its path or its body — is looked
up through the query that reads it for the caller (``policy.case_scope``, ``work_order_scope``,
``report_scope``; the asset and commune of a new case through ``asset_scope``): outside the
caller's scope it does not exist, and the write gets the 404 a made-up id gets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from metropilot.accounts.audience import STAFF, Audience, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.model import Role
from metropilot.accounts.policy import (
    Principal,
    asset_scope,
    case_scope,
    report_scope,
    work_order_scope,
)
from metropilot.api.deps import UowDep, WriteUowDep
from metropilot.api.formats import comma_list, list_envelope
from metropilot.api.params import Instant, ObjectId
from metropilot.api.responses import JSONResponseFast
from metropilot.cases import services
from metropilot.cases.model import (
    Case,
    CaseAction,
    CaseOrigin,
    WorkOrderAction,
    parse_case_state,
    parse_priority,
    parse_work_order_state,
)
from metropilot.cases.routing import RoutingRule
from metropilot.cases.schemas import (
    CaseDetailOut,
    CaseIn,
    CaseListOut,
    CaseOut,
    CaseReceiptOut,
    ChainStatsOut,
    DispatchIn,
    ExplainIn,
    ExplanationOut,
    ProcedureIn,
    ProcedureListOut,
    ProcedureOut,
    RoutingRuleListOut,
    SlaPolicyIn,
    SlaPolicyListOut,
    SlaPolicyOut,
    TimelineOut,
    TriageIn,
    WorkOrderListOut,
    WorkOrderOut,
    WorkOrderStepIn,
    case_out,
    case_receipt_out,
    explanation_out,
    procedure_out,
    rule_out,
    sla_policy_out,
    timeline_out,
    work_order_out,
)
from metropilot.reports import services as reports_services
from metropilot.reports.storage import FileSystemStorage
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput, NotFound
from metropilot.shared.scope import WorkScope

__all__ = ["CASE_READERS", "router"]

router = APIRouter(tags=["cases"])

CASE_READERS = (*STAFF, Audience.COMMUNE_AGENT, Audience.CONTRACTOR, Audience.FIELD_AGENT)
CASE_OPENERS = (Audience.OPERATOR, Audience.SUPERVISOR, Audience.FIELD_AGENT)
TRIAGERS = (Audience.OPERATOR, Audience.SUPERVISOR)
RULE_READERS = (Audience.OPERATOR, Audience.SUPERVISOR, Audience.ADMIN)


def _case_json(principal: Principal, case: Case) -> dict[str, Any]:
    """A case as the caller may read it: whole when it is in their scope, else the receipt of
    what they asked (a field agent's case routed to another organisation's team)."""
    scope = case_scope(principal)
    assigned = case.assignee.organisation_id if case.assignee else None
    if scope.allows(case.commune_insee, assigned):
        return case_out(case)
    return case_receipt_out(case)


@router.get(
    "/cases",
    dependencies=[audience(*CASE_READERS)],
    summary="Cases, newest first (each role sees its part of the city)",
    response_model=CaseListOut,
)
def list_cases(
    principal: CurrentPrincipal,
    uow: UowDep,
    asset: Annotated[ObjectId | None, Query()] = None,
    state: Annotated[str | None, Query(description="states, comma separated")] = None,
    team: Annotated[str | None, Query(description="team codes, comma separated")] = None,
    commune: Annotated[str | None, Query(description="INSEE codes, comma separated")] = None,
    priority: Annotated[str | None, Query(description="P1…P4, comma separated")] = None,
    triage: Annotated[bool, Query(description="only the triage queue")] = False,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    asked = comma_list(commune)
    query = services.CaseQuery(
        asset_id=asset,
        states=[parse_case_state(s) for s in comma_list(state)],
        teams=comma_list(team),
        communes=asked or None,
        priorities=[parse_priority(p) for p in comma_list(priority)],
        scope=case_scope(principal),
        triage_queue=triage,
        offset=offset,
        limit=limit,
    )
    return list_envelope((case_out(c) for c in services.query_cases(uow, query)), None)


@router.get(
    "/cases/{case_id}",
    dependencies=[audience(*CASE_READERS)],
    summary="One case",
    response_model=CaseDetailOut,
)
def get_case(case_id: ObjectId, principal: CurrentPrincipal, uow: UowDep) -> Any:
    case = services.get_case(uow, case_id, scope=case_scope(principal))
    out = case_out(case)
    procedure = services.get_procedure(uow, case.category)
    out["procedure"] = procedure_out(procedure) if procedure else None
    return JSONResponseFast(out)


@router.get(
    "/cases/{case_id}/timeline",
    dependencies=[audience(*CASE_READERS)],
    summary="Every step of a case with who acted (public or private) and each link's duration",
    response_model=TimelineOut,
)
def case_timeline(case_id: ObjectId, principal: CurrentPrincipal, uow: UowDep) -> Any:
    services.get_case(uow, case_id, scope=case_scope(principal))
    found = services.case_timeline(uow, case_id)
    return JSONResponseFast(timeline_out(found["entries"], found["durations"]))


@router.post(
    "/cases",
    dependencies=[audience(*CASE_OPENERS)],
    summary="Open a case by hand (routed like the others)",
    status_code=201,
    response_model=CaseOut | CaseReceiptOut,
)
def open_case(body: CaseIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    if body.asset is None and body.commune is None:
        raise InvalidInput("say where: an asset or a commune")
    origin = CaseOrigin.FIELD_AGENT if principal.role is Role.FIELD_AGENT else CaseOrigin.OPERATOR
    case = services.open_case(
        uow,
        origin=origin,
        category=body.category,
        priority=parse_priority(body.priority),
        actor=principal.actor(),
        asset_id=body.asset,
        commune_insee=body.commune,
        title=body.title,
        description=body.description,
        scope=asset_scope(principal),
    )
    uow.commit()
    return JSONResponseFast(_case_json(principal, case), status_code=201)


@router.post(
    "/cases/{case_id}/triage",
    dependencies=[audience(*TRIAGERS)],
    summary="Triage a case; a new category routes it again (with a reason)",
    response_model=CaseOut | CaseReceiptOut,
)
def triage(case_id: ObjectId, body: TriageIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    case = services.triage(
        uow,
        case_id,
        principal.actor(),
        principal.role.value if principal.role else None,
        category=body.category,
        priority=parse_priority(body.priority) if body.priority else None,
        reason=body.reason,
        scope=case_scope(principal),
    )
    uow.commit()
    return JSONResponseFast(_case_json(principal, case))


# --- work orders ---------------------------------------------------------------------------------


CASE_MOVES = ("wait_third_party", "resume", "resolve", "close", "cancel", "reopen")

WORK_ORDER_READERS = (*STAFF, Audience.CONTRACTOR, Audience.FIELD_AGENT)
WORK_ORDER_ACTORS = (
    Audience.OPERATOR,
    Audience.SUPERVISOR,
    Audience.CONTRACTOR,
    Audience.FIELD_AGENT,
)


def _visible_order(uow: Any, order_id: int, scope: WorkScope) -> Any:
    """A work order with its deadlines, read in one query within the caller's scope."""
    found = services.query_work_orders(uow, order_id=order_id, scope=scope, limit=1)
    if not found:
        raise NotFound(f"no work order {order_id}", code="unknown_work_order")
    return found[0]


def _order_json(uow: Any, order_id: int, scope: WorkScope) -> dict[str, Any]:
    """A work order as the API answers it to the caller."""
    return work_order_out(*_visible_order(uow, order_id, scope))


@router.post(
    "/cases/{case_id}/dispatch",
    dependencies=[audience(*TRIAGERS)],
    summary="Send a case to its team as a work order; the SLA deadlines start",
    status_code=201,
    response_model=WorkOrderOut,
)
def dispatch(
    case_id: ObjectId, body: DispatchIn, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    order = services.dispatch(
        uow,
        case_id,
        principal.actor(),
        principal.role.value if principal.role else None,
        instructions=body.instructions,
        scope=case_scope(principal),
    )
    uow.commit()
    return JSONResponseFast(
        _order_json(uow, order.id, work_order_scope(principal)), status_code=201
    )


@router.get(
    "/work-orders",
    dependencies=[audience(*WORK_ORDER_READERS)],
    summary="Work orders, newest first (contractors and field agents: their organisation's)",
    response_model=WorkOrderListOut,
)
def list_work_orders(
    principal: CurrentPrincipal,
    uow: UowDep,
    state: Annotated[str | None, Query(description="states, comma separated")] = None,
    case: Annotated[ObjectId | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    found = services.query_work_orders(
        uow,
        states=[parse_work_order_state(s) for s in comma_list(state)],
        case_id=case,
        scope=work_order_scope(principal),
        offset=offset,
        limit=limit,
    )
    return list_envelope((work_order_out(*item) for item in found), None)


@router.get(
    "/work-orders/{order_id}",
    dependencies=[audience(*WORK_ORDER_READERS)],
    summary="One work order",
    response_model=WorkOrderOut,
)
def get_work_order(order_id: ObjectId, principal: CurrentPrincipal, uow: UowDep) -> Any:
    return JSONResponseFast(
        _order_json(uow, order_id, work_order_scope(principal)),
    )


@router.post(
    "/work-orders/{order_id}/photos",
    dependencies=[audience(Audience.CONTRACTOR, Audience.FIELD_AGENT)],
    summary="Photos of the work (multipart 'photos', up to 5 an order), by its team on site",
    response_model=WorkOrderOut,
)
async def add_order_photos(
    order_id: ObjectId, request: Request, principal: CurrentPrincipal
) -> Any:
    form = await request.form()
    photos = [
        await item.read()
        for key, item in form.multi_items()
        if key == "photos" and isinstance(item, UploadFile)
    ]
    if not photos:
        raise InvalidInput("send the photos as multipart fields named 'photos'")
    storage = FileSystemStorage(request.app.state.settings.data_dir / "photos")
    scope = work_order_scope(principal)

    def store() -> Any:
        with request.app.state.uow_factory(write=True) as uow:
            order = services.attach_order_photos(
                uow,
                order_id,
                photos,
                storage,
                principal.actor(),
                principal.role.value if principal.role else None,
                scope=scope,
            )
            uow.commit()
            return _order_json(uow, order.id, scope)

    return JSONResponseFast(await run_in_threadpool(store))


@router.get(
    "/work-orders/{order_id}/photos/{number}",
    dependencies=[audience(*WORK_ORDER_READERS)],
    summary="A photo of the work (EXIF removed); '<n>.jpg' or '<n>.thumb.jpg'",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def get_order_photo(
    order_id: ObjectId, number: str, request: Request, principal: CurrentPrincipal, uow: UowDep
) -> Response:
    order, _, _ = _visible_order(uow, order_id, work_order_scope(principal))
    thumbnail = number.endswith(".thumb.jpg")
    stem = number.removesuffix(".thumb.jpg").removesuffix(".jpg")
    keys = {key.rsplit("/", 1)[-1].removesuffix(".jpg"): key for key in order.photos}
    key = keys.get(stem)
    if key is None or not (number.endswith(".jpg")):
        raise NotFound("no such photo")
    if thumbnail:
        key = key.removesuffix(".jpg") + ".thumb.jpg"
    storage = FileSystemStorage(request.app.state.settings.data_dir / "photos")
    return Response(storage.get(key), media_type="image/jpeg")


@router.post(
    "/work-orders/{order_id}/{action}",
    dependencies=[audience(*WORK_ORDER_ACTORS)],
    summary="A step: accept, refuse, en_route, on_site, done (the team); verify, reject, "
    "close, cancel (the command post)",
    response_model=WorkOrderOut,
)
def work_order_step(
    order_id: ObjectId,
    action: str,
    body: WorkOrderStepIn,
    principal: CurrentPrincipal,
    uow: WriteUowDep,
) -> Any:
    try:
        step = WorkOrderAction(action)
    except ValueError:
        known = ", ".join(a.value for a in WorkOrderAction if a is not WorkOrderAction.DISPATCH)
        raise NotFound(f"no step {action!r} of a work order; steps: {known}") from None
    if step is WorkOrderAction.DISPATCH:
        raise InvalidInput("dispatch a case: POST /api/v1/cases/{id}/dispatch")
    scope = work_order_scope(principal)
    order = services.act(
        uow,
        order_id,
        step,
        principal.actor(),
        principal.role.value if principal.role else None,
        note=body.note,
        scope=scope,
    )
    uow.commit()
    return JSONResponseFast(_order_json(uow, order.id, scope))


@router.get(
    "/chains/stats",
    dependencies=[audience(*CASE_READERS)],
    summary="Where time is lost along the chain: each link's median and 90th percentile, per "
    "team, public or private side, and commune",
    response_model=ChainStatsOut,
)
def chains_stats(
    principal: CurrentPrincipal,
    uow: UowDep,
    since: Annotated[
        Instant | None, Query(description="cases opened from; default 30 days ago")
    ] = None,
    until: Annotated[Instant | None, Query(description="cases opened before; default now")] = None,
) -> Any:
    end = until or utcnow()
    start = since or end - timedelta(days=30)
    if end <= start:
        raise InvalidInput("until must be after since")
    return JSONResponseFast(
        services.chain_stats(uow, since=start, until=end, scope=case_scope(principal))
    )


@router.post(
    "/cases/{case_id}/{move}",
    dependencies=[audience(*TRIAGERS)],
    summary="wait_third_party (the SLA clock pauses; reason), resume, resolve, close, "
    "cancel (reason), reopen (reason)",
    response_model=CaseOut | CaseReceiptOut,
)
def move_case(
    case_id: ObjectId,
    move: str,
    body: WorkOrderStepIn,
    principal: CurrentPrincipal,
    uow: WriteUowDep,
) -> Any:
    if move not in CASE_MOVES:
        raise NotFound(f"no move {move!r} of a case; moves: {', '.join(CASE_MOVES)}")
    case = services.move_case(
        uow,
        case_id,
        CaseAction(move),
        principal.actor(),
        principal.role.value if principal.role else None,
        reason=body.note,
        scope=case_scope(principal),
    )
    uow.commit()
    return JSONResponseFast(_case_json(principal, case))


@router.post(
    "/reports/{report_id}/case",
    dependencies=[audience(*TRIAGERS)],
    summary="Open the case of a citizen report at triage (or give the case it already has)",
    status_code=201,
    response_model=CaseOut | CaseReceiptOut,
)
def case_for_report(report_id: ObjectId, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    # The report is read as GET /reports/{id} reads it: outside the scope, a 404.
    reports_services.get_report(uow, report_id, scope=report_scope(principal))
    case = services.open_for_report(uow, report_id, by_hand=True)
    if case is None:
        existing = services.case_of_report(uow, report_id)
        if existing is None:
            raise InvalidInput(f"report {report_id} cannot open a case (closed or a duplicate)")
        return JSONResponseFast(_case_json(principal, existing), status_code=200)
    uow.commit()
    return JSONResponseFast(_case_json(principal, case), status_code=201)


# --- SLA policies --------------------------------------------------------------------------------


@router.get(
    "/sla/policies",
    dependencies=[audience(*STAFF)],
    summary="Response and resolution targets per team ('*': every team) and priority",
    response_model=SlaPolicyListOut,
)
def list_sla_policies(uow: UowDep) -> Any:
    return list_envelope((sla_policy_out(p) for p in services.list_sla_policies(uow)), None)


@router.put(
    "/sla/policies/{team}/{priority}",
    dependencies=[audience(Audience.SUPERVISOR)],
    summary="Set a team's targets for a priority (applies to orders dispatched from now on)",
    response_model=SlaPolicyOut,
)
def put_sla_policy(
    team: str, priority: str, body: SlaPolicyIn, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    found = services.put_sla_policy(
        uow,
        team,
        parse_priority(priority),
        body.clock,
        timedelta(minutes=body.response_minutes),
        timedelta(minutes=body.resolution_minutes),
        body.calendar,
        principal.actor(),
    )
    uow.commit()
    return JSONResponseFast(sla_policy_out(found))


# --- procedures ----------------------------------------------------------------------------------


@router.get(
    "/procedures",
    dependencies=[audience(*STAFF)],
    summary="The written procedures (checklists) operators follow at triage, by category",
    response_model=ProcedureListOut,
)
def list_procedures(uow: UowDep) -> Any:
    return list_envelope((procedure_out(p) for p in services.list_procedures(uow)), None)


@router.get(
    "/procedures/{category}",
    dependencies=[audience(*STAFF)],
    summary="The procedure of a category",
    response_model=ProcedureOut,
)
def get_procedure(category: str, uow: UowDep) -> Any:
    found = services.get_procedure(uow, category)
    if found is None:
        raise NotFound(f"no procedure for {category!r}")
    return JSONResponseFast(procedure_out(found))


@router.put(
    "/procedures/{category}",
    dependencies=[audience(Audience.SUPERVISOR)],
    summary="Write or replace the procedure of a category",
    response_model=ProcedureOut,
)
def put_procedure(
    category: str, body: ProcedureIn, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    found = services.put_procedure(uow, category, body.title, body.steps, principal.actor())
    uow.commit()
    return JSONResponseFast(procedure_out(found))


@router.delete(
    "/procedures/{category}",
    dependencies=[audience(Audience.SUPERVISOR)],
    summary="Delete the procedure of a category",
    status_code=204,
)
def delete_procedure(category: str, principal: CurrentPrincipal, uow: WriteUowDep) -> None:
    services.delete_procedure(uow, category, principal.actor())
    uow.commit()


# --- routing -------------------------------------------------------------------------------------


@router.get(
    "/routing/rules",
    dependencies=[audience(*RULE_READERS)],
    summary="Routing rules, in the order they are tried",
    response_model=RoutingRuleListOut,
)
def list_rules(uow: UowDep) -> Any:
    return list_envelope((rule_out(r) for r in services.list_rules(uow)), None)


@router.post(
    "/routing/rules",
    dependencies=[audience(Audience.SUPERVISOR)],
    summary="Add a routing rule",
    status_code=201,
    response_model=RoutingRule,
)
def create_rule(
    principal: CurrentPrincipal, uow: WriteUowDep, body: Annotated[dict[str, Any], Body()]
) -> Any:
    rule = services.create_rule(uow, body, principal.actor())
    uow.commit()
    return JSONResponseFast(rule_out(rule), status_code=201)


@router.put(
    "/routing/rules/{rule_id}",
    dependencies=[audience(Audience.SUPERVISOR)],
    summary="Replace a routing rule",
    response_model=RoutingRule,
)
def update_rule(
    rule_id: ObjectId,
    principal: CurrentPrincipal,
    uow: WriteUowDep,
    body: Annotated[dict[str, Any], Body()],
) -> Any:
    rule = services.update_rule(uow, rule_id, body, principal.actor())
    uow.commit()
    return JSONResponseFast(rule_out(rule))


@router.delete(
    "/routing/rules/{rule_id}",
    dependencies=[audience(Audience.SUPERVISOR)],
    summary="Delete a routing rule",
    status_code=204,
)
def delete_rule(rule_id: ObjectId, principal: CurrentPrincipal, uow: WriteUowDep) -> None:
    services.delete_rule(uow, rule_id, principal.actor())
    uow.commit()


@router.post(
    "/routing/explain",
    dependencies=[audience(*RULE_READERS)],
    summary="Which rule would route these facts (or this case), and why each other does not",
    response_model=ExplanationOut,
)
def explain(body: ExplainIn, principal: CurrentPrincipal, uow: UowDep) -> Any:
    at = body.at or utcnow()
    category, kind, commune = body.category, body.asset_kind, body.commune
    if body.case is not None:
        case = services.get_case(uow, body.case, scope=case_scope(principal))
        category, kind, commune = case.category, case.asset_kind, case.commune_insee
    if category is None:
        raise InvalidInput("give a category (with asset_kind and commune) or a case")
    explanation = services.explain_routing(
        uow, category=category, asset_kind=kind, commune_insee=commune, at=at
    )
    return JSONResponseFast(explanation_out(explanation))
