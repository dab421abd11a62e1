"""The citizens' pages of the reports: send a report from a phone, follow it, see the open ones.

``GET /report``
    The form: the place (a tap on the map of the communes, "use my location", or coordinates
    typed in), the category chosen by group, that category's questions, a description of at
    most 4,000 characters, up to 5 photos, and optionally a name and an e-mail address. It works
    without JavaScript (the questions of every category are listed, the coordinates are typed);
    ``static/report.js`` draws the map, shows only the chosen category's questions, counts the
    characters and shrinks large photos before they are sent.
``POST /report``
    Checks the form, files the report (or adds the citizen's support to an open one close by of
    the same category, "me too") and stores its photos, in one unit of work: a refused photo
    leaves no report behind. Then redirects to the tracking page; a "me too" shows a
    confirmation instead, since the tracking token of the existing report belongs to its
    reporter. Anonymous citizens have no session, so the form is protected like the sign-in form:
    a double-submit token in a ``report_csrf`` cookie (HttpOnly, SameSite=Strict) repeated in a
    hidden field. A signed-in person's form also carries the session's CSRF token, which the
    audience dependency checks. Submissions are rate-limited per client address.
``GET /report/track/{token}``
    The reporter's view: state, public timeline, description (escaped), answers, photos. The
    token is a capability: the page is never cached nor sent as a referrer.
``GET /report/track/{token}/photos/{name}``
    ``<n>.jpg`` and ``<n>.thumb.jpg`` of that report only (photos are stored without EXIF).
``GET /reports/map`` and ``GET /reports/map.json``
    The open reports of public categories: category, state, date and commune. Never a name, an
    e-mail address, a phone number, a device, a description or a token.

No inline script: the page's data travel in ``data-*`` attributes and a JSON data island
(``<script type="application/json">`` is never executed, so the CSP allows it).
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.model import Role
from metropilot.accounts.policy import ANONYMOUS, Principal
from metropilot.api.ratelimit import RateLimited, SlidingWindowLimiter, client_address
from metropilot.reports import services as report_services
from metropilot.reports.model import (
    MAX_DESCRIPTION,
    OPEN_STATES,
    AttributeSpec,
    Category,
    Report,
    ReportState,
)
from metropilot.reports.photos import DEFAULT_PHOTO_LIMITS
from metropilot.reports.storage import FileSystemStorage
from metropilot.settings import Settings
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.errors import DomainError, NotFound
from metropilot.territory import services as territory_services
from metropilot.web.i18n import CATALOGUE, gettext
from metropilot.web.pages import (
    ANONYMOUS_VIEWER,
    Viewer,
    page_context,
    page_language,
    remember_language,
    templates,
    viewer_of,
)
from metropilot.web.signin import PageRoute, secure_cookies

__all__ = [
    "MAP_JSON_PATH",
    "MAP_PATH",
    "REPORTS_PER_WINDOW",
    "REPORT_CSRF_COOKIE",
    "REPORT_CSRF_FIELD",
    "REPORT_PATH",
    "REPORT_WINDOW_S",
    "TRACK_PREFIX",
    "router",
]

REPORT_PATH: Final = "/report"
TRACK_PREFIX: Final = "/report/track"
MAP_PATH: Final = "/reports/map"
MAP_JSON_PATH: Final = "/reports/map.json"
COMMUNES_URL: Final = "/api/v1/communes?format=geojson"  # public, as on the home page

REPORT_CSRF_COOKIE: Final = "report_csrf"
REPORT_CSRF_FIELD: Final = "report_csrf"
REPORT_CSRF_MAX_AGE: Final = 3 * 3600  # time enough to take photos and write
TOKEN_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
REPORT_TOKEN_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
PHOTO_NAME: Final = re.compile(r"^([1-9][0-9]{0,2})(\.thumb)?\.jpg$")

REPORTS_PER_WINDOW: Final = 10  # submissions per client address...
REPORT_WINDOW_S: Final = 600.0  # ...in ten minutes
LIMITER_ATTRIBUTE: Final = "report_limiter"
_LIMITER_LOCK = threading.Lock()

MAX_PHOTOS: Final = DEFAULT_PHOTO_LIMITS.max_per_report
MAX_ADDRESS: Final = 300
MAX_NAME: Final = 100
MAX_EMAIL: Final = 254
MAX_ANSWER: Final = 1000
MAP_MAX_POINTS: Final = 5000
# Public points are rounded to about ten metres: enough to see where, not which doorstep.
PUBLIC_DECIMALS: Final = 4
LOCAL_TIME: Final = ZoneInfo("Europe/Paris")
NO_STORE: Final = "no-store"
# The messages static/report.js needs, passed in the page's JSON data island.
SCRIPT_MESSAGE_PREFIXES: Final = ("rmap.", "report.state.")

_MONTHS: Final = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": (
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ),
}
# The photo refusals worth a message of their own; the others show the service's message.
_PHOTO_ERRORS: Final = {
    "photo_too_large": "report.error.photo_too_large",
    "photo_not_an_image": "report.error.photo_format",
    "photo_unsupported_format": "report.error.photo_format",
    "photo_too_many_pixels": "report.error.photo_pixels",
    "photo_unreadable": "report.error.photo_unreadable",
    "too_many_photos": "report.error.too_many_photos",
}

router = APIRouter(route_class=PageRoute)


# ---- Helpers ---------------------------------------------------------------------------------


def _principal_of(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else ANONYMOUS


def _form_token(request: Request) -> str:
    """The browser's ``report_csrf`` token when valid (several tabs share it), else a new one."""
    current = request.cookies.get(REPORT_CSRF_COOKIE, "")
    return current if TOKEN_PATTERN.match(current) else secrets.token_urlsafe(32)


