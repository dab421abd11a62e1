"""The performance contract's reports and the public transparency pages.

Staff reports (operators, supervisors, admins; a contractor for the lots its organisation holds,
any other lot is a 404 to it):

``GET /contracts/reports/{lot}/{period}``
    One lot over one period (``2026``, ``2026-03``, ``2026-Q2``): KPIs against their targets,
    on-time rates by priority and commune, the mean time to repair, the penalty statement with
    every contributing item, and the lighting energy for the lighting lot. Charts are inline SVG
    drawn on the server, each followed by the table of its figures.
``GET /contracts/reports/{lot}/{period}.csv`` and ``….pdf``
    The same report as a CSV table (headers in the page's language) and as a PDF document.

Anonymous browsers (``Accept: text/html``) are sent to the sign-in page and back, scripts get a
401; other accounts get a 403 page. Reports are never cached (``no-store``).

Public, no sign-in (``Cache-Control: public, max-age=300``):

``GET /transparency`` and ``GET /transparency/{insee}``
    The metropolis (or one commune) for a year (``?year=``, default the current year in Paris):
    each lot's KPIs, the lighting energy and, for the metropolis, the penalties applied.
``GET /open-data/performance/{year}.json|.csv`` and ``…/{year}/{insee}.json|.csv``
    The same figures as open data at stable addresses: the JSON is the services' dictionary as
    is, the CSV is ``documents.transparency_csv`` (stable column codes).

The public figures of a year and commune are computed once per five minutes and shared by every
visitor, and only years from 30 years back to next year exist: anonymous callers cannot make the
server compute a year of lighting energy at will.

Nothing here adds personal data: the pages show only what ``contracts.services.transparency``
and ``period_report`` return, and the charts and documents write only the fields they name.
No script at all: the charts are SVG, the period form is a plain GET form.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from metropilot.accounts import services as accounts_services
from metropilot.accounts.audience import STAFF, Audience, audience
from metropilot.accounts.model import Role
from metropilot.api.responses import JSONResponseFast
from metropilot.contracts import documents
from metropilot.contracts import services as contract_services
from metropilot.contracts.model import CONTRACT_ZONE, LotCode, Period, parse_period
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import DomainError, InvalidInput, NotFound
from metropilot.web.formatting import format_date
from metropilot.web.i18n import N_, gettext
from metropilot.web.rendering import (
    NO_STORE,
    ErrorWording,
    PageRoute,
    error_wording,
    label,
    page_context,
    page_language,
    principal_of,
    remember_language,
    sort_key,
    templates,
    viewer_of,
)

__all__ = [
    "OPEN_DATA_PREFIX",
    "REPORTS_PREFIX",
    "TRANSPARENCY_PATH",
    "router",
]

REPORTS_PREFIX: Final = "/contracts/reports"
TRANSPARENCY_PATH: Final = "/transparency"
OPEN_DATA_PREFIX: Final = "/open-data/performance"
PUBLIC_CACHE: Final = "public, max-age=300"
PUBLIC_TTL_S: Final = 300.0  # as long as browsers and proxies keep them
PUBLIC_CACHE_ENTRIES: Final = 256  # a few years of the metropolis and of every commune
PUBLIC_YEARS_BACK: Final = 30
CACHE_ATTRIBUTE: Final = "contract_public_cache"
REPORT_AUDIENCE: Final = (*STAFF, Audience.CONTRACTOR)
YEAR_PATTERN: Final = re.compile(r"^\d{4}$")
INSEE_PATTERN: Final = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
LOT_CODES: Final = tuple(code.value for code in LotCode)


# The pages and downloads answer errors with a page (anonymous browsers go to the sign-in page);
# open data with the API's JSON errors.
pages = APIRouter(
    route_class=PageRoute,
    dependencies=[
        error_wording(
            ErrorWording(
                forbidden=N_("contract.error.forbidden"),
                not_found=N_("contract.error.not_found"),
                invalid=N_("contract.error.invalid"),
            )
        )
    ],
)
open_data = APIRouter()
router = APIRouter()


# ---- Reading the request ---------------------------------------------------------------------


def _period(text: str) -> Period:
    return parse_period(text)  # InvalidInput names what is wrong


def _lot(text: str) -> str:
    if text not in LOT_CODES:
        raise NotFound(f"no lot {text!r}; the lots are {', '.join(LOT_CODES)}", code="unknown_lot")
    return text


def _year(text: str | None) -> Period:
    """``?year=`` (the current year in Paris if absent): public figures exist from
    ``PUBLIC_YEARS_BACK`` years ago to next year, which bounds what anonymous callers can
    make the server compute."""
    this_year = utcnow().astimezone(CONTRACT_ZONE).year
    if text is None or text == "":
        return Period.whole_year(this_year)
    if not YEAR_PATTERN.match(text):
        raise InvalidInput(f"{text!r} is not a year such as 2026", code="invalid_year")
    year = int(text)
    if not this_year - PUBLIC_YEARS_BACK <= year <= this_year + 1:
        raise NotFound(
            f"no public figures for {year}: the years are {this_year - PUBLIC_YEARS_BACK} to "
            f"{this_year + 1}",
            code="unknown_year",
        )
    return Period.whole_year(year)


def _insee(text: str) -> str:
    if not INSEE_PATTERN.match(text):
        raise NotFound(f"no commune {text!r}", code="unknown_commune")
    return text


def _previous(period: Period) -> Period | None:
    top = {"month": 12, "quarter": 4, "year": 1}[period.kind.value]
    with contextlib.suppress(DomainError):
        if period.index == 1:
            return Period(period.kind, period.year - 1, top)
        return Period(period.kind, period.year, period.index - 1)
    return None


def _next(period: Period) -> Period | None:
    with contextlib.suppress(DomainError):
        return period.next()
    return None


# ---- Formatting for the templates ------------------------------------------------------------


def _when(value: Any, lang: str, *, with_time: bool = True) -> str:
    """An ISO instant (or date) of the services, in Paris time and the page's language."""
    if not value:
        return ""
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if instant.tzinfo is None:  # a date: midnight in Paris
        instant = instant.replace(tzinfo=CONTRACT_ZONE)
    return format_date(instant, lang, with_time=with_time)


