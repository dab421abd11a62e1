"""Pages for people: the home page at ``/``, the front door of the demo.

The page is rendered on the server with the figures of the registry, then ``static/home.js``
draws the map from the public API (communes as GeoJSON, the equipment of one kind as dots).
No inline script and no external resource: the page works offline and under a strict CSP.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

import metropilot
from metropilot.api.audience import Audience, audience
from metropilot.assets import services as asset_services
from metropilot.assets.model import AssetKind, AssetStatus
from metropilot.assets.services import AssetFilter
from metropilot.territory import services as territory_services
from metropilot.web.i18n import (
    CATALOGUE,
    LANGUAGE_COOKIE,
    LANGUAGES,
    format_number,
    format_percent,
    gettext,
    pick_language,
    translator,
)

__all__ = ["install_pages", "router"]

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
API_PREFIX = "/api/v1"  # the same prefix as web.app, which imports this module
DEFAULT_KIND = AssetKind.STREETLIGHT.value
MAP_PAGE_SIZE = 5_000  # assets per request when the map loads its dots
MAP_MAX_POINTS = 40_000  # enough for every street light of the reference metropolis
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Statuses that mean someone has to act.
ATTENTION_STATUSES = (AssetStatus.FAULT.value, AssetStatus.OFFLINE.value)
# The messages static/home.js needs, passed as JSON in a data attribute (no inline script).
SCRIPT_MESSAGE_PREFIXES = ("map.", "kind.", "status.")

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)

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


def _sort_key(name: str) -> str:
    """Alphabetical order that ignores accents and case: Échirey sits among the E."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _label(lang: str, prefix: str, key: str) -> str:
    """The translated name of a kind or a status; the raw value for one the catalogue lacks."""
    message_key = f"{prefix}.{key}"
    label = gettext(lang, message_key)
    return key if label == message_key else label


def _rows(
    counts: dict[str, int], known: list[str], prefix: str, lang: str, total: int
) -> list[Row]:
    keys = known + sorted(k for k in counts if k not in known)
    return [
        Row(
            key=key,
            label=_label(lang, prefix, key),
            count=counts.get(key, 0),
            share=100.0 * counts.get(key, 0) / total if total else 0.0,
        )
        for key in keys
    ]


def _script_messages(lang: str) -> dict[str, str]:
    return {
        key: message
        for key, message in CATALOGUE[lang].items()
        if key.startswith(SCRIPT_MESSAGE_PREFIXES)
    }


def _home_context(request: Request, lang: str) -> dict[str, Any]:
    with request.app.state.uow_factory() as uow:
        summary = asset_services.summary(uow, AssetFilter())
        communes = territory_services.list_communes(uow)

    by_kind = summary.get("by_kind", {})
    by_status = summary.get("by_status", {})
    by_commune = summary.get("by_commune", {})
    total = sum(by_kind.values())
    kinds = _rows(by_kind, [k.value for k in AssetKind], "kind", lang, total)
    statuses = _rows(by_status, [s.value for s in AssetStatus], "status", lang, total)
    commune_rows = sorted(
        (CommuneRow(c.name, c.insee, c.population, by_commune.get(c.insee, 0)) for c in communes),
        key=lambda row: (_sort_key(row.name), row.insee),
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
        "lang": lang,
        "languages": LANGUAGES,
        "t": translator(lang),
        "num": lambda value: format_number(value, lang),
        "pct": lambda value: format_percent(value, lang),
        "metropolis": settings.metropolis_name,
        "version": metropilot.__version__,
        "total": total,
        "attention": sum(by_status.get(s, 0) for s in ATTENTION_STATUSES),
        "population": sum(c.population for c in communes),
        "kinds": kinds,
        "statuses": statuses,
        "status_bar": bar,
        "communes": commune_rows,
        "default_kind": default_kind,
        "api": api,
        "script_messages": _script_messages(lang),
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
) -> HTMLResponse:
    language = pick_language(
        lang, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    response = templates.TemplateResponse(request, "home.html", _home_context(request, language))
    if lang is not None and lang.strip().lower() in LANGUAGES:
        # The language switch: remember the choice for the next visits.
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            path="/",
            samesite="lax",
            httponly=True,
        )
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


def install_pages(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