def _form_token_ok(request: Request, presented: str) -> bool:
    cookie = request.cookies.get(REPORT_CSRF_COOKIE, "")
    if not TOKEN_PATTERN.match(cookie) or not presented:
        return False
    return hmac.compare_digest(cookie.encode(), presented.encode())


def _limiter(request: Request) -> SlidingWindowLimiter:
    """One limiter per application, made on first use."""
    state = request.app.state
    found = getattr(state, LIMITER_ATTRIBUTE, None)
    if isinstance(found, SlidingWindowLimiter):
        return found
    with _LIMITER_LOCK:
        found = getattr(state, LIMITER_ATTRIBUTE, None)
        if not isinstance(found, SlidingWindowLimiter):
            found = SlidingWindowLimiter(REPORTS_PER_WINDOW, REPORT_WINDOW_S)
            setattr(state, LIMITER_ATTRIBUTE, found)
        return found


def _storage(request: Request) -> FileSystemStorage:
    settings: Settings = request.app.state.settings
    return FileSystemStorage(settings.data_dir / "photos")


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.casefold()).strip("_")


def _translated(lang: str, key: str, fallback: str) -> str:
    message = gettext(lang, key)
    return fallback if message == key else message


def category_name(category: Category, lang: str) -> str:
    if lang == "fr" and category.spec.name_fr.strip():
        return category.spec.name_fr
    return category.spec.name


def group_name(group: str, lang: str) -> str:
    return _translated(lang, f"report.group.{_slug(group)}", group)


def state_label(state: ReportState | str, lang: str) -> str:
    value = state.value if isinstance(state, ReportState) else state
    return _translated(lang, f"report.state.{value}", value.replace("_", " "))


def format_date(value: datetime | None, lang: str, *, with_time: bool = True) -> str:
    if value is None:
        return ""
    local = value.astimezone(LOCAL_TIME)
    months = _MONTHS.get(lang, _MONTHS["en"])
    day = f"{local.day} {months[local.month - 1]} {local.year}"
    return f"{day}, {local:%H:%M}" if with_time else day


