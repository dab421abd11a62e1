"""Updates of citizen reports (FixMyStreet's extension): read them, or push one from a
back-office."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.policy import report_scope
from metropilot.reports import services
from metropilot.reports.model import ReportState
from metropilot.reports.open311 import (
    DEFAULT_REQUESTS_LIMIT,
    Format,
    Open311Error,
    Rendered,
    RequestUpdateView,
    parse_datetime_param,
    render_request_updates,
    resolve_date_window,
)
from metropilot.reports.open311_routes.answering import (
    Open311Route,
    check_jurisdiction,
    param,
    report_id_param,
    respond,
    uow_of,
)
from metropilot.reports.open311_routes.clients import client_of
from metropilot.reports.open311_routes.openapi import (
    DATE_WINDOW,
    JURISDICTION,
    POST_UPDATE_BODY,
    Fmt,
    answers,
)
from metropilot.reports.open311_routes.schemas import RequestUpdateJson
from metropilot.reports.open311_routes.statuses import FROM_UPDATE_STATUS, TO_UPDATE_STATUS
from metropilot.shared.clock import utcnow

__all__ = ["router"]

router = APIRouter(route_class=Open311Route)


# --- updates (FixMyStreet's extension) ---------------------------------------------------------


@router.get(
    "/servicerequestupdates.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Public updates of citizen reports in a time window (FixMyStreet's extension)",
    response_class=Response,
    responses=answers(list[RequestUpdateJson], "the updates, oldest first"),
    openapi_extra={"parameters": [JURISDICTION, *DATE_WINDOW]},
)
def list_updates(fmt: Fmt, request: Request) -> Response:
    params = request.query_params

    def produce(chosen: Format) -> Rendered:
        check_jurisdiction(request, param(params, "jurisdiction_id"))
        start, end = resolve_date_window(
            parse_datetime_param("start_date", param(params, "start_date")),
            parse_datetime_param("end_date", param(params, "end_date")),
            now=utcnow(),
        )
        with uow_of(request) as uow:
            found = services.updates_between(uow, start, end, limit=DEFAULT_REQUESTS_LIMIT)
        return render_request_updates(
            [
                RequestUpdateView(
                    update_id=str(u.id),
                    service_request_id=str(u.report_id),
                    status=TO_UPDATE_STATUS[u.state],
                    updated_datetime=u.at,
                    description=u.description or None,
                )
                for u in found
            ],
            chosen,
        )

    return respond(fmt, produce)


@router.post(
    "/servicerequestupdates.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],  # the api_key is checked as the spec says
    summary="Push an update of a report from a back-office (needs reports:update)",
    response_class=Response,
    responses=answers(list[RequestUpdateJson], "the update made (a list of one)", status=201),
    status_code=201,
    openapi_extra=POST_UPDATE_BODY,
)
async def post_update(fmt: Fmt, request: Request) -> Response:
    form = await request.form()
    fields = {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}

    def produce(chosen: Format) -> Rendered:
        check_jurisdiction(request, param(fields, "jurisdiction_id"))
        client = client_of(request, param(fields, "api_key"), "reports:update")
        # The reports the back-office may update: those of its key's communes; another
        # commune's report is answered as an unknown one.
        scope = report_scope(client)
        actor = client.actor()
        report_id = report_id_param(param(fields, "service_request_id") or "", not_found=True)
        status = (param(fields, "status") or "").lower()
        target = FROM_UPDATE_STATUS.get(status)
        if target is None:
            known = ", ".join(sorted(FROM_UPDATE_STATUS))
            raise Open311Error.bad_request(f"status must be one of {known}, got {status!r}")
        if target is ReportState.DUPLICATE:
            raise Open311Error.bad_request("duplicates are merged on the platform, not pushed")
        description = param(fields, "description") or ""
        with uow_of(request, write=True) as uow:
            report = services.get_report(uow, report_id, scope=scope)
            if report.state is target:
                changed = services.add_note(uow, report_id, description, actor, scope=scope)
            else:
                changed = services.change_state(
                    uow, report_id, target, actor, note=description, scope=scope
                )
            uow.commit()
            found = services.updates_between(
                uow, changed.updated_at, changed.updated_at, public_only=False, limit=10
            )
        update_id = str(max((u.id for u in found if u.report_id == report_id), default=0))
        return render_request_updates(
            [
                RequestUpdateView(
                    update_id=update_id,
                    service_request_id=str(report_id),
                    status=TO_UPDATE_STATUS[changed.state],
                    updated_datetime=changed.updated_at,
                    description=changed.status_notes or None,
                )
            ],
            chosen,
        )

    # The database work and the photo processing run off the event loop, as in sync routes.
    return await run_in_threadpool(respond, fmt, produce, 201)
