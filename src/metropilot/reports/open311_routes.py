"""The Open311 GeoReport v2 server at ``/open311/v2``, in XML and JSON.

Citizens' apps (FixMyStreet, city apps) read the catalogue and requests and post new ones; a
back-office may push updates (FixMyStreet's ``servicerequestupdates``). The specification's rules
are kept here: the format comes from the suffix; an empty parameter counts as absent; errors are
the spec's ``errors`` list in the asked format (404 unknown jurisdiction, service, token or
request; 403 missing or invalid ``api_key``; 400 anything else); requests are read over at most
90 days and 1,000 at a time. Nothing personal ever goes out: no name, e-mail, phone, device or
account of a reporter, and reports of categories that are not public are not listed.

Posting needs an ``api_key`` (form field, query parameter or ``X-API-Key``) with the
``open311:post`` permission; pushing updates one with ``reports:update``.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from metropilot.accounts import services as accounts
from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.policy import Principal, report_scope
from metropilot.api.params import ObjectId
from metropilot.api.ratelimit import RateLimited, SlidingWindowLimiter, client_address
from metropilot.db.uow import UnitOfWork
from metropilot.reports import services
from metropilot.reports.model import (
    CLOSED_STATES,
    OPEN_STATES,
    Category,
    Report,
    ReportState,
    open311_status,
)
from metropilot.reports.open311 import (
    DEFAULT_REQUESTS_LIMIT,
    AttributeDefinition,
    AttributeValueOption,
    CreatedRequest,
    Discovery,
    DiscoveryEndpoint,
    ErrorEntry,
    Format,
    NoteView,
    Open311Error,
    PhotoView,
    RequestAttributeView,
    RequestUpdateView,
    RequestView,
    ServiceDefinition,
    ServiceEntry,
    TokenView,
    format_from_path,
    parse_attributes,
    parse_boolean_param,
    parse_comma_list,
    parse_datetime_param,
    parse_status_list,
    render_created_request,
    render_discovery,
    render_errors,
    render_request_updates,
    render_requests,
    render_service_definition,
    render_services,
    render_tokens,
    resolve_date_window,
    retain_defined_attributes,
    validate_attributes,
)
from metropilot.reports.storage import FileSystemStorage
from metropilot.settings import Settings
from metropilot.shared.bounds import ID_MAX
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import DomainError, Forbidden, NotFound

__all__ = ["BASE", "jurisdiction_id", "router"]

log = logging.getLogger(__name__)


class Open311Route(APIRoute):
    """Every error of an Open311 URL is answered in that URL's format (XML unless it ends in
    ``.json``), those raised before a route's own code runs too: a parameter FastAPI refused,
    a body it could not read, an unexpected failure. A client of the spec reads only its
    ``errors`` document, never the platform's JSON error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return _error_answer(request, exc)

        return answer


BASE = "/open311/v2"
router = APIRouter(prefix=BASE, tags=["open311"], route_class=Open311Route)
CHANGESET = datetime(2026, 11, 27, tzinfo=UTC)  # when this API's shape last changed
MAX_PAGE_SIZE = 1000
# FixMyStreet's update statuses ↔ our states.
FROM_UPDATE_STATUS = {
    "open": ReportState.TRIAGED,
    "investigating": ReportState.TRIAGED,
    "in_progress": ReportState.IN_PROGRESS,
    "action_scheduled": ReportState.ACTION_SCHEDULED,
    "fixed": ReportState.FIXED,
    "closed": ReportState.FIXED,
    "duplicate": ReportState.DUPLICATE,
    "not_councils_responsibility": ReportState.NOT_OUR_RESPONSIBILITY,
    "internal_referral": ReportState.NOT_OUR_RESPONSIBILITY,
    "no_further_action": ReportState.NO_FURTHER_ACTION,
    "cancelled": ReportState.CANCELLED,
    "reopen": ReportState.REOPENED,
}
TO_UPDATE_STATUS = {
    ReportState.NEW: "open",
    ReportState.TRIAGED: "investigating",
    ReportState.IN_PROGRESS: "in_progress",
    ReportState.ACTION_SCHEDULED: "action_scheduled",
    ReportState.REOPENED: "reopen",
    ReportState.FIXED: "fixed",
    ReportState.DUPLICATE: "duplicate",
    ReportState.NOT_OUR_RESPONSIBILITY: "not_councils_responsibility",
    ReportState.NO_FURTHER_ACTION: "no_further_action",
    ReportState.CANCELLED: "cancelled",
}
# --- what the OpenAPI document says of the parameters the routes read themselves ----------------
# The routes read their parameters from the query and the form as the spec says (an empty one
# counts as absent), so FastAPI cannot see them: they are described here, for clients and for
# the generated tests.

