"""Posting a citizen report (POST requests), with its answers and its photos."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.policy import report_scope
from metropilot.api.ratelimit import client_address
from metropilot.reports import services
from metropilot.reports.open311 import (
    CreatedRequest,
    Format,
    Open311Error,
    Rendered,
    parse_attributes,
    render_created_request,
    retain_defined_attributes,
    validate_attributes,
)
from metropilot.reports.open311_routes.answering import (
    Open311Route,
    check_jurisdiction,
    param,
    respond,
    uow_of,
)
from metropilot.reports.open311_routes.catalogue import attribute_definitions, category_or_404
from metropilot.reports.open311_routes.clients import client_of, limit_posts
from metropilot.reports.open311_routes.openapi import POST_REQUEST_BODY, Fmt, answers
from metropilot.reports.open311_routes.schemas import CreatedRequestJson
from metropilot.reports.storage import FileSystemStorage

__all__ = ["router"]

router = APIRouter(route_class=Open311Route)


def _number(value: str | None, name: str) -> float:
    if value is None:
        raise Open311Error.bad_request(f"{name} is required")
    try:
        number = float(value)
    except ValueError:
        raise Open311Error.bad_request(f"{name} must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Open311Error.bad_request(f"{name} must be a finite number")
    return number


@router.post(
    "/requests.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],  # the api_key is checked as the spec says
    summary="Post a citizen report (form-urlencoded; multipart with 'media' photos)",
    response_class=Response,
    responses=answers(list[CreatedRequestJson], "the created request (one)", status=201),
    status_code=201,
    openapi_extra=POST_REQUEST_BODY,
)
async def post_request(fmt: Fmt, request: Request) -> Response:
    form = await request.form()
    fields = {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}
    form_items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    media = [v for k, v in form.multi_items() if k == "media" and isinstance(v, UploadFile)]
    photos = [await upload.read() for upload in media]

    def produce(chosen: Format) -> Rendered:
        check_jurisdiction(request, param(fields, "jurisdiction_id"))
        limit_posts(request, "address", client_address(request))
        client = client_of(request, param(fields, "api_key"), "open311:post")
        # Where the app may report: its key's open311:post communes (and a commune service's
        # own commune); a place elsewhere is answered as one outside the metropolis.
        where = report_scope(client, key_permission="open311:post")
        code = param(fields, "service_code")
        if code is None:
            raise Open311Error.bad_request("service_code is required")
        lat, lon = param(fields, "lat"), param(fields, "long")
        if lat is None and lon is None:
            if param(fields, "address_string") or param(fields, "address_id"):
                raise Open311Error.bad_request(
                    "lat and long are required: this jurisdiction does not locate addresses"
                )
            raise Open311Error.bad_request("a location is required: lat and long")
        latitude, longitude = _number(lat, "lat"), _number(lon, "long")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise Open311Error.bad_request("lat and long must be WGS 84 degrees")
        description = param(fields, "description") or ""
        if len(description) > 4000:
            raise Open311Error.bad_request(
                f"description has {len(description)} characters; at most 4000"
            )
        with uow_of(request, write=True) as uow:
            category = category_or_404(uow, code)
            definitions = attribute_definitions(category)
            answers = parse_attributes(form_items)
            problems = validate_attributes(definitions, answers)
            if problems:
                raise Open311Error.bad_request(*problems)
            attributes: dict[str, Any] = dict(retain_defined_attributes(definitions, answers))
            media_url = param(fields, "media_url")
            if media_url is not None:
                attributes["media_url"] = media_url[:500]
            account = param(fields, "account_id")
            result = services.submit(
                uow,
                services.Submission(
                    category_code=category.code,
                    lon=longitude,
                    lat=latitude,
                    description=description,
                    attributes=attributes,
                    address=param(fields, "address_string") or "",
                    email=param(fields, "email"),
                    first_name=param(fields, "first_name"),
                    last_name=param(fields, "last_name"),
                    phone=param(fields, "phone"),
                    device_id=param(fields, "device_id"),
                    client_id=None,
                ),
                client.actor(),
                scope=where,
            )
            if photos and not result.me_too:
                storage = FileSystemStorage(request.app.state.settings.data_dir / "photos")
                services.attach_photos(uow, result.report.id, photos, storage)
            uow.commit()
        return render_created_request(
            CreatedRequest(
                service_request_id=str(result.report.id),
                service_notice=result.notice or None,
                account_id=account,
            ),
            chosen,
        )

    # The database work and the photo processing run off the event loop, as in sync routes.
    return await run_in_threadpool(respond, fmt, produce, 201)
