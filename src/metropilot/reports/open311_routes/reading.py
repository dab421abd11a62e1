"""Reading citizen reports (GET requests, one request, a token): nothing personal goes out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from metropilot.accounts.audience import Audience, audience
from metropilot.db.uow import UnitOfWork
from metropilot.reports import services
from metropilot.reports.model import CLOSED_STATES, OPEN_STATES, Report, ReportState, open311_status
from metropilot.reports.open311 import (
    DEFAULT_REQUESTS_LIMIT,
    Format,
    NoteView,
    Open311Error,
    PhotoView,
    Rendered,
    RequestAttributeView,
    RequestView,
    TokenView,
    parse_boolean_param,
    parse_comma_list,
    parse_datetime_param,
    parse_status_list,
    render_requests,
    render_tokens,
    resolve_date_window,
)
from metropilot.reports.open311_routes.answering import (
    BASE,
    MAX_PAGE_SIZE,
    Open311Route,
    base_url,
    check_jurisdiction,
    int_param,
    param,
    report_id_param,
    respond,
    uow_of,
)
from metropilot.reports.open311_routes.openapi import (
    EXTENSIONS,
    JURISDICTION,
    READ_REQUESTS,
    Fmt,
    answers,
)
from metropilot.reports.open311_routes.schemas import RequestJson, TokenJson
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import NotFound

__all__ = ["router"]

router = APIRouter(route_class=Open311Route)


# --- reading -----------------------------------------------------------------------------------


def _media_url(request: Request, report_id: int, number: int, thumbnail: bool = False) -> str:
    suffix = "thumb.jpg" if thumbnail else "jpg"
    return f"{base_url(request)}{BASE}/media/{report_id}/{number}.{suffix}"


def _view(
    report: Report,
    names: dict[str, str],
    request: Request,
    uow: UnitOfWork,
    extensions: bool,
) -> RequestView:
    photos = report.photos
    extra: dict[str, Any] = {}
    if extensions:
        extra = {
            "attributes": tuple(
                RequestAttributeView(
                    code, tuple(value) if isinstance(value, list) else (str(value),)
                )
                for code, value in sorted(report.attributes.items())
            ),
            "photos": tuple(
                PhotoView(
                    media_url=_media_url(request, report.id, p["position"]),
                    created_at=p["created_at"],
                    width=p["width"],
                    height=p["height"],
                )
                for p in photos
            ),
            "notes": tuple(
                NoteView(datetime=u["at"], description=u["description"], type=u["state"])
                for u in services.timeline(uow, report.id)
            ),
        }
    return RequestView(
        service_request_id=str(report.id),
        status=open311_status(report.state),
        status_notes=report.status_notes or None,
        service_code=report.category_code,
        service_name=names.get(report.category_code, report.category_code),
        description=report.description or None,
        agency_responsible=report.agency_responsible or None,
        service_notice=report.service_notice or None,
        requested_datetime=report.requested_at,
        updated_datetime=report.updated_at,
        expected_datetime=report.expected_at,
        address=report.address or None,
        lat=report.lat,
        long=report.lon,
        media_url=_media_url(request, report.id, photos[0]["position"]) if photos else None,
        **extra,
    )


def _names(uow: UnitOfWork, request: Request) -> dict[str, str]:
    french = request.headers.get("accept-language", "").lower().startswith("fr")
    return {
        code: (name_fr if french and name_fr else name)
        for code, (name, name_fr) in services.category_names(uow).items()
    }


@router.get(
    "/requests.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Citizen reports of public categories (90 days and 1,000 at most at a time)",
    response_class=Response,
    responses=answers(list[RequestJson], "the requests"),
    openapi_extra={"parameters": READ_REQUESTS},
)
def list_requests(fmt: Fmt, request: Request) -> Response:
    params = request.query_params

    def produce(chosen: Format) -> Rendered:
        check_jurisdiction(request, param(params, "jurisdiction_id"))
        extensions = parse_boolean_param("extensions", param(params, "extensions"))
        page_size = int_param(params, "page_size", DEFAULT_REQUESTS_LIMIT, 1, MAX_PAGE_SIZE)
        page = int_param(params, "page", 1, 1, 1_000_000)
        ids_text = parse_comma_list(param(params, "service_request_id"))
        if ids_text:  # overrides every other parameter, as the spec says
            ids = [report_id_param(v) for v in ids_text]
            query = services.ReportQuery(ids=ids, public_only=True, limit=len(ids))
        else:
            start, end = resolve_date_window(
                parse_datetime_param("start_date", param(params, "start_date")),
                parse_datetime_param("end_date", param(params, "end_date")),
                now=utcnow(),
            )
            statuses = parse_status_list(param(params, "status"))
            states: list[ReportState] = []
            if "open" in statuses:
                states += sorted(OPEN_STATES)
            if "closed" in statuses:
                states += sorted(CLOSED_STATES)
            query = services.ReportQuery(
                category_codes=parse_comma_list(param(params, "service_code")),
                states=states,
                start=start,
                end=end,
                public_only=True,
                offset=(page - 1) * page_size,
                limit=page_size,
            )
        with uow_of(request) as uow:
            found = services.query_reports(uow, query)
            names = _names(uow, request)
            views = [_view(r, names, request, uow, extensions) for r in found]
        return render_requests(views, chosen, extensions=extensions)

    return respond(fmt, produce)


@router.get(
    "/requests/{service_request_id}.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="One citizen report",
    response_class=Response,
    responses=answers(list[RequestJson], "the request (a list of one)"),
    openapi_extra={"parameters": [JURISDICTION, EXTENSIONS]},
)
def get_request(service_request_id: str, fmt: Fmt, request: Request) -> Response:
    params = request.query_params

    def produce(chosen: Format) -> Rendered:
        check_jurisdiction(request, param(params, "jurisdiction_id"))
        extensions = parse_boolean_param("extensions", param(params, "extensions"))
        report_id = report_id_param(service_request_id, not_found=True)
        with uow_of(request) as uow:
            found = services.query_reports(
                uow, services.ReportQuery(ids=[report_id], public_only=True, limit=1)
            )
            if not found:
                raise Open311Error.not_found(f"unknown service_request_id {service_request_id!r}")
            names = _names(uow, request)
            views = [_view(found[0], names, request, uow, extensions)]
        return render_requests(views, chosen, extensions=extensions)

    return respond(fmt, produce)


@router.get(
    "/tokens/{token}.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The request a token stands for",
    response_class=Response,
    responses=answers(list[TokenJson], "the token's request (a list of one)"),
    openapi_extra={"parameters": [JURISDICTION]},
)
def get_token(token: str, fmt: Fmt, request: Request) -> Response:
    def produce(chosen: Format) -> Rendered:
        check_jurisdiction(request, param(request.query_params, "jurisdiction_id"))
        with uow_of(request) as uow:
            try:
                report = services.report_by_token(uow, token)
            except NotFound:
                raise Open311Error.not_found("unknown token") from None
        return render_tokens([TokenView(token=token, service_request_id=str(report.id))], chosen)

    return respond(fmt, produce)
