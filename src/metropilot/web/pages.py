"""Pages for people: the home page at ``/``, the front door of the demo.

The page is rendered on the server with the figures of the registry, then ``static/home.js``
draws the map from the API: communes as GeoJSON and their counts (public), and the equipment of
one kind as dots, which only signed-in people see (each within their own scope). Anonymous
visitors get a call to sign in instead of the dots.
No inline script and no external resource: the page works offline and under a strict CSP.

The helpers every page shares (language, the header's account block, the session's CSRF token)
live here too; ``web.signin`` builds the sign-in pages on them.
"""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

import metropilot
from metropilot.accounts import repository as accounts_repository
from metropilot.accounts import services as accounts_services
from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.auth import SESSION_COOKIE
from metropilot.accounts.policy import ANONYMOUS, Principal, asset_scope
from metropilot.assets import services as asset_services
from metropilot.assets.model import AssetKind, AssetStatus
from metropilot.assets.services import AssetFilter
from metropilot.db.uow import UnitOfWork
from metropilot.settings import Settings
from metropilot.shared.actors import ActorKind
from metropilot.shared.errors import Forbidden, NotFound
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

__all__ = [
    "ANONYMOUS_VIEWER",
    "LOGIN_PATH",
    "LOGOUT_PATH",
    "Viewer",
    "install_pages",
    "login_href",
    "page_context",
    "page_language",
    "remember_language",
    "router",
    "templates",
    "viewer_of",
]

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
API_PREFIX = "/api/v1"  # the same prefix as web.app, which imports this module
DEFAULT_KIND = AssetKind.STREETLIGHT.value
MAP_PAGE_SIZE = 5_000  # assets per request when the map loads its dots
MAP_MAX_POINTS = 40_000  # enough for every street light of the reference metropolis
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
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
class Viewer:
    """Who is looking at a page, as the header and the map need it."""

    signed_in: bool = False
    name: str = ""  # display name, or the username
    username: str = ""
    role: str = ""  # translated role
    organisation: str = ""  # organisation name
    csrf_token: str | None = None  # the browser session's token, for forms and scripts
    sees_equipment: bool = False  # may read the equipment registry (within a scope)
    whole_city: bool = False  # ... and that scope is the whole metropolis


ANONYMOUS_VIEWER = Viewer()


def page_language(request: Request, lang: str | None) -> str:
    """``?lang=`` first, then the language cookie, then ``Accept-Language``."""
    return pick_language(
        lang, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )


def remember_language(response: Response, lang: str | None, language: str) -> None:
    """After the language switch (``?lang=``), keep the choice for the next visits."""
    if lang is not None and lang.strip().lower() in LANGUAGES:
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


def _principal_of(request: Request) -> Principal:
    """The caller, as the route's audience dependency resolved it (it always runs first)."""
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else ANONYMOUS


def _session_csrf(request: Request, uow: UnitOfWork) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    settings: Settings = request.app.state.settings
    resolved = accounts_services.resolve_session(
        uow,
        cookie,
        kind="session",
        idle=timedelta(minutes=settings.session_idle_minutes),
        last_use=request.app.state.platform.last_use,
    )
    return resolved.csrf_token if resolved is not None else None


def viewer_of(request: Request, uow: UnitOfWork, lang: str) -> Viewer:
    """The signed-in person (name, role, organisation, CSRF token), or the anonymous viewer."""
    principal = _principal_of(request)
    if not principal.authenticated:
        return ANONYMOUS_VIEWER
    name = principal.name
    if principal.kind is ActorKind.USER and principal.id is not None:
        stored = accounts_repository.get_user(uow.connection, user_id=principal.id)
        if stored is not None and stored.user.display_name.strip():
            name = stored.user.display_name.strip()
    organisation = principal.organisation or ""
    if principal.organisation:
        with contextlib.suppress(NotFound):  # a code without its organisation: show the code
            organisation = accounts_services.get_organisation(uow, principal.organisation).name
    try:
        scope = asset_scope(principal)
    except Forbidden:
        sees, whole = False, False
    else:
        sees, whole = True, scope.unrestricted
    return Viewer(
        signed_in=True,
        name=name,
        username=principal.name,
        role=_label(lang, "role", principal.role.value) if principal.role else "",
        organisation=organisation,
        csrf_token=_session_csrf(request, uow) if principal.via_cookie else None,
        sees_equipment=sees,
        whole_city=whole,
    )


def login_href(next_path: str) -> str:
    """The sign-in page, coming back to ``next_path`` afterwards."""
    return f"{LOGIN_PATH}?next={quote(next_path, safe='/')}"


def page_context(
    request: Request,
    lang: str,
    viewer: Viewer,
    *,
    show_sign_in: bool = True,
    query: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """What ``base.html`` needs: language, translations, the header's account block.

    ``query``: the parameters the language switch keeps (default: those of the request).
    """
    settings: Settings = request.app.state.settings
    if query is None:
        query = list(request.query_params.multi_items())
    others = [(k, v) for k, v in query if k != "lang"]

    def lang_href(code: str) -> str:
        return "?" + urlencode([("lang", code), *others])

    return {
        "lang": lang,
        "languages": LANGUAGES,
        "lang_href": lang_href,
        "t": translator(lang),
        "metropolis": settings.metropolis_name,
        "version": metropilot.__version__,
        "viewer": viewer,
        "csrf_token": viewer.csrf_token,
        "login_href": login_href(request.url.path) if show_sign_in else None,
        "logout_path": LOGOUT_PATH,
    }


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
        viewer = viewer_of(request, uow, lang)

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
) -> Response:
    language = page_language(request, lang)
    # Imported here: the command centre builds on the helpers of this module.
    from metropilot.web.command_pages import command_centre, wants_command_centre

    if wants_command_centre(_principal_of(request)):
        # The people who run the city land on their screen; everyone else on the public page.
        return command_centre(request, language, lang)
    context = _home_context(request, language)
    response = templates.TemplateResponse(request, "home.html", context)
    remember_language(response, lang, language)
    if context["viewer"].signed_in:
        # A page with a person's name and CSRF token: never kept by a shared cache.
        response.headers["Cache-Control"] = "private, no-store"
    return response


def install_pages(app: FastAPI) -> None:
    # Imported here: the sign-in pages build on the helpers of this module.
    from metropilot.web.command_pages import router as command_router
    from metropilot.web.order_pages import router as order_router
    from metropilot.web.report_pages import router as report_router
    from metropilot.web.signin import router as signin_router

    app.include_router(router)
    app.include_router(signin_router)
    app.include_router(report_router)
    app.include_router(order_router)
    app.include_router(command_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