# The format is the URL's suffix: .xml (the spec's own) or .json.
Fmt = Annotated[str, Path(description="xml or json", json_schema_extra={"enum": ["xml", "json"]})]


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_JURISDICTION = _query("jurisdiction_id", "this server's one jurisdiction; may be left out")
_EXTENSIONS = _query(
    "extensions", "true: add attributes, photos and notes", type="string", enum=["true", "false"]
)
_DATE_WINDOW = [
    _query(
        f"{name}_date",
        f"ISO 8601 with offset; requests {when}; at most 90 days apart",
        type="string",
        format="date-time",
    )
    for name, when in (("start", "at or after"), ("end", "at or before"))
]
_READ_REQUESTS = [
    _JURISDICTION,
    _query("service_request_id", "report numbers, comma separated; override the other filters"),
    _query("service_code", "category codes, comma separated"),
    *_DATE_WINDOW,
    _query("status", "open, closed, or both comma separated"),
    _query("page_size", "at most 1,000", type="integer", minimum=1, maximum=MAX_PAGE_SIZE),
    _query("page", "from 1", type="integer", minimum=1, maximum=1_000_000),
    _EXTENSIONS,
]
_API_KEY = {
    "type": "string",
    "description": "a key with the permission the operation needs (or the X-API-Key header)",
}
_POST_REQUEST_FIELDS: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "lat", "long"],
    "properties": {
        "api_key": _API_KEY,
        "jurisdiction_id": {"type": "string"},
        "service_code": {"type": "string", "description": "a category code (services.xml)"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": {"type": "string"},
        "address_id": {"type": "string", "description": "not located here: send lat and long"},
        "email": {"type": "string"},
        "device_id": {"type": "string"},
        "account_id": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "phone": {"type": "string"},
        "description": {"type": "string", "maxLength": 4000},
        "media_url": {"type": "string"},
    },
    # The answers to the category's questions: attribute[CODE]=value, or attribute[CODE][]=v
    # repeated for a multivaluelist (see services/{service_code}.xml).
    "additionalProperties": {"type": "string"},
}
_POST_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": _POST_REQUEST_FIELDS},
            "multipart/form-data": {
                "schema": {
                    **_POST_REQUEST_FIELDS,
                    "properties": {
                        **_POST_REQUEST_FIELDS["properties"],
                        "media": {
                            "type": "array",
                            "maxItems": 5,
                            "items": {"type": "string", "format": "binary"},
                            "description": "photos (JPEG, PNG, HEIC), 10 MB each",
                        },
                    },
                }
            },
        },
    }
}
_POST_UPDATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["service_request_id", "status"],
                    "properties": {
                        "api_key": _API_KEY,
                        "jurisdiction_id": {"type": "string"},
                        "service_request_id": {"type": "string", "pattern": "^[0-9]{1,10}$"},
                        "status": {"type": "string", "enum": sorted(FROM_UPDATE_STATUS)},
                        "description": {"type": "string"},
                    },
                }
            }
        },
    }
}


# Per client address and per key (settings open311_posts_per_minute[_per_key]); one pair of
# limiters per process and limit.
_LIMITERS_ATTRIBUTE = "open311_limiters"
_limiters_lock = threading.Lock()


def _limit(request: Request, what: str, key: str) -> None:
    settings: Settings = request.app.state.settings
    per_minute = (
        settings.open311_posts_per_minute
        if what == "address"
        else settings.open311_posts_per_minute_per_key
    )
    # Each application (a server, a test's client) counts its own posts.
    state = request.app.state
    with _limiters_lock:
        limiters: dict[str, SlidingWindowLimiter] | None = getattr(state, _LIMITERS_ATTRIBUTE, None)
        if limiters is None:
            limiters = {}
            setattr(state, _LIMITERS_ATTRIBUTE, limiters)
        limiter = limiters.get(what)
        if limiter is None:
            limiter = limiters[what] = SlidingWindowLimiter(per_minute, 60.0)
    limiter.hit(f"{what}:{key}")


def jurisdiction_id(settings: Settings) -> str:
    """The one jurisdiction this server answers for, from the metropolis's name."""
    plain = unicodedata.normalize("NFKD", settings.metropolis_name)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "metropolis"