def _last_day(value: Any, lang: str) -> str:
    """The last day before an exclusive end: a period's ``to`` instant, a contract's ``end``
    date (the first day after its term)."""
    if not value:
        return ""
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=CONTRACT_ZONE)
    return format_date(instant - timedelta(seconds=1), lang, with_time=False)


def _positive(amount: Any) -> bool:
    """Whether an amount of the services ("300.00") is above zero."""
    try:
        return Decimal(str(amount)) > 0
    except (InvalidOperation, ValueError):
        return False


def _lot_name(lang: str, code: str) -> str:
    return label(lang, f"contract.lot.{code}", code)


def _formatters(lang: str) -> dict[str, Any]:
    return {
        "num": lambda value, decimals=1: documents.number_text(value, lang, decimals=decimals),
        "money": lambda value: documents.money_text(value, lang),
        "measure": lambda value, unit: documents.measure_text(value, unit, lang),
        "rate": lambda value: documents.rate_text(value, lang),
        "when": lambda value, with_time=True: _when(value, lang, with_time=with_time),
        "last_day": lambda value: _last_day(value, lang),
        "lot_name": lambda code: _lot_name(lang, code),
        "status_of": _status_of,
    }


def _chart(svg: str) -> Markup:
    """A chart of ``contracts.documents``, as markup: it XML-escapes every text it writes."""
    return Markup(svg)  # noqa: S704 - built from escaped texts only


def _status_of(kpi: Mapping[str, Any]) -> str:
    if kpi.get("met") is None or kpi.get("value") is None:
        return "unmeasured"
    return "met" if kpi.get("met") else "missed"


def _organisation_name(uow: Any, code: str) -> str:
    with contextlib.suppress(NotFound):
        return str(accounts_services.get_organisation(uow, code).name)
    return code


# ---- Staff reports ---------------------------------------------------------------------------


