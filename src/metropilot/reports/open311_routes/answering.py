"""How every Open311 route answers: in the URL's format, errors as the spec's ``errors`` list.

Also the parameters the routes read themselves (an empty one counts as absent, as the spec says)
and the one jurisdiction this server answers for.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from metropilot.api.ratelimit import RateLimited
from metropilot.db.uow import UnitOfWork
from metropilot.reports.model import Category
from metropilot.reports.open311 import (
    ErrorEntry,
    Format,
    Open311Error,
    Rendered,
    format_from_path,
    render_errors,
)
from metropilot.settings import Settings
from metropilot.shared.bounds import ID_MAX
from metropilot.shared.errors import DomainError, Forbidden, NotFound

__all__ = [
    "BASE",
    "CHANGESET",
    "MAX_PAGE_SIZE",
    "Open311Route",
    "base_url",
    "check_jurisdiction",
    "error_answer",
    "int_param",
    "jurisdiction_id",
    "param",
    "report_id_param",
    "respond",
    "service_name",
    "status_and_descriptions",
    "uow_of",
    "url_format",
]

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
                return error_answer(request, exc)

        return answer


BASE = "/open311/v2"
CHANGESET = datetime(2026, 11, 27, tzinfo=UTC)  # when this API's shape last changed
MAX_PAGE_SIZE = 1000


def jurisdiction_id(settings: Settings) -> str:
    """The one jurisdiction this server answers for, from the metropolis's name."""
    plain = unicodedata.normalize("NFKD", settings.metropolis_name)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "metropolis"


# --- answering ---------------------------------------------------------------------------------


def url_format(path: str) -> Format:
    """The format an Open311 URL asks for: JSON for ``….json``, XML (the spec's own) otherwise."""
    return "json" if path.endswith(".json") else "xml"


def error_answer(request: Request, exc: Exception) -> Response:
    fmt = url_format(request.url.path)
    if isinstance(exc, Open311Error):
        failed = exc.render(fmt)
        return Response(failed.body, exc.status, media_type=failed.media_type)
    status, descriptions = status_and_descriptions(exc)
    if status >= 500:
        reference = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", reference, request.method, request.url.path)
        descriptions = [f"internal error; quote reference {reference} to support"]
    failed = render_errors([ErrorEntry(status, d) for d in descriptions], fmt)
    return Response(failed.body, status, media_type=failed.media_type)


def status_and_descriptions(exc: Exception) -> tuple[int, list[str]]:
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


def respond(fmt: str, produce: Callable[[Format], Rendered], status: int = 200) -> Response:
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
        code, descriptions = status_and_descriptions(exc)
        failed = render_errors([ErrorEntry(code, d) for d in descriptions], chosen)
        return Response(failed.body, code, media_type=failed.media_type)
    return Response(rendered.body, status, media_type=rendered.media_type)


def param(values: Any, name: str) -> str | None:
    """A parameter, stripped; empty counts as absent (the spec says so)."""
    value = values.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def check_jurisdiction(request: Request, given: str | None) -> None:
    if given is not None and given != jurisdiction_id(request.app.state.settings):
        raise Open311Error.not_found(f"unknown jurisdiction_id {given!r}")


def uow_of(request: Request, *, write: bool = False) -> UnitOfWork:
    return request.app.state.uow_factory(write=write)  # type: ignore[no-any-return]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def service_name(category: Category, request: Request) -> str:
    french = request.headers.get("accept-language", "").lower().startswith("fr")
    return category.spec.name_fr if french and category.spec.name_fr else category.spec.name


# --- parameters ----------------------------------------------------------------------------------


def _digits(value: str) -> bool:
    # str.isdigit() also takes '²' and other scripts' digits, which int() refuses or reads
    # differently: only ASCII digits are numbers here.
    return bool(value) and all("0" <= c <= "9" for c in value)


def report_id_param(value: str, *, not_found: bool = False) -> int:
    """A report id; one that cannot be an id (not digits, 0, beyond 2³¹−1) names no report."""
    if not _digits(value) or len(value) > len(str(ID_MAX)) or not 1 <= int(value) <= ID_MAX:
        if not_found:
            raise Open311Error.not_found(f"unknown service_request_id {value!r}")
        raise Open311Error.bad_request(
            f"service_request_id must be report numbers (1 to {ID_MAX}), got {value!r}"
        )
    return int(value)


def int_param(values: Any, name: str, default: int, lowest: int, highest: int) -> int:
    value = param(values, name)
    if value is None:
        return default
    if not _digits(value) or len(value) > 12 or not lowest <= int(value) <= highest:
        raise Open311Error.bad_request(f"{name} must be a whole number {lowest}–{highest}")
    return int(value)