def _note(lang: str, state: str, note: str) -> str:
    """A workflow's default note in the page's language; a note an agent wrote, as written."""
    try:
        default = report_services.STATE_NOTES.get(ReportState(state))
    except ValueError:
        default = None
    if default is not None and note.strip() == default:
        return _translated(lang, f"report.note.{state}", note)
    return note


def _script_messages(lang: str, metropolis: str) -> dict[str, str]:
    messages = {
        key: message
        for key, message in CATALOGUE[lang].items()
        if key.startswith(SCRIPT_MESSAGE_PREFIXES)
    }
    messages["rmap.outside"] = gettext(lang, "rmap.outside", metropolis=metropolis)
    return messages


def _secret_headers(response: Response) -> None:
    """A page or a file reached with a report's token: not cached, not sent as a referrer."""
    response.headers["Cache-Control"] = NO_STORE
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"


# ---- The form --------------------------------------------------------------------------------


@dataclass(slots=True)
class Answers:
    """What the citizen typed, kept when the form comes back with a message."""

    category: str = ""
    lon: str = ""
    lat: str = ""
    address: str = ""
    description: str = ""
    name: str = ""
    email: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)  # field name → values
    photos_sent: bool = False


def _attribute_field(category: str, code: str) -> str:
    return f"attr-{category}-{code}"


def _questions(category: Category, answers: Answers) -> list[dict[str, Any]]:
    found = []
    for spec in sorted(category.spec.attributes, key=lambda a: (a.order, a.code)):
        name = _attribute_field(category.code, spec.code)
        chosen = answers.attributes.get(name, [])
        found.append(
            {
                "field": name,
                "id": f"q-{category.code}-{spec.code}",
                "code": spec.code,
                "datatype": spec.datatype,
                "label": spec.description,
                "hint": spec.datatype_description,
                "required": spec.required,
                "variable": spec.variable,
                "values": [(v.key, v.name) for v in spec.values],
                "chosen": chosen,
                "value": chosen[0] if chosen else "",
            }
        )
    return found


def _grouped(categories: Sequence[Category], lang: str) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for category in categories:
        groups.setdefault(category.spec.group, []).append(
            {"code": category.code, "name": category_name(category, lang)}
        )
    return [
        {"label": group_name(group, lang), "categories": entries}
        for group, entries in sorted(groups.items(), key=lambda item: group_name(item[0], lang))
    ]


