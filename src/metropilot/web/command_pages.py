"""The operator's screen, the command centre: ``GET /`` for the people who run the city.

Signed-in operators, supervisors, administrators, commune agents and contractors land here
(``pages.home`` hands them over; anonymous visitors, citizens, field agents and devices keep
the public home page). The page is a shell rendered on the server: the header's filters, the
panels, the asset panel, and a JSON data attribute (``#cc-config``) with what ``static/command.js``
needs: the caller's role and scope, which API calls it may make (so that the page never asks
for something the API would refuse), the communes and kinds it may filter by, the messages
(``cc.*``, kinds, statuses, work-order states) in the page's language, and the tile server.

Everything else comes from the JSON API with the session cookie, the CSRF token of
``<meta name="csrf-token">`` on changes, and the live stream (``/api/v1/stream``); see
``docs/command-centre.md``. No inline script or style: the page works under the platform's
Content-Security-Policy, widened only by the tile server's origin when one is configured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.model import Role
from metropilot.accounts.policy import Principal, asset_scope
from metropilot.api.deps import UowDep
from metropilot.assets.model import AssetKind, AssetStatus
from metropilot.assets.queries import AssetReference, search_by_reference
from metropilot.shared.actors import ActorKind
from metropilot.territory import services as territory_services
from metropilot.web.i18n import script_messages
from metropilot.web.rendering import (
    API_PREFIX,
    label,
    page_context,
    principal_of,
    remember_language,
    sort_key,
    templates,
    viewer_of,
)
from metropilot.web.security import CONTENT_SECURITY_POLICY

__all__ = [
    "COMMAND_ROLES",
    "SCRIPT_MESSAGE_PREFIXES",
    "SEARCH_PATH",
    "capabilities",
    "command_centre",
    "content_security_policy",
    "router",
    "wants_command_centre",
]

API: Final = API_PREFIX
# The people who watch the city on this screen; everyone else keeps the public home page.
COMMAND_ROLES: Final = frozenset(
    {Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.COMMUNE_AGENT, Role.CONTRACTOR}
)
WHOLE_CITY: Final = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR})
# The messages static/command.js needs, in the page's language.
SCRIPT_MESSAGE_PREFIXES: Final = ("cc.", "kind.", "status.", "orders.state.", "role.")
DEFAULT_LIST_KIND: Final = AssetKind.STREETLIGHT.value
TIMEZONE: Final = "Europe/Paris"
DEFAULT_TILE_ATTRIBUTION: Final = "Map tiles: see the tile server's terms"
NO_STORE: Final = "private, no-store"

SEARCH_PATH: Final = "/command-centre/search.json"
SEARCH_LIMIT: Final = 12
COMMAND_AUDIENCES: Final = (
    Audience.ADMIN,
    Audience.SUPERVISOR,
    Audience.OPERATOR,
    Audience.COMMUNE_AGENT,
    Audience.CONTRACTOR,
)

# The page itself is ``GET /`` (in ``pages``); this router holds what the page needs besides
# the JSON API: the search by reference. ``pages.install_pages`` registers it.
router = APIRouter()


class SearchHit(BaseModel):
    """One asset of the search box: the JSON keys the page's script reads."""

    id: int
    ref: str
    kind: str
    status: str
    commune: str | None
    lon: float
    lat: float

    @classmethod
    def of(cls, reference: AssetReference) -> SearchHit:
        return cls(
            id=reference.id,
            ref=reference.ref,
            kind=reference.kind,
            status=reference.status,
            commune=reference.commune,
            lon=reference.lon,
            lat=reference.lat,
        )


class SearchAnswer(BaseModel):
    items: list[SearchHit]


@router.get(
    SEARCH_PATH,
    dependencies=[audience(*COMMAND_AUDIENCES)],
    response_model=SearchAnswer,
    include_in_schema=False,
)
def search_assets(
    principal: CurrentPrincipal,
    uow: UowDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="A reference or its start")],
) -> SearchAnswer:
    """The assets whose reference starts with ``q`` (any case), exact match first, within the
    caller's scope: the command centre's search box (``/assets`` filters by place, not name)."""
    if not q.strip():
        return SearchAnswer(items=[])
    found = search_by_reference(uow.connection, q, asset_scope(principal), limit=SEARCH_LIMIT)
    return SearchAnswer(items=[SearchHit.of(reference) for reference in found])


def wants_command_centre(principal: Principal) -> bool:
    """Whether ``/`` shows this caller the command centre (people of the command roles)."""
    return principal.kind is ActorKind.USER and principal.role in COMMAND_ROLES


