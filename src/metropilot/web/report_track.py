"""Following a report: the reporter's page and the report's photos.

``GET /report/track/{token}``
    The reporter's view: state, public timeline, description (escaped), answers, photos. The
    token is a capability: the page is never cached nor sent as a referrer.
``GET /report/track/{token}/photos/{name}``
    ``<n>.jpg`` and ``<n>.thumb.jpg`` of that report only (photos are stored without EXIF).

After a "me too" the form shows the existing report's public view (``render_supported``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from metropilot.accounts.audience import Audience, audience
from metropilot.reports import services as report_services
from metropilot.reports.model import Category, Report
from metropilot.shared.errors import DomainError, NotFound
from metropilot.web.formatting import format_date
from metropilot.web.i18n import gettext
from metropilot.web.rendering import (
    PageRoute,
    Viewer,
    error_page,
    page_context,
    page_language,
    remember_language,
    templates,
    viewer_of,
)
from metropilot.web.report_common import (
    MAP_PATH,
    REPORT_PATH,
    TRACK_PREFIX,
    category_name,
    category_or_none,
    commune_names,
    note_text,
    secret_headers,
    state_label,
    storage,
)

__all__ = ["render_supported", "router"]

REPORT_TOKEN_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
PHOTO_NAME: Final = re.compile(r"^([1-9][0-9]{0,2})(\.thumb)?\.jpg$")

router = APIRouter(route_class=PageRoute)


def _public_view(
    report: Report, category: Category | None, lang: str, communes: Mapping[str, str]
) -> dict[str, Any]:
    """What anyone may know of a report: no personal data, no description, no token."""
    return {
        "number": report.id,
        "category": category_name(category, lang) if category else report.category_code,
        "state": report.state.value,
        "state_label": state_label(report.state, lang),
        "is_open": report.is_open,
        "commune": communes.get(report.commune_insee or "", report.commune_insee or ""),
        "requested": format_date(report.requested_at, lang),
        "updated": format_date(report.updated_at, lang),
        "expected": format_date(report.expected_at, lang, with_time=False),
        "supporters": report.supporters,
        "status_notes": note_text(lang, report.state.value, report.status_notes),
        "duplicate_of": report.duplicate_of,
    }


def _timeline(uow: Any, report: Report, lang: str) -> list[dict[str, str]]:
    return [
        {
            "at": format_date(entry["at"], lang),
            "state": str(entry["state"]),
            "state_label": state_label(str(entry["state"]), lang),
            "note": note_text(lang, str(entry["state"]), str(entry["description"] or "")),
        }
        for entry in report_services.timeline(uow, report.id)
    ]


def _answers_shown(
    category: Category | None, attributes: Mapping[str, Any]
) -> list[dict[str, str]]:
    if category is None:
        return []
    shown = []
    for spec in sorted(category.spec.attributes, key=lambda a: (a.order, a.code)):
        if spec.code not in attributes:
            continue
        given = attributes[spec.code]
        values = given if isinstance(given, list) else [given]
        names = {v.key: v.name for v in spec.values}
        text = ", ".join(names.get(str(v), str(v)) for v in values)
        if text:
            shown.append({"question": spec.description, "answer": text})
    return shown


def _not_found(request: Request, lang: str) -> Response:
    unknown = NotFound("no report has this tracking token", code="unknown_report")
    response = error_page(
        request, unknown, lang=lang, message=gettext(lang, "report.track.unknown")
    )
    secret_headers(response)
    return response


def render_supported(
    request: Request, lang: str, report: Report, email_given: bool, photos_sent: bool
) -> Response:
    """After a "me too": the existing report's public view, never its token or description."""
    with request.app.state.uow_factory() as uow:
        viewer = viewer_of(request, uow, lang)
        category = category_or_none(uow, report.category_code)
        view = _public_view(report, category, lang, commune_names(uow))
        timeline = _timeline(uow, report, lang)
    context = {
        **page_context(request, lang, viewer),
        "mode": "supported",
        "report": view,
        "timeline": timeline,
        "email_given": email_given,
        "photos_sent": photos_sent,
        "sent": False,
        "description": "",
        "address": "",
        "answers": [],
        "photos": [],
        "report_path": REPORT_PATH,
        "map_path": MAP_PATH,
    }
    response = templates.TemplateResponse(request, "report_track.html", context)
    secret_headers(response)
    return response


@router.get(
    TRACK_PREFIX + "/{token}",
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def track_report(
    request: Request,
    token: str,
    lang: str | None = Query(default=None, description="en or fr; remembered in a cookie."),
    sent: str | None = Query(default=None, max_length=8),
) -> Response:
    language = page_language(request, lang)
    if not REPORT_TOKEN_PATTERN.match(token):
        return _not_found(request, language)
    with request.app.state.uow_factory() as uow:
        try:
            report = report_services.report_by_token(uow, token)
        except NotFound:
            return _not_found(request, language)
        viewer: Viewer = viewer_of(request, uow, language)
        category = category_or_none(uow, report.category_code)
        view = _public_view(report, category, language, commune_names(uow))
        timeline = _timeline(uow, report, language)
    base = f"{TRACK_PREFIX}/{token}/photos"
    photos = [
        {
            "full": f"{base}/{int(p['position'])}.jpg",
            "thumb": f"{base}/{int(p['position'])}.thumb.jpg",
            "number": int(p["position"]),
            "width": p.get("width"),
            "height": p.get("height"),
        }
        for p in report.photos
    ]
    context = {
        **page_context(request, language, viewer),
        "mode": "track",
        "report": view,
        "timeline": timeline,
        "sent": sent is not None,
        "email_given": False,
        "photos_sent": False,
        "description": report.description,
        "address": report.address,
        "answers": _answers_shown(category, report.attributes),
        "photos": photos,
        "report_path": REPORT_PATH,
        "map_path": MAP_PATH,
    }
    response = templates.TemplateResponse(request, "report_track.html", context)
    remember_language(response, lang, language)
    secret_headers(response)
    return response


@router.get(
    TRACK_PREFIX + "/{token}/photos/{name}",
    dependencies=[audience(Audience.PUBLIC)],
    include_in_schema=False,
)
def report_photo(request: Request, token: str, name: str) -> Response:
    """A photo of the report the token opens (``<n>.jpg``) or its thumbnail (``<n>.thumb.jpg``)."""
    match = PHOTO_NAME.match(name)
    if match is None or not REPORT_TOKEN_PATTERN.match(token):
        return _photo_not_found()
    number, thumbnail = int(match.group(1)), match.group(2) is not None
    with request.app.state.uow_factory() as uow:
        try:
            report = report_services.report_by_token(uow, token)
        except NotFound:
            return _photo_not_found()
    photo = next((p for p in report.photos if int(p["position"]) == number), None)
    if photo is None:
        return _photo_not_found()
    key = str(photo["thumbnail_key"] if thumbnail else photo["storage_key"])
    try:
        data = storage(request).get(key)
    except DomainError:
        return _photo_not_found()
    response = Response(data, media_type=str(photo.get("content_type") or "image/jpeg"))
    secret_headers(response)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = f'inline; filename="report-{report.id}-{name}"'
    return response


def _photo_not_found() -> Response:
    response = Response("not found", status_code=404, media_type="text/plain")
    secret_headers(response)
    return response
