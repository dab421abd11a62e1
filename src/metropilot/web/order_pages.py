"""The teams' phone page: ``GET /orders``, the live work orders of the caller's organisation.

For a contractor or a field agent: each live order of their organisation (and only theirs,
as ``GET /api/v1/work-orders`` gives them) with its case's category, priority, commune,
instructions and SLA deadlines in Europe/Paris time, a dot on the offline map of the communes,
and the buttons of the next steps. ``static/orders.js`` draws the map and makes the buttons
call the JSON API (``POST /api/v1/work-orders/{id}/{step}``, photos to ``…/photos``) with the
session's CSRF token from ``<meta name="csrf-token">``, then reloads the list. Operators and
supervisors see every live order, without the buttons (the team acts, the command post checks).

Anonymous browsers (``Accept: text/html``) are sent to the sign-in page and back, scripts get
a 401; other accounts get a 403 page.
No inline script: the orders travel in a JSON data island.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from metropilot.accounts.audience import Audience, NotSignedIn, audience
from metropilot.accounts.model import Role
from metropilot.accounts.policy import ANONYMOUS, Principal, work_order_scope
from metropilot.assets import services as asset_services
from metropilot.cases import services as case_services
from metropilot.cases.model import LIVE_WORK_ORDER_STATES, Case, WorkOrder, WorkOrderState
from metropilot.reports import services as report_services
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import DomainError, NotFound
from metropilot.territory import services as territory_services
from metropilot.web.i18n import CATALOGUE, DEFAULT_LANGUAGE, gettext
from metropilot.web.pages import (
    ANONYMOUS_VIEWER,
    login_href,
    page_context,
    page_language,
    remember_language,
    templates,
    viewer_of,
)
from metropilot.web.report_pages import category_name, format_date

__all__ = ["ORDERS_PATH", "router"]

ORDERS_PATH: Final = "/orders"
API_PREFIX: Final = "/api/v1"
COMMUNES_URL: Final = f"{API_PREFIX}/communes?format=geojson"
MAX_ORDERS: Final = 200  # a team's day; the command post sees the newest 200
NO_STORE: Final = "no-store"
TEAM_ROLES: Final = (Role.CONTRACTOR, Role.FIELD_AGENT)
# The states the team still works on, in the order of the work.
LIVE_STATES: Final = tuple(s for s in WorkOrderState if s in LIVE_WORK_ORDER_STATES)
# The team's next steps from each state (cases.model.WORK_ORDER_TRANSITIONS, team rows).
NEXT_STEPS: Final[Mapping[WorkOrderState, tuple[str, ...]]] = {
    WorkOrderState.DISPATCHED: ("accept", "refuse"),
    WorkOrderState.ACCEPTED: ("en_route", "on_site"),
    WorkOrderState.REOPENED: ("en_route", "on_site"),
    WorkOrderState.EN_ROUTE: ("on_site",),
    WorkOrderState.ON_SITE: ("done",),
}
# Photos of the work are taken on site or once done (cases.services.attach_order_photos).
PHOTO_STATES: Final = frozenset({WorkOrderState.ON_SITE, WorkOrderState.DONE})
SCRIPT_MESSAGE_PREFIXES: Final = ("orders.",)


class OrdersRoute(APIRoute):
    """A page route: anonymous browsers go to the sign-in page, refusals get a readable page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except NotSignedIn as error:
                # A browser goes to the sign-in page; a script gets the plain 401.
                if "text/html" in request.headers.get("accept", ""):
                    return RedirectResponse(login_href(request.url.path), status_code=303)
                return _error_page(request, error)
            except DomainError as error:
                return _error_page(request, error)

        return page_handler


router = APIRouter(route_class=OrdersRoute)


def _error_page(request: Request, error: DomainError) -> Response:
    lang = page_language(request, None)
    if error.http_status == 403 and error.code == "forbidden":
        message = gettext(lang, "orders.forbidden")
    elif f"error.{error.code}" in CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANGUAGE]):
        message = gettext(lang, f"error.{error.code}")
    else:
        message = gettext(lang, "error.generic", code=error.code)
    context = {**page_context(request, lang, ANONYMOUS_VIEWER), "message": message}
    response = templates.TemplateResponse(
        request, "error.html", context, status_code=error.http_status
    )
    response.headers["Cache-Control"] = NO_STORE
    return response


