"""Pages for people: the home page at ``/``, the front door of the demo, and where every page
router is installed.

The page is rendered on the server with the figures of the registry, then ``static/home.js``
draws the map from the API: communes as GeoJSON and their counts (public), and the equipment of
one kind as dots, which only signed-in people see (each within their own scope). Anonymous
visitors get a call to sign in instead of the dots. Signed-in people of the command roles get
the command centre instead (``web.command_pages``).
No inline script and no external resource: the page works offline and under a strict CSP.

The helpers every page shares (language, the header's account block, the error page) are in
``web.rendering``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from metropilot.accounts.audience import Audience, audience
from metropilot.assets import services as asset_services
from metropilot.assets.model import AssetKind, AssetStatus
from metropilot.assets.services import AssetFilter
from metropilot.territory import services as territory_services
from metropilot.web.command_pages import command_centre, wants_command_centre
from metropilot.web.command_pages import router as command_router
from metropilot.web.formatting import format_number, format_percent
from metropilot.web.i18n import script_messages
from metropilot.web.order_pages import router as order_router
from metropilot.web.rendering import (
    API_PREFIX,
    MODULES_URL,
    STATIC_DIR,
    label,
    login_href,
    page_context,
    page_language,
    principal_of,
    remember_language,
    sort_key,
    templates,
    viewer_of,
)
from metropilot.web.report_pages import router as report_router
from metropilot.web.signin import router as signin_router

__all__ = ["STATIC_DIR", "install_pages", "router"]

DEFAULT_KIND: Final = AssetKind.STREETLIGHT.value
MAP_PAGE_SIZE: Final = 5_000  # assets per request when the map loads its dots
MAP_MAX_POINTS: Final = 40_000  # enough for every street light of the reference metropolis
# Statuses that mean someone has to act.
ATTENTION_STATUSES: Final = (AssetStatus.FAULT.value, AssetStatus.OFFLINE.value)
# The messages static/home.js needs, passed as JSON in a data attribute (no inline script).
SCRIPT_MESSAGE_PREFIXES: Final = ("map.", "kind.", "status.")

router = APIRouter()


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a table of counts: a kind or a status."""

    key: str
    label: str
    count: int
    share: float  # percent of the whole registry


@dataclass(frozen=True, slots=True)
class CommuneRow:
    name: str
    insee: str
    population: int
    assets: int


def _rows(
    counts: dict[str, int], known: list[str], prefix: str, lang: str, total: int
) -> list[Row]:
    keys = known + sorted(k for k in counts if k not in known)
    return [
        Row(
            key=key,
            label=label(lang, f"{prefix}.{key}", key),
            count=counts.get(key, 0),
            share=100.0 * counts.get(key, 0) / total if total else 0.0,
        )
        for key in keys
    ]


def _home_context(request: Request, lang: str) -> dict[str, Any]:
    with request.app.state.uow_factory() as uow:
        summary = asset_services.summary(uow, AssetFilter())
        communes = territory_services.list_communes(uow)
        viewer = viewer_of(request, uow, lang)

    by_kind = summary.get("by_kind", {})
    by_status = summary.get("by_status", {})
    by_commune = summary.get("by_commune", {})
    total = sum(by_kind.values())
    kinds = _rows(by_kind, [k.value for k in AssetKind], "kind", lang, total)
    statuses = _rows(by_status, [s.value for s in AssetStatus], "status", lang, total)
    commune_rows = sorted(
        (CommuneRow(c.name, c.insee, c.population, by_commune.get(c.insee, 0)) for c in communes),
        key=lambda row: (sort_key(row.name), row.insee),
    )
    default_kind = DEFAULT_KIND
    if not by_kind.get(default_kind) and total:
        default_kind = max(by_kind, key=lambda k: by_kind[k])

    # Only fill the share bar with the statuses that exist, each starting where the last ended.
    bar: list[dict[str, Any]] = []
    offset = 0.0
    for row in statuses:
        if row.count:
            bar.append({"row": row, "x": round(offset, 3), "width": round(row.share, 3)})
            offset += row.share

    api = {
        "communes": f"{API_PREFIX}/communes?format=geojson",
        "summary": f"{API_PREFIX}/assets/summary",
        "kinds": f"{API_PREFIX}/assets/kinds",
        "assets": f"{API_PREFIX}/assets",
        "openapi": f"{API_PREFIX}/openapi.json",
        "docs": "/docs",
    }
    settings = request.app.state.settings
    return {
        **page_context(request, lang, viewer),
        "num": lambda value: format_number(value, lang),
        "pct": lambda value: format_percent(value, lang),
        # The equipment dots: "on" (within the viewer's scope), "off" (anonymous: a call to
        # sign in instead) or "forbidden" (an account that does not see the registry).
        "dots": "on" if viewer.sees_equipment else ("forbidden" if viewer.signed_in else "off"),
        "map_login_href": login_href("/"),
        "total": total,
        "attention": sum(by_status.get(s, 0) for s in ATTENTION_STATUSES),
        "population": sum(c.population for c in communes),
        "kinds": kinds,
        "statuses": statuses,
        "status_bar": bar,
        "communes": commune_rows,
        "default_kind": default_kind,
        "api": api,
        "script_messages": script_messages(lang, SCRIPT_MESSAGE_PREFIXES),
        "page_size": min(MAP_PAGE_SIZE, settings.page_size_max),
        "max_points": MAP_MAX_POINTS,
    }


@router.get(
    "/",
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def home(
    request: Request,
    lang: str | None = Query(default=None, description="en or fr; remembered in a cookie."),
) -> Response:
    language = page_language(request, lang)
    if wants_command_centre(principal_of(request)):
        # The people who run the city land on their screen; everyone else on the public page.
        return command_centre(request, language, lang)
    context = _home_context(request, language)
    response = templates.TemplateResponse(request, "home.html", context)
    remember_language(response, lang, language)
    if context["viewer"].signed_in:
        # A page with a person's name and CSRF token: never kept by a shared cache.
        response.headers["Cache-Control"] = "private, no-store"
    return response


class RevalidatedStaticFiles(StaticFiles):
    """The pages' files at their plain URLs (styles, icons, vendored libraries with ``?v=``),
    which browsers check again before each use (a cheap 304 while unchanged), so nothing kept
    from before an upgrade is used after it. The pages' modules come from ``MODULES_URL``."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


class ReleaseStaticFiles(StaticFiles):
    """The same files under ``MODULES_URL``, whose path changes with every release: kept by
    browsers for a year without asking again."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install_pages(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(signin_router)
    app.include_router(report_router)
    app.include_router(order_router)
    app.include_router(command_router)
    app.mount(MODULES_URL, ReleaseStaticFiles(directory=STATIC_DIR), name="modules")
    app.mount("/static", RevalidatedStaticFiles(directory=STATIC_DIR), name="static")