def capabilities(role: Role | None) -> dict[str, bool]:
    """What the page may ask of the API for this role: the audiences of each route, so that a
    panel the role may not read is left out instead of failing with a 403."""
    staff = role in WHOLE_CITY
    command = role in (Role.OPERATOR, Role.SUPERVISOR)
    return {
        "alarms": role in COMMAND_ROLES,
        "acknowledge": role
        in (Role.OPERATOR, Role.SUPERVISOR, Role.COMMUNE_AGENT, Role.CONTRACTOR),
        "assign": role in (Role.OPERATOR, Role.SUPERVISOR, Role.COMMUNE_AGENT),
        "comment": role in (Role.OPERATOR, Role.SUPERVISOR, Role.COMMUNE_AGENT, Role.CONTRACTOR),
        "clear": command,
        "reports": staff or role is Role.COMMUNE_AGENT,
        "triageReports": command or role is Role.COMMUNE_AGENT,
        "reportCase": command,
        "cases": role in COMMAND_ROLES,
        "dispatch": command,
        "workOrders": staff or role is Role.CONTRACTOR,
        "kpis": role in COMMAND_ROLES,
        "fleet": role in COMMAND_ROLES,
        "stream": role in COMMAND_ROLES,
    }


def _label(lang: str, key: str) -> str:
    """The translated name of a kind or a status; its raw value for one the catalogue lacks."""
    return label(lang, key, key.rsplit(".", 1)[-1])


def _tile_origin(url: str) -> str | None:
    """The origin a tile URL template loads from, for the CSP (``{s}`` becomes ``*``)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = re.sub(r"\{[a-z]+\}", "*", parts.netloc)
    if not re.fullmatch(r"[A-Za-z0-9.*:\[\]-]+", host):
        return None
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str) -> str | None:
    """The platform's policy with the tile server allowed for images; None without one."""
    origin = _tile_origin(tile_url) if tile_url else None
    if origin is None:
        return None
    return CONTENT_SECURITY_POLICY.replace("img-src 'self'", f"img-src 'self' {origin}", 1)


def _settings_text(request: Request, name: str) -> str:
    value = getattr(request.app.state.settings, name, "")
    return value.strip() if isinstance(value, str) else ""


def command_centre(request: Request, lang: str, lang_param: str | None) -> Response:
    """The command centre for the signed-in caller (``wants_command_centre`` must hold)."""
    principal = principal_of(request)
    role = principal.role
    with request.app.state.uow_factory() as uow:
        viewer = viewer_of(request, uow, lang)
        communes = territory_services.list_communes(uow)
    scoped_communes = (
        set(principal.communes) if role is Role.COMMUNE_AGENT else None
    )  # contractors see their equipment wherever it stands: every commune
    commune_rows = sorted(
        (
            {"insee": c.insee, "name": c.name}
            for c in communes
            if scoped_communes is None or c.insee in scoped_communes
        ),
        key=lambda row: (sort_key(row["name"]), row["insee"]),
    )
    kinds = [{"key": k.value, "label": _label(lang, f"kind.{k.value}")} for k in AssetKind]
    statuses = [{"key": s.value, "label": _label(lang, f"status.{s.value}")} for s in AssetStatus]
    can = capabilities(role)
    tile_url = _settings_text(request, "map_tile_url")
    tile_attribution = _settings_text(request, "map_tile_attribution")
    if tile_url and _tile_origin(tile_url) is None:
        tile_url = ""  # not an http(s) template: the offline basemap
    api: Mapping[str, str] = {
        "communes": f"{API}/communes?format=geojson",
        "streets": f"{API}/streets",
        "mapAssets": f"{API}/map/assets",
        "assets": f"{API}/assets",
        "summary": f"{API}/assets/summary",
        "kinds": f"{API}/assets/kinds",
        "alarms": f"{API}/alarms",
        "reports": f"{API}/reports",
        "cases": f"{API}/cases",
        "workOrders": f"{API}/work-orders",
        "kpis": f"{API}/kpis",
        "stream": f"{API}/stream",
        "search": SEARCH_PATH,
    }
    config: dict[str, Any] = {
        "lang": lang,
        "timeZone": TIMEZONE,
        "user": principal.name,
        "role": role.value if role else "",
        "scoped": role not in WHOLE_CITY,
        "communes": commune_rows,
        "kinds": kinds,
        "statuses": statuses,
        "can": can,
        "api": dict(api),
        "tileUrl": tile_url,
        "tileAttribution": (tile_attribution or DEFAULT_TILE_ATTRIBUTION) if tile_url else "",
        "messages": script_messages(lang, SCRIPT_MESSAGE_PREFIXES),
    }
    context = {
        **page_context(request, lang, viewer),
        "config": config,
        "can": can,
        "cc_communes": commune_rows,
        "cc_kinds": kinds,
        "cc_statuses": statuses,
        "list_kind": DEFAULT_LIST_KIND,
        "api": api,
        "tile_url": tile_url,
        "scoped": config["scoped"],
        "role_key": config["role"],
    }
    response = templates.TemplateResponse(request, "command.html", context)
    remember_language(response, lang_param, lang)
    # A person's screen and the session's CSRF token: never kept by a cache.
    response.headers["Cache-Control"] = NO_STORE
    policy = content_security_policy(tile_url)
    if policy is not None:
        response.headers["Content-Security-Policy"] = policy
    return response