# --- answering ---------------------------------------------------------------------------------


def url_format(path: str) -> Format:
    """The format an Open311 URL asks for: JSON for ``….json``, XML (the spec's own) otherwise."""
    return "json" if path.endswith(".json") else "xml"


def _error_answer(request: Request, exc: Exception) -> Response:
    fmt = url_format(request.url.path)
    if isinstance(exc, Open311Error):
        failed = exc.render(fmt)
        return Response(failed.body, exc.status, media_type=failed.media_type)
    status, descriptions = _status_and_descriptions(exc)
    if status >= 500:
        reference = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", reference, request.method, request.url.path)
        descriptions = [f"internal error; quote reference {reference} to support"]
    failed = render_errors([ErrorEntry(status, d) for d in descriptions], fmt)
    return Response(failed.body, status, media_type=failed.media_type)


def _status_and_descriptions(exc: Exception) -> tuple[int, list[str]]:
    if isinstance(exc, DomainError):
        status_of = {NotFound: 404, Forbidden: 403, RateLimited: 429}
        status = next((v for k, v in status_of.items() if isinstance(exc, k)), 400)
        descriptions = [exc.message]
        if isinstance(exc.details, list):
            descriptions += [str(d.get("message", d)) for d in exc.details if isinstance(d, dict)]
        return status, descriptions
    if isinstance(exc, RequestValidationError):
        return 400, [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
    if isinstance(exc, HTTPException):
        return exc.status_code, [str(exc.detail)]
    if isinstance(exc, DataError):
        return 400, ["a value is not acceptable (e.g. a NUL character or a number out of range)"]
    return 500, []


def _respond(fmt: str, produce: Callable[[Format], Any], status: int = 200) -> Response:
    """Run ``produce`` and answer its document, or the spec's error list, in the asked format."""
    try:
        chosen = format_from_path(fmt)
    except Open311Error as exc:
        rendered = exc.render("xml")
        return Response(rendered.body, exc.status, media_type=rendered.media_type)
    try:
        rendered = produce(chosen)
    except Open311Error as exc:
        failed = exc.render(chosen)
        return Response(failed.body, exc.status, media_type=failed.media_type)
    except DomainError as exc:
        code, descriptions = _status_and_descriptions(exc)
        failed = render_errors([ErrorEntry(code, d) for d in descriptions], chosen)
        return Response(failed.body, code, media_type=failed.media_type)
    return Response(rendered.body, status, media_type=rendered.media_type)


def _param(values: Any, name: str) -> str | None:
    """A parameter, stripped; empty counts as absent (the spec says so)."""
    value = values.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _check_jurisdiction(request: Request, given: str | None) -> None:
    if given is not None and given != jurisdiction_id(request.app.state.settings):
        raise Open311Error.not_found(f"unknown jurisdiction_id {given!r}")


def _uow(request: Request, *, write: bool = False) -> UnitOfWork:
    return request.app.state.uow_factory(write=write)  # type: ignore[no-any-return]


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _service_name(category: Category, request: Request) -> str:
    french = request.headers.get("accept-language", "").lower().startswith("fr")
    return category.spec.name_fr if french and category.spec.name_fr else category.spec.name


# --- discovery and services --------------------------------------------------------------------


@router.get(
    "/discovery.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Open311 service discovery",
)
def discovery(fmt: Fmt, request: Request) -> Response:
    def produce(chosen: Format) -> Any:
        return render_discovery(
            Discovery(
                changeset=CHANGESET,
                contact=f"{request.app.state.settings.metropolis_name}: command post",
                key_service="Ask the metropolis's platform administrators for an api_key "
                "with the open311:post permission.",
                endpoints=(
                    DiscoveryEndpoint(
                        url=_base_url(request) + BASE, changeset=CHANGESET, type="production"
                    ),
                ),
            ),
            chosen,
        )

    return _respond(fmt, produce)


@router.get(
    "/services.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The categories citizens can report (Open311 services)",
    openapi_extra={"parameters": [_JURISDICTION]},
)
def list_services(fmt: Fmt, request: Request) -> Response:
    def produce(chosen: Format) -> Any:
        _check_jurisdiction(request, _param(request.query_params, "jurisdiction_id"))
        with _uow(request) as uow:
            found = services.list_categories(uow)
        return render_services(
            [
                ServiceEntry(
                    service_code=c.code,
                    service_name=_service_name(c, request),
                    description=c.spec.description or None,
                    metadata=bool(c.spec.attributes),
                    type="realtime",
                    keywords=c.spec.keywords,
                    group=c.spec.group,
                )
                for c in found
            ],
            chosen,
        )

    return _respond(fmt, produce)


def _definitions(category: Category) -> tuple[AttributeDefinition, ...]:
    return tuple(
        AttributeDefinition(
            code=a.code,
            datatype=a.datatype,
            description=a.description,
            required=a.required,
            order=a.order,
            variable=a.variable,
            datatype_description=a.datatype_description or None,
            values=tuple(AttributeValueOption(v.key, v.name) for v in a.values),
        )
        for a in category.spec.attributes
    )


def _category(uow: UnitOfWork, code: str) -> Category:
    try:
        return services.get_category(uow, code)
    except NotFound:
        raise Open311Error.not_found(f"unknown service_code {code!r}") from None


@router.get(
    "/services/{service_code}.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The questions a category asks (Open311 service definition)",
    openapi_extra={"parameters": [_JURISDICTION]},
)
def service_definition(service_code: str, fmt: Fmt, request: Request) -> Response:
    def produce(chosen: Format) -> Any:
        _check_jurisdiction(request, _param(request.query_params, "jurisdiction_id"))
        with _uow(request) as uow:
            category = _category(uow, service_code)
        if not category.spec.attributes:
            raise Open311Error.not_found(
                f"service {service_code!r} has no definition (metadata false)"
            )
        return render_service_definition(
            ServiceDefinition(service_code=category.code, attributes=_definitions(category)),
            chosen,
        )

    return _respond(fmt, produce)


# --- posting -----------------------------------------------------------------------------------


def _client(request: Request, given: str | None, permission: str) -> Principal:
    """The client app behind an ``api_key``: 403 unless it may ``permission``."""
    key = given or request.headers.get("x-api-key")
    if not key:
        raise Open311Error.forbidden("api_key is required")
    with _uow(request) as uow:
        found = accounts.resolve_key(uow, key.strip(), last_use=request.app.state.platform.last_use)
    if found is None:
        raise Open311Error.forbidden("api_key is not valid")
    if not any(s.covers(permission) for s in found.principal.key_scopes):
        raise Open311Error.forbidden(f"this api_key may not use {permission}")
    _limit(request, "key", str(found.key_id))
    return found.principal


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
    openapi_extra=_POST_REQUEST_BODY,
)
async def post_request(fmt: Fmt, request: Request) -> Response:
    form = await request.form()
    fields = {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}
    form_items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    media = [v for k, v in form.multi_items() if k == "media" and isinstance(v, UploadFile)]
    photos = [await upload.read() for upload in media]

    def produce(chosen: Format) -> Any:
        _check_jurisdiction(request, _param(fields, "jurisdiction_id"))
        _limit(request, "address", client_address(request))
        client = _client(request, _param(fields, "api_key"), "open311:post")
        # Where the app may report: its key's open311:post communes (and a commune service's
        # own commune); a place elsewhere is answered as one outside the metropolis.
        where = report_scope(client, key_permission="open311:post")
        code = _param(fields, "service_code")
        if code is None:
            raise Open311Error.bad_request("service_code is required")
        lat, lon = _param(fields, "lat"), _param(fields, "long")
        if lat is None and lon is None:
            if _param(fields, "address_string") or _param(fields, "address_id"):
                raise Open311Error.bad_request(
                    "lat and long are required: this jurisdiction does not locate addresses"
                )
            raise Open311Error.bad_request("a location is required: lat and long")
        latitude, longitude = _number(lat, "lat"), _number(lon, "long")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise Open311Error.bad_request("lat and long must be WGS 84 degrees")
        description = _param(fields, "description") or ""
        if len(description) > 4000:
            raise Open311Error.bad_request(
                f"description has {len(description)} characters; at most 4000"
            )
        with _uow(request, write=True) as uow:
            category = _category(uow, code)
            definitions = _definitions(category)
            answers = parse_attributes(form_items)
            problems = validate_attributes(definitions, answers)
            if problems:
                raise Open311Error.bad_request(*problems)
            attributes: dict[str, Any] = dict(retain_defined_attributes(definitions, answers))
            media_url = _param(fields, "media_url")
            if media_url is not None:
                attributes["media_url"] = media_url[:500]
            account = _param(fields, "account_id")
            result = services.submit(
                uow,
                services.Submission(
                    category_code=category.code,
                    lon=longitude,
                    lat=latitude,
                    description=description,
                    attributes=attributes,
                    address=_param(fields, "address_string") or "",
                    email=_param(fields, "email"),
                    first_name=_param(fields, "first_name"),
                    last_name=_param(fields, "last_name"),
                    phone=_param(fields, "phone"),
                    device_id=_param(fields, "device_id"),
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
    return await run_in_threadpool(_respond, fmt, produce, 201)


# --- reading -----------------------------------------------------------------------------------


def _media_url(request: Request, report_id: int, number: int, thumbnail: bool = False) -> str:
    suffix = "thumb.jpg" if thumbnail else "jpg"
    return f"{_base_url(request)}{BASE}/media/{report_id}/{number}.{suffix}"


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
    openapi_extra={"parameters": _READ_REQUESTS},
)
def list_requests(fmt: Fmt, request: Request) -> Response:
    params = request.query_params

    def produce(chosen: Format) -> Any:
        _check_jurisdiction(request, _param(params, "jurisdiction_id"))
        extensions = parse_boolean_param("extensions", _param(params, "extensions"))
        page_size = _int_param(params, "page_size", DEFAULT_REQUESTS_LIMIT, 1, MAX_PAGE_SIZE)
        page = _int_param(params, "page", 1, 1, 1_000_000)
        ids_text = parse_comma_list(_param(params, "service_request_id"))
        if ids_text:  # overrides every other parameter, as the spec says
            ids = [_id(v) for v in ids_text]
            query = services.ReportQuery(ids=ids, public_only=True, limit=len(ids))
        else:
            start, end = resolve_date_window(
                parse_datetime_param("start_date", _param(params, "start_date")),
                parse_datetime_param("end_date", _param(params, "end_date")),
                now=utcnow(),
            )
            statuses = parse_status_list(_param(params, "status"))
            states: list[ReportState] = []
            if "open" in statuses:
                states += sorted(OPEN_STATES)
            if "closed" in statuses:
                states += sorted(CLOSED_STATES)
            query = services.ReportQuery(
                category_codes=parse_comma_list(_param(params, "service_code")),
                states=states,
                start=start,
                end=end,
                public_only=True,
                offset=(page - 1) * page_size,
                limit=page_size,
            )
        with _uow(request) as uow:
            found = services.query_reports(uow, query)
            names = _names(uow, request)
            views = [_view(r, names, request, uow, extensions) for r in found]
        return render_requests(views, chosen, extensions=extensions)

    return _respond(fmt, produce)


@router.get(
    "/requests/{service_request_id}.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="One citizen report",
    openapi_extra={"parameters": [_JURISDICTION, _EXTENSIONS]},
)
def get_request(service_request_id: str, fmt: Fmt, request: Request) -> Response:
    params = request.query_params

    def produce(chosen: Format) -> Any:
        _check_jurisdiction(request, _param(params, "jurisdiction_id"))
        extensions = parse_boolean_param("extensions", _param(params, "extensions"))
        report_id = _id(service_request_id, not_found=True)
        with _uow(request) as uow:
            found = services.query_reports(
                uow, services.ReportQuery(ids=[report_id], public_only=True, limit=1)
            )
            if not found:
                raise Open311Error.not_found(f"unknown service_request_id {service_request_id!r}")
            names = _names(uow, request)
            views = [_view(found[0], names, request, uow, extensions)]
        return render_requests(views, chosen, extensions=extensions)

    return _respond(fmt, produce)


@router.get(
    "/tokens/{token}.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The request a token stands for",
    openapi_extra={"parameters": [_JURISDICTION]},
)
def get_token(token: str, fmt: Fmt, request: Request) -> Response:
    def produce(chosen: Format) -> Any:
        _check_jurisdiction(request, _param(request.query_params, "jurisdiction_id"))
        with _uow(request) as uow:
            try:
                report = services.report_by_token(uow, token)
            except NotFound:
                raise Open311Error.not_found("unknown token") from None
        return render_tokens([TokenView(token=token, service_request_id=str(report.id))], chosen)

    return _respond(fmt, produce)


# --- updates (FixMyStreet's extension) ---------------------------------------------------------


@router.get(
    "/servicerequestupdates.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Public updates of citizen reports in a time window (FixMyStreet's extension)",
    openapi_extra={"parameters": [_JURISDICTION, *_DATE_WINDOW]},
)
def list_updates(fmt: Fmt, request: Request) -> Response:
    params = request.query_params

    def produce(chosen: Format) -> Any:
        _check_jurisdiction(request, _param(params, "jurisdiction_id"))
        start, end = resolve_date_window(
            parse_datetime_param("start_date", _param(params, "start_date")),
            parse_datetime_param("end_date", _param(params, "end_date")),
            now=utcnow(),
        )
        with _uow(request) as uow:
            found = services.updates_between(uow, start, end, limit=DEFAULT_REQUESTS_LIMIT)
        return render_request_updates(
            [
                RequestUpdateView(
                    update_id=str(u["id"]),
                    service_request_id=str(u["report_id"]),
                    status=TO_UPDATE_STATUS[ReportState(u["state"])],
                    updated_datetime=u["at"],
                    description=u["description"] or None,
                )
                for u in found
            ],
            chosen,
        )

    return _respond(fmt, produce)


@router.post(
    "/servicerequestupdates.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],  # the api_key is checked as the spec says
    summary="Push an update of a report from a back-office (needs reports:update)",
    openapi_extra=_POST_UPDATE_BODY,
)
async def post_update(fmt: Fmt, request: Request) -> Response:
    form = await request.form()
    fields = {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}

    def produce(chosen: Format) -> Any:
        _check_jurisdiction(request, _param(fields, "jurisdiction_id"))
        client = _client(request, _param(fields, "api_key"), "reports:update")
        # The reports the back-office may update: those of its key's communes; another
        # commune's report is answered as an unknown one.
        scope = report_scope(client)
        actor = client.actor()
        report_id = _id(_param(fields, "service_request_id") or "", not_found=True)
        status = (_param(fields, "status") or "").lower()
        target = FROM_UPDATE_STATUS.get(status)
        if target is None:
            known = ", ".join(sorted(FROM_UPDATE_STATUS))
            raise Open311Error.bad_request(f"status must be one of {known}, got {status!r}")
        if target is ReportState.DUPLICATE:
            raise Open311Error.bad_request("duplicates are merged on the platform, not pushed")
        description = _param(fields, "description") or ""
        with _uow(request, write=True) as uow:
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
        update_id = str(max((u["id"] for u in found if u["report_id"] == report_id), default=0))
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
    return await run_in_threadpool(_respond, fmt, produce, 201)


# --- photos --------------------------------------------------------------------------------------


@router.get(
    "/media/{report_id}/{name}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="A photo of a public report (EXIF removed), or its thumbnail (n.thumb.jpg)",
)
def media(report_id: ObjectId, name: str, request: Request) -> Response:
    match = re.fullmatch(r"([1-9][0-9]?)\.(thumb\.)?jpg", name)
    if match is None:
        raise NotFound("no such photo")
    number, thumbnail = int(match.group(1)), bool(match.group(2))
    with _uow(request) as uow:
        found = services.query_reports(
            uow, services.ReportQuery(ids=[report_id], public_only=True, limit=1)
        )
    photo = next((p for p in found[0].photos if p["position"] == number), None) if found else None
    if photo is None:
        raise NotFound("no such photo")
    storage = FileSystemStorage(request.app.state.settings.data_dir / "photos")
    data = storage.get(photo["thumbnail_key"] if thumbnail else photo["storage_key"])
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


# --- parameters ----------------------------------------------------------------------------------


def _digits(value: str) -> bool:
    # str.isdigit() also takes '²' and other scripts' digits, which int() refuses or reads
    # differently: only ASCII digits are numbers here.
    return bool(value) and all("0" <= c <= "9" for c in value)


def _id(value: str, *, not_found: bool = False) -> int:
    """A report id; one that cannot be an id (not digits, 0, beyond 2³¹−1) names no report."""
    if not _digits(value) or len(value) > len(str(ID_MAX)) or not 1 <= int(value) <= ID_MAX:
        if not_found:
            raise Open311Error.not_found(f"unknown service_request_id {value!r}")
        raise Open311Error.bad_request(
            f"service_request_id must be report numbers (1 to {ID_MAX}), got {value!r}"
        )
    return int(value)


def _int_param(values: Any, name: str, default: int, lowest: int, highest: int) -> int:
    value = _param(values, name)
    if value is None:
        return default
    if not _digits(value) or len(value) > 12 or not lowest <= int(value) <= highest:
        raise Open311Error.bad_request(f"{name} must be a whole number {lowest}–{highest}")
    return int(value)
