"""The public map of the open reports: ``GET /reports/map`` and ``GET /reports/map.json``.

The open reports of public categories: category, state, date and commune. Never a name, an
e-mail address, a phone number, a device, a description or a token.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from metropilot.accounts.audience import Audience, audience
from metropilot.reports import services as report_services
from metropilot.reports.model import OPEN_STATES, Report
from metropilot.settings import Settings
from metropilot.web.formatting import format_date
from metropilot.web.rendering import (
    PageRoute,
    page_context,
    page_language,
    remember_language,
    templates,
    viewer_of,
)
from metropilot.web.report_common import (
    COMMUNES_URL,
    MAP_JSON_PATH,
    MAP_PATH,
    REPORT_PATH,
    category_name,
    commune_names,
    group_name,
    report_script_messages,
    state_label,
)

__all__ = ["router"]

MAP_MAX_POINTS: Final = 5000
# Public points are rounded to about ten metres: enough to see where, not which doorstep.
PUBLIC_DECIMALS: Final = 4

router = APIRouter(route_class=PageRoute)


def _open_public_reports(uow: Any) -> list[Report]:
    query = report_services.ReportQuery(
        states=sorted(OPEN_STATES), public_only=True, limit=MAP_MAX_POINTS
    )
    return report_services.query_reports(uow, query)


def _map_points(uow: Any, lang: str) -> list[dict[str, Any]]:
    categories = {c.code: c for c in report_services.list_categories(uow, include_inactive=True)}
    communes = commune_names(uow)
    points = []
    for report in _open_public_reports(uow):
        category = categories.get(report.category_code)
        if category is None or not category.spec.public:
            continue
        # Only these fields, built one by one: nothing personal can slip in with a new column.
        points.append(
            {
                "number": report.id,
                "lon": round(report.lon, PUBLIC_DECIMALS),
                "lat": round(report.lat, PUBLIC_DECIMALS),
                "category": category.code,
                "category_name": category_name(category, lang),
                "group": group_name(category.spec.group, lang),
                "state": report.state.value,
                "state_label": state_label(report.state, lang),
                "date": format_date(report.requested_at, lang, with_time=False),
                "requested_at": report.requested_at.isoformat(),
                "commune": communes.get(report.commune_insee or "", ""),
                "supporters": report.supporters,
            }
        )
    return points


@router.get(
    MAP_JSON_PATH,
    dependencies=[audience(Audience.PUBLIC)],
    include_in_schema=False,
)
def reports_map_json(
    request: Request,
    lang: str | None = Query(default=None, description="en or fr"),
) -> Response:
    language = page_language(request, lang)
    with request.app.state.uow_factory() as uow:
        points = _map_points(uow, language)
    response = JSONResponse({"points": points, "capped": len(points) >= MAP_MAX_POINTS})
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


@router.get(
    MAP_PATH,
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def reports_map(
    request: Request,
    lang: str | None = Query(default=None, description="en or fr; remembered in a cookie."),
) -> Response:
    language = page_language(request, lang)
    settings: Settings = request.app.state.settings
    with request.app.state.uow_factory() as uow:
        viewer = viewer_of(request, uow, language)
        points = _map_points(uow, language)
    by_category: dict[str, int] = {}
    by_state: dict[str, int] = {}
    for point in points:
        by_category[point["category_name"]] = by_category.get(point["category_name"], 0) + 1
        by_state[point["state_label"]] = by_state.get(point["state_label"], 0) + 1
    config = {
        "communesUrl": COMMUNES_URL,
        "pointsUrl": f"{MAP_JSON_PATH}?lang={language}",
        "messages": report_script_messages(language, settings.metropolis_name),
    }
    context = {
        **page_context(request, language, viewer),
        "config": config,
        "total": len(points),
        "by_category": sorted(by_category.items(), key=lambda item: (-item[1], item[0])),
        "by_state": sorted(by_state.items(), key=lambda item: (-item[1], item[0])),
        "latest": points[:50],
        "report_path": REPORT_PATH,
        "json_path": MAP_JSON_PATH,
    }
    response = templates.TemplateResponse(request, "reports_map.html", context)
    remember_language(response, lang, language)
    return response