def _principal_of(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else ANONYMOUS


def _place(uow: Any, case: Case) -> tuple[float, float] | None:
    """Where the work is: the equipment's position, else the first citizen report's."""
    if case.asset_id is not None:
        with contextlib.suppress(NotFound):
            asset = asset_services.get_asset(uow, case.asset_id)
            return asset.lon, asset.lat
    for report_id in case.report_ids:
        with contextlib.suppress(NotFound):
            report = report_services.get_report(uow, report_id)
            return report.lon, report.lat
    return None


def _order_view(
    order: WorkOrder,
    case: Case | None,
    place: tuple[float, float] | None,
    deadlines: tuple[datetime | None, datetime | None],
    *,
    lang: str,
    categories: Mapping[str, str],
    communes: Mapping[str, str],
    team: bool,
    now: datetime,
) -> dict[str, Any]:
    response_due, resolution_due = deadlines
    # Each deadline counts until its step is reached: acceptance, then the work done.
    response_open = order.state in (WorkOrderState.CREATED, WorkOrderState.DISPATCHED)
    resolution_open = order.state is not WorkOrderState.DONE
    code = case.category if case else ""
    return {
        "id": order.id,
        "case_id": order.case_id,
        "state": order.state.value,
        "state_label": gettext(lang, f"orders.state.{order.state.value}"),
        # A citizen category by its name; an alarm rule's code made readable.
        "category": categories.get(code) or code.replace("-", " ").capitalize(),
        "priority": case.priority.value if case else "",
        "commune": communes.get(case.commune_insee or "", "") if case else "",
        "title": case.title if case else "",
        "instructions": order.instructions,
        "note": order.note,
        "reason": order.reason,
        "photos": len(order.photos),
        "dispatched": format_date(order.dispatched_at, lang),
        "response_due": format_date(response_due, lang) if response_open else "",
        "response_late": bool(response_open and response_due and response_due < now),
        "resolution_due": format_date(resolution_due, lang) if resolution_open else "",
        "resolution_late": bool(resolution_open and resolution_due and resolution_due < now),
        "lon": place[0] if place else None,
        "lat": place[1] if place else None,
        "steps": list(NEXT_STEPS.get(order.state, ())) if team else [],
        "photo_upload": team and order.state in PHOTO_STATES,
    }


def _orders(uow: Any, principal: Principal, lang: str, team: bool) -> list[dict[str, Any]]:
    found = case_services.query_work_orders(
        uow, states=LIVE_STATES, scope=work_order_scope(principal), limit=MAX_ORDERS
    )
    categories = {
        c.code: category_name(c, lang)
        for c in report_services.list_categories(uow, include_inactive=True)
    }
    communes = {c.insee: c.name for c in territory_services.list_communes(uow)}
    now = utcnow()
    views = []
    for order, response_due, resolution_due in found:
        case: Case | None = None
        with contextlib.suppress(NotFound):
            case = case_services.get_case(uow, order.case_id)
        views.append(
            _order_view(
                order,
                case,
                _place(uow, case) if case else None,
                (response_due, resolution_due),
                lang=lang,
                categories=categories,
                communes=communes,
                team=team,
                now=now,
            )
        )
    return views


def _script_messages(lang: str) -> dict[str, str]:
    return {
        key: message
        for key, message in CATALOGUE[lang].items()
        if key.startswith(SCRIPT_MESSAGE_PREFIXES)
    }


@router.get(
    ORDERS_PATH,
    dependencies=[
        audience(Audience.CONTRACTOR, Audience.FIELD_AGENT, Audience.OPERATOR, Audience.SUPERVISOR)
    ],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def orders_page(
    request: Request,
    lang: str | None = Query(default=None, description="en or fr; remembered in a cookie."),
) -> Response:
    language = page_language(request, lang)
    principal = _principal_of(request)
    team = principal.role in TEAM_ROLES
    with request.app.state.uow_factory() as uow:
        viewer = viewer_of(request, uow, language)
        orders = _orders(uow, principal, language, team)
    config = {
        "communesUrl": COMMUNES_URL,
        "apiBase": f"{API_PREFIX}/work-orders",
        "orders": [
            {"id": o["id"], "lon": o["lon"], "lat": o["lat"], "state": o["state"]}
            for o in orders
            if o["lon"] is not None
        ],
        "messages": _script_messages(language),
    }
    context = {
        **page_context(request, language, viewer),
        "orders": orders,
        "team": team,
        "config": config,
        "orders_path": ORDERS_PATH,
    }
    response = templates.TemplateResponse(request, "orders.html", context)
    remember_language(response, lang, language)
    # A person's orders and the session's CSRF token: never kept by a cache.
    response.headers["Cache-Control"] = NO_STORE
    return response
