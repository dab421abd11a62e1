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
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.model import Role
from metropilot.accounts.policy import Principal, work_order_scope
from metropilot.assets import services as asset_services
from metropilot.cases import services as case_services
from metropilot.cases.model import LIVE_WORK_ORDER_STATES, Case, WorkOrder, WorkOrderState
from metropilot.reports import services as report_services
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import NotFound
from metropilot.territory import services as territory_services
from metropilot.web.formatting import format_date
from metropilot.web.i18n import N_, gettext, script_messages
from metropilot.web.rendering import (
    API_PREFIX,
    NO_STORE,
    ErrorWording,
    PageRoute,
    error_wording,
    page_context,
    page_language,
    principal_of,
    remember_language,
    templates,
    viewer_of,
)
from metropilot.web.report_common import category_name

__all__ = ["ORDERS_PATH", "router"]

ORDERS_PATH: Final = "/orders"
COMMUNES_URL: Final = f"{API_PREFIX}/communes?format=geojson"
MAX_ORDERS: Final = 200  # a team's day; the command post sees the newest 200
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


# Anonymous browsers go to the sign-in page; other accounts are told who the page is for.
router = APIRouter(
    route_class=PageRoute,
    dependencies=[error_wording(ErrorWording(forbidden=N_("orders.forbidden")))],
)


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
    principal = principal_of(request)
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
        "messages": script_messages(language, SCRIPT_MESSAGE_PREFIXES),
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