def _report(request: Request, lot: str, period: str) -> tuple[contract_services.PeriodReport, str]:
    """The report of one lot and period, if the caller may read it; and the contractor's name.

    A contractor reads only the lots its organisation holds: another lot is a 404, as if it
    did not exist."""
    wanted_lot, wanted = _lot(lot), _period(period)
    principal = principal_of(request)
    with request.app.state.uow_factory() as uow:
        report = contract_services.period_report(uow, wanted, wanted_lot)
        if principal.role is Role.CONTRACTOR and report.get("contractor") != principal.organisation:
            raise NotFound(f"no report for lot {wanted_lot!r}", code="not_found")
        contractor = _organisation_name(uow, str(report.get("contractor") or ""))
    return report, contractor


def _download_name(report: Mapping[str, Any], suffix: str) -> str:
    code = re.sub(r"[^A-Za-z0-9_.-]+", "-", str((report.get("contract") or {}).get("code", "")))
    return f"performance-{code}-{report.get('lot')}-{report.get('period')}.{suffix}"


def _attachment(content: str | bytes, media_type: str, filename: str, cache: str) -> Response:
    response = Response(content=content, media_type=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = cache
    return response


@pages.get(
    REPORTS_PREFIX + "/{lot}/{period}.csv",
    dependencies=[audience(*REPORT_AUDIENCE)],
    include_in_schema=False,
)
def report_csv(
    request: Request,
    lot: str,
    period: str,
    lang: str | None = Query(default=None, description="en or fr: the column headers."),
) -> Response:
    language = page_language(request, lang)
    report, _ = _report(request, lot, period)
    return _attachment(
        documents.period_report_csv(report, language),
        "text/csv; charset=utf-8",
        _download_name(report, "csv"),
        NO_STORE,
    )


@pages.get(
    REPORTS_PREFIX + "/{lot}/{period}.pdf",
    dependencies=[audience(*REPORT_AUDIENCE)],
    include_in_schema=False,
)
def report_pdf(
    request: Request,
    lot: str,
    period: str,
    lang: str | None = Query(default=None, description="en or fr."),
) -> Response:
    language = page_language(request, lang)
    report, _ = _report(request, lot, period)
    return _attachment(
        documents.period_report_pdf(report, language),
        "application/pdf",
        _download_name(report, "pdf"),
        NO_STORE,
    )


@pages.get(
    REPORTS_PREFIX + "/{lot}/{period}",
    dependencies=[audience(*REPORT_AUDIENCE)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def report_page(
    request: Request,
    lot: str,
    period: str,
    lang: str | None = Query(default=None, description="en or fr; remembered in a cookie."),
) -> Response:
    language = page_language(request, lang)
    report, contractor = _report(request, lot, period)
    wanted = _period(period)
    base = f"{REPORTS_PREFIX}/{report['lot']}"
    suffix = "?" + urlencode({"lang": language})
    neighbours = {"previous": _previous(wanted), "next": _next(wanted)}
    penalties = report.get("penalties") or {}
    with request.app.state.uow_factory() as uow:
        viewer = viewer_of(request, uow, language)
    context = {
        **page_context(request, language, viewer),
        **_formatters(language),
        "report": report,
        "contractor_name": contractor,
        "lot_label": _lot_name(language, str(report["lot"])),
        "period_to": _last_day(report.get("to"), language),
        "penalties": penalties,
        "penalty_bars": any(_positive(r.get("gross")) for r in penalties.get("rules") or []),
        "energy": report.get("energy"),
        "kpi_chart": _chart(documents.kpi_chart(report.get("kpis") or [], language)),
        "penalties_chart": _chart(documents.penalties_chart(penalties, language)),
        "energy_chart": _chart(documents.energy_chart(report.get("energy"), language)),
        "csv_href": f"{base}/{report['period']}.csv{suffix}",
        "pdf_href": f"{base}/{report['period']}.pdf{suffix}",
        "previous_href": f"{base}/{neighbours['previous'].label}"
        if neighbours["previous"]
        else None,
        "next_href": f"{base}/{neighbours['next'].label}" if neighbours["next"] else None,
        "lots": [(code, _lot_name(language, code)) for code in LOT_CODES],
        "reports_prefix": REPORTS_PREFIX,
    }
    response = templates.TemplateResponse(request, "contract_report.html", context)
    remember_language(response, lang, language)
    response.headers["Cache-Control"] = NO_STORE
    return response


@pages.get(
    REPORTS_PREFIX,
    dependencies=[audience(*REPORT_AUDIENCE)],
    include_in_schema=False,
)
def report_choice(
    request: Request,
    lot: str = Query(default="lighting", description="The lot."),
    period: str = Query(default="", description="2026, 2026-03 or 2026-Q2."),
) -> Response:
    """The period form of the report page: on to the report asked (a GET form, no script)."""
    wanted_lot = _lot(lot.strip())
    wanted = _period(period) if period.strip() else _year(None)
    response = RedirectResponse(f"{REPORTS_PREFIX}/{wanted_lot}/{wanted.label}", status_code=303)
    response.headers["Cache-Control"] = NO_STORE
    return response


# ---- Public transparency ---------------------------------------------------------------------


class _PublicCache:
    """The public figures of each (year, commune), kept ``PUBLIC_TTL_S`` seconds per
    application: anonymous visitors share one computation (a year of lighting energy over the
    whole metropolis takes seconds) instead of each paying for it. Bounded in size."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[
            tuple[str, str | None], tuple[float, contract_services.Transparency]
        ] = OrderedDict()

    def get(self, key: tuple[str, str | None]) -> contract_services.Transparency | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] < time.monotonic():
                return None
            return found[1]

    def put(self, key: tuple[str, str | None], data: contract_services.Transparency) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + PUBLIC_TTL_S, data)
            self._entries.move_to_end(key)
            while len(self._entries) > PUBLIC_CACHE_ENTRIES:
                self._entries.popitem(last=False)


_CACHE_LOCK = threading.Lock()


def _public_cache(request: Request) -> _PublicCache:
    state = request.app.state
    with _CACHE_LOCK:
        found = getattr(state, CACHE_ATTRIBUTE, None)
        if not isinstance(found, _PublicCache):
            found = _PublicCache()
            setattr(state, CACHE_ATTRIBUTE, found)
        return found


def _transparency(
    request: Request, period: Period, commune: str | None
) -> contract_services.Transparency:
    cache = _public_cache(request)
    key = (period.label, commune)
    data = cache.get(key)
    if data is None:
        with request.app.state.uow_factory() as uow:
            data = contract_services.transparency(uow, period, commune=commune)
        cache.put(key, data)
    return data


def _open_data_base(period: Period, commune: str | None) -> str:
    return f"{OPEN_DATA_PREFIX}/{period.label}" + (f"/{commune}" if commune else "")


def _transparency_page(
    request: Request, lang: str | None, year: str | None, commune: str | None
) -> Response:
    language = page_language(request, lang)
    period = _year(year)
    data = _transparency(request, period, commune)
    with request.app.state.uow_factory() as uow:
        viewer = viewer_of(request, uow, language)
        contractors = {
            str(lot.get("contractor")): _organisation_name(uow, str(lot.get("contractor")))
            for lot in data.get("lots") or []
        }
    here = TRANSPARENCY_PATH + (f"/{commune}" if commune else "")
    lots = [
        {
            **lot,
            "label": _lot_name(language, str(lot.get("lot"))),
            "contractor_name": contractors.get(str(lot.get("contractor")), ""),
            "chart": _chart(
                documents.kpi_chart(
                    lot.get("kpis") or [], language, chart_id=f"kpi-chart-{lot.get('lot')}"
                )
            ),
        }
        for lot in data.get("lots") or []
    ]
    this_year = utcnow().astimezone(CONTRACT_ZONE).year
    years = [
        y
        for y in (period.year - 1, period.year + 1)
        if this_year - PUBLIC_YEARS_BACK <= y <= this_year + 1
    ]
    commune_entry: Mapping[str, Any] = data.get("commune") or {}
    context = {
        **page_context(request, language, viewer),
        **_formatters(language),
        "data": data,
        "communes": sorted(
            data.get("communes") or [],
            key=lambda c: (sort_key(str(c.get("name"))), c.get("insee")),
        ),
        "lots": lots,
        "energy": data.get("energy"),
        "energy_chart": _chart(documents.energy_chart(data.get("energy"), language)),
        "heading": (
            gettext(
                language,
                "transparency.heading_commune",
                commune=commune_entry.get("name", ""),
                period=period.label,
            )
            if commune
            else gettext(
                language,
                "transparency.heading_metropolis",
                metropolis=request.app.state.settings.metropolis_name,
                period=period.label,
            )
        ),
        "json_href": _open_data_base(period, commune) + ".json",
        "csv_href": _open_data_base(period, commune) + ".csv",
        "previous_year": (
            {"year": years[0], "href": f"{here}?year={years[0]}"}
            if years and years[0] < period.year
            else None
        ),
        "next_year": (
            {"year": years[-1], "href": f"{here}?year={years[-1]}"}
            if years and years[-1] > period.year
            else None
        ),
        "year_query": f"?year={period.year}",
        "transparency_path": TRANSPARENCY_PATH,
        "current_commune": commune,
    }
    response = templates.TemplateResponse(request, "transparency.html", context)
    remember_language(response, lang, language)
    # A signed-in visitor's page carries their name and CSRF token: never in a shared cache.
    response.headers["Cache-Control"] = "private, no-store" if viewer.signed_in else PUBLIC_CACHE
    return response


@pages.get(
    TRANSPARENCY_PATH,
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def transparency_page(
    request: Request,
    lang: str | None = Query(default=None, description="en or fr; remembered in a cookie."),
    year: str | None = Query(default=None, description="The year; the current one if absent."),
) -> Response:
    return _transparency_page(request, lang, year, None)


@pages.get(
    TRANSPARENCY_PATH + "/{insee}",
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def commune_transparency_page(
    request: Request,
    insee: str,
    lang: str | None = Query(default=None, description="en or fr; remembered in a cookie."),
    year: str | None = Query(default=None, description="The year; the current one if absent."),
) -> Response:
    return _transparency_page(request, lang, year, _insee(insee))


def _open_json(request: Request, year: str, commune: str | None) -> Response:
    period = _year(year)
    data = _transparency(request, period, commune)
    response = JSONResponseFast(data)
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


def _open_csv(request: Request, year: str, commune: str | None) -> Response:
    period = _year(year)
    data = _transparency(request, period, commune)
    name = f"performance-{period.label}" + (f"-{commune}" if commune else "") + ".csv"
    return _attachment(
        documents.transparency_csv(data), "text/csv; charset=utf-8", name, PUBLIC_CACHE
    )


@open_data.get(
    OPEN_DATA_PREFIX + "/{year}.json",
    dependencies=[audience(Audience.PUBLIC)],
    tags=["open data"],
    summary="The public performance figures of the metropolis for a year (JSON)",
    response_model=contract_services.Transparency,
)
def open_data_json(request: Request, year: str) -> Response:
    return _open_json(request, year, None)


@open_data.get(
    OPEN_DATA_PREFIX + "/{year}.csv",
    dependencies=[audience(Audience.PUBLIC)],
    tags=["open data"],
    summary="The public performance figures of the metropolis for a year (CSV)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def open_data_csv(request: Request, year: str) -> Response:
    return _open_csv(request, year, None)


@open_data.get(
    OPEN_DATA_PREFIX + "/{year}/{insee}.json",
    dependencies=[audience(Audience.PUBLIC)],
    tags=["open data"],
    summary="The public performance figures of one commune for a year (JSON)",
    response_model=contract_services.Transparency,
)
def open_data_commune_json(request: Request, year: str, insee: str) -> Response:
    return _open_json(request, year, _insee(insee))


@open_data.get(
    OPEN_DATA_PREFIX + "/{year}/{insee}.csv",
    dependencies=[audience(Audience.PUBLIC)],
    tags=["open data"],
    summary="The public performance figures of one commune for a year (CSV)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def open_data_commune_csv(request: Request, year: str, insee: str) -> Response:
    return _open_csv(request, year, _insee(insee))


router.include_router(pages)
router.include_router(open_data)