def _render_form(
    request: Request,
    lang: str,
    *,
    token: str,
    answers: Answers | None = None,
    errors: Sequence[str] = (),
    status_code: int = 200,
) -> Response:
    answers = answers or Answers()
    settings: Settings = request.app.state.settings
    with request.app.state.uow_factory() as uow:
        viewer = viewer_of(request, uow, lang)
        categories = report_services.list_categories(uow)
    questions = [
        {
            "code": c.code,
            "name": category_name(c, lang),
            "questions": _questions(c, answers),
        }
        for c in categories
        if c.spec.attributes
    ]
    descriptions = {c.code: c.spec.description for c in categories if c.spec.description}
    config = {
        "communesUrl": COMMUNES_URL,
        "pointsUrl": MAP_JSON_PATH,
        "messages": _script_messages(lang, settings.metropolis_name),
        "descriptions": descriptions,
        "maxPhotos": MAX_PHOTOS,
        "maxDescription": MAX_DESCRIPTION,
    }
    context = {
        **page_context(request, lang, viewer),
        "answers": answers,
        "errors": list(errors),
        "groups": _grouped(categories, lang),
        "questions": questions,
        "config": config,
        "form_token": token,
        "form_field": REPORT_CSRF_FIELD,
        "action": REPORT_PATH,
        "max_description": MAX_DESCRIPTION,
        "max_photos": MAX_PHOTOS,
        "max_address": MAX_ADDRESS,
        "max_name": MAX_NAME,
        "max_email": MAX_EMAIL,
        "max_answer": MAX_ANSWER,
        "map_path": MAP_PATH,
    }
    response = templates.TemplateResponse(
        request, "report_new.html", context, status_code=status_code
    )
    response.set_cookie(
        REPORT_CSRF_COOKIE,
        token,
        max_age=REPORT_CSRF_MAX_AGE,
        path=REPORT_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    response.headers["Cache-Control"] = NO_STORE
    return response


@router.get(
    REPORT_PATH,
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def report_form(
    request: Request,
    lang: str | None = Query(default=None, description="en or fr; remembered in a cookie."),
    category: str | None = Query(default=None, max_length=48),
) -> Response:
    language = page_language(request, lang)
    answers = Answers(category=category or "")
    response = _render_form(request, language, token=_form_token(request), answers=answers)
    remember_language(response, lang, language)
    return response


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _answers_of(form: FormData) -> Answers:
    attributes: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if name.startswith("attr-") and isinstance(value, str) and len(attributes) < 200:
            attributes.setdefault(name[:200], []).append(value[:MAX_ANSWER])
    return Answers(
        category=_text(form, "category", 48).strip(),
        lon=_text(form, "lon", 40).strip(),
        lat=_text(form, "lat", 40).strip(),
        address=_text(form, "address", MAX_ADDRESS).strip(),
        # Kept whole (up to a margin) so that a description over the limit is refused as such.
        description=_text(form, "description", MAX_DESCRIPTION * 4).replace("\r\n", "\n"),
        name=_text(form, "name", MAX_NAME).strip(),
        email=_text(form, "email", MAX_EMAIL).strip(),
        attributes=attributes,
    )


def _coordinate(value: str, low: float, high: float) -> float | None:
    try:
        number = float(value.replace(",", ".").replace("\u2212", "-"))
    except ValueError:
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def _answer_problem(spec: AttributeSpec, values: list[str]) -> str | None:
    """The message key of what is wrong with one answer, or None."""
    if not values:
        return "report.error.attribute_required" if spec.required else None
    if spec.datatype != "multivaluelist" and len(values) > 1:
        return "report.error.attribute_invalid"
    if spec.datatype in ("singlevaluelist", "multivaluelist"):
        keys = {v.key for v in spec.values}
        return None if all(v in keys for v in values) else "report.error.attribute_invalid"
    value = values[0]
    if spec.datatype == "string" and ("\n" in value or "\r" in value):
        return "report.error.attribute_invalid"
    if spec.datatype == "number":
        return None if _coordinate(value, -1e12, 1e12) is not None else "report.error.number"
    if spec.datatype == "datetime":
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            return "report.error.date"
    return None


def _attributes(
    category: Category, answers: Answers, lang: str, errors: list[str]
) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for spec in sorted(category.spec.attributes, key=lambda a: (a.order, a.code)):
        if not spec.variable:
            continue
        given = answers.attributes.get(_attribute_field(category.code, spec.code), [])
        values = [v.strip() for v in given if v.strip()]
        problem = _answer_problem(spec, values)
        if problem is not None:
            errors.append(gettext(lang, problem, question=spec.description))
            continue
        if not values:
            continue
        if spec.datatype == "number":
            values = [values[0].replace(",", ".")]
        kept[spec.code] = (
            list(dict.fromkeys(values)) if spec.datatype == "multivaluelist" else (values[0])
        )
    return kept


def _domain_message(lang: str, error: DomainError, settings: Settings) -> str:
    if error.code == "outside_metropolis":
        return gettext(lang, "report.error.outside", metropolis=settings.metropolis_name)
    if error.code == "description_too_long":
        return gettext(lang, "report.error.description_too_long", max=f"{MAX_DESCRIPTION:,}")
    if error.code == "bad_email":
        return gettext(lang, "report.error.email")
    if error.code == "unknown_category":
        return gettext(lang, "report.error.category")
    key = _PHOTO_ERRORS.get(error.code)
    if key is not None:
        return gettext(
            lang,
            key,
            max=MAX_PHOTOS,
            mb=f"{DEFAULT_PHOTO_LIMITS.max_bytes / 1_000_000:g}",
            detail=error.message,
        )
    return gettext(lang, "report.error.other", detail=error.message)


def _submit(
    request: Request, lang: str, answers: Answers, photos: list[bytes], token: str
) -> Response:
    """The blocking half of ``POST /report`` (database and photo work), run in a thread."""
    settings: Settings = request.app.state.settings
    errors: list[str] = []

    def again(messages: Sequence[str], status_code: int = 400) -> Response:
        shown = list(messages)
        if answers.photos_sent:
            shown.append(gettext(lang, "report.error.photos_again"))
        return _render_form(
            request, lang, token=token, answers=answers, errors=shown, status_code=status_code
        )

    lon = _coordinate(answers.lon, -180.0, 180.0)
    lat = _coordinate(answers.lat, -90.0, 90.0)
    if lon is None or lat is None:
        errors.append(gettext(lang, "report.error.location"))
    if len(answers.description) > MAX_DESCRIPTION:
        errors.append(
            gettext(
                lang,
                "report.error.description_too_long_count",
                count=f"{len(answers.description):,}",
                max=f"{MAX_DESCRIPTION:,}",
            )
        )
    if len(photos) > MAX_PHOTOS:
        errors.append(gettext(lang, "report.error.too_many_photos", max=MAX_PHOTOS))
    principal = _principal_of(request)
    if principal.kind is ActorKind.USER and principal.role is not Role.CITIZEN:
        actor, account_id = principal.actor(), principal.id  # staff reporting for someone
    elif principal.kind is ActorKind.USER:
        # A citizen is recorded by account number, never by name: the audit trail and the
        # public timeline outlive the privacy purge, the link to the account does not.
        actor = Actor(ActorKind.USER, "citizen", principal.id, sector="public")
        account_id = principal.id
    else:
        actor, account_id = Actor(ActorKind.ANONYMOUS, "citizen-web", sector="public"), None
    result: report_services.SubmitResult | None = None
    with request.app.state.uow_factory(write=True) as uow:
        category: Category | None = None
        if answers.category:
            try:
                category = report_services.get_category(uow, answers.category)
            except NotFound:
                category = None
        if category is None:
            errors.insert(0, gettext(lang, "report.error.category"))
        else:
            attributes = _attributes(category, answers, lang, errors)
        if not errors and category is not None and lon is not None and lat is not None:
            submission = report_services.Submission(
                category_code=category.code,
                lon=lon,
                lat=lat,
                description=answers.description,
                attributes=attributes,
                address=answers.address,
                email=answers.email or None,
                first_name=answers.name or None,
                account_id=account_id,
                allow_me_too=True,
            )
            try:
                result = report_services.submit(uow, submission, actor)
                if photos and not result.me_too:
                    # The same unit of work: a refused photo leaves no report behind.
                    report_services.attach_photos(uow, result.report.id, photos, _storage(request))
            except DomainError as error:
                result = None
                errors.append(_domain_message(lang, error, settings))
        if result is None:
            uow.rollback()
        else:
            uow.commit()
    if result is None:
        return again(errors)
    if result.me_too:
        return _render_supported(request, lang, result.report, answers, bool(photos))
    response = RedirectResponse(f"{TRACK_PREFIX}/{result.report.token}?sent=1", status_code=303)
    _secret_headers(response)
    return response


@router.post(
    REPORT_PATH,
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def send_report(request: Request) -> Response:
    language = page_language(request, None)
    form = await request.form(max_files=MAX_PHOTOS * 4, max_fields=400)
    answers = _answers_of(form)
    uploads = [
        item
        for item in form.getlist("photos")
        if isinstance(item, UploadFile) and (item.filename or item.size)
    ]
    answers.photos_sent = bool(uploads)
    presented = form.get(REPORT_CSRF_FIELD)
    if not _form_token_ok(request, presented if isinstance(presented, str) else ""):
        return await run_in_threadpool(
            _render_form,
            request,
            language,
            token=secrets.token_urlsafe(32),
            answers=answers,
            errors=[gettext(language, "report.error.form_expired")],
            status_code=403,
        )
    token = request.cookies.get(REPORT_CSRF_COOKIE, "")
    try:
        _limiter(request).hit(client_address(request))
    except RateLimited as error:
        retry = error.details.get("retry_after_s", 60) if isinstance(error.details, dict) else 60
        minutes = max(1, math.ceil(int(retry) / 60))
        response = await run_in_threadpool(
            _render_form,
            request,
            language,
            token=token,
            answers=answers,
            errors=[gettext(language, "report.error.rate_limited", minutes=minutes)],
            status_code=429,
        )
        response.headers["Retry-After"] = str(retry)
        return response
    photos = [await upload.read() for upload in uploads[: MAX_PHOTOS + 1]]
    if len(uploads) > MAX_PHOTOS:
        photos.append(b"")  # one too many is enough to be refused as too many
    for upload in uploads:
        await upload.close()
    return await run_in_threadpool(_submit, request, language, answers, photos, token)


# ---- Following a report ----------------------------------------------------------------------


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
        "status_notes": _note(lang, report.state.value, report.status_notes),
        "duplicate_of": report.duplicate_of,
    }


def _timeline(uow: Any, report: Report, lang: str) -> list[dict[str, str]]:
    return [
        {
            "at": format_date(entry["at"], lang),
            "state": str(entry["state"]),
            "state_label": state_label(str(entry["state"]), lang),
            "note": _note(lang, str(entry["state"]), str(entry["description"] or "")),
        }
        for entry in report_services.timeline(uow, report.id)
    ]


def _commune_names(uow: Any) -> dict[str, str]:
    return {c.insee: c.name for c in territory_services.list_communes(uow)}


def _category_or_none(uow: Any, code: str) -> Category | None:
    try:
        return report_services.get_category(uow, code, active_only=False)
    except NotFound:
        return None


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
    context = {
        **page_context(request, lang, ANONYMOUS_VIEWER),
        "message": gettext(lang, "report.track.unknown"),
    }
    response = templates.TemplateResponse(request, "error.html", context, status_code=404)
    _secret_headers(response)
    return response


def _render_supported(
    request: Request, lang: str, report: Report, answers: Answers, photos_sent: bool
) -> Response:
    """After a "me too": the existing report's public view, never its token or description."""
    with request.app.state.uow_factory() as uow:
        viewer = viewer_of(request, uow, lang)
        category = _category_or_none(uow, report.category_code)
        view = _public_view(report, category, lang, _commune_names(uow))
        timeline = _timeline(uow, report, lang)
    context = {
        **page_context(request, lang, viewer),
        "mode": "supported",
        "report": view,
        "timeline": timeline,
        "email_given": bool(answers.email),
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
    _secret_headers(response)
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
        category = _category_or_none(uow, report.category_code)
        view = _public_view(report, category, language, _commune_names(uow))
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
    _secret_headers(response)
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
        data = _storage(request).get(key)
    except DomainError:
        return _photo_not_found()
    response = Response(data, media_type=str(photo.get("content_type") or "image/jpeg"))
    _secret_headers(response)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = f'inline; filename="report-{report.id}-{name}"'
    return response


def _photo_not_found() -> Response:
    response = Response("not found", status_code=404, media_type="text/plain")
    _secret_headers(response)
    return response


# ---- The public map --------------------------------------------------------------------------


def _open_public_reports(uow: Any) -> list[Report]:
    query = report_services.ReportQuery(
        states=sorted(OPEN_STATES), public_only=True, limit=MAP_MAX_POINTS
    )
    return report_services.query_reports(uow, query)


def _map_points(uow: Any, lang: str) -> list[dict[str, Any]]:
    categories = {c.code: c for c in report_services.list_categories(uow, include_inactive=True)}
    communes = _commune_names(uow)
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
        "messages": _script_messages(language, settings.metropolis_name),
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
