"""The citizens' report form: ``GET /report`` and ``POST /report``.

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
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.model import Role
from metropilot.accounts.policy import Principal
from metropilot.api.ratelimit import RateLimited, SlidingWindowLimiter, client_address
from metropilot.reports import services as report_services
from metropilot.reports.model import MAX_DESCRIPTION, AttributeSpec, Category
from metropilot.reports.photos import DEFAULT_PHOTO_LIMITS
from metropilot.settings import Settings
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.errors import DomainError, NotFound
from metropilot.web.formatting import format_number
from metropilot.web.i18n import N_, gettext
from metropilot.web.rendering import (
    NO_STORE,
    PageRoute,
    page_context,
    page_language,
    principal_of,
    remember_language,
    secure_cookies,
    templates,
    viewer_of,
)
from metropilot.web.report_common import (
    COMMUNES_URL,
    MAP_JSON_PATH,
    MAP_PATH,
    REPORT_PATH,
    TRACK_PREFIX,
    category_name,
    group_name,
    report_script_messages,
    secret_headers,
    storage,
)
from metropilot.web.report_track import render_supported

__all__ = [
    "LIMITER_ATTRIBUTE",
    "REPORTS_PER_WINDOW",
    "REPORT_CSRF_COOKIE",
    "REPORT_CSRF_FIELD",
    "REPORT_WINDOW_S",
    "router",
]

REPORT_CSRF_COOKIE: Final = "report_csrf"
REPORT_CSRF_FIELD: Final = "report_csrf"
REPORT_CSRF_MAX_AGE: Final = 3 * 3600  # time enough to take photos and write
TOKEN_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{32,128}$")

REPORTS_PER_WINDOW: Final = 10  # submissions per client address...
REPORT_WINDOW_S: Final = 600.0  # ...in ten minutes
LIMITER_ATTRIBUTE: Final = "report_limiter"
_LIMITER_LOCK = threading.Lock()

MAX_PHOTOS: Final = DEFAULT_PHOTO_LIMITS.max_per_report
MAX_ADDRESS: Final = 300
MAX_NAME: Final = 100
MAX_EMAIL: Final = 254
MAX_ANSWER: Final = 1000
# The photo refusals worth a message of their own; the others show the service's message.
_PHOTO_ERRORS: Final = {
    "photo_too_large": N_("report.error.photo_too_large"),
    "photo_not_an_image": N_("report.error.photo_format"),
    "photo_unsupported_format": N_("report.error.photo_format"),
    "photo_too_many_pixels": N_("report.error.photo_pixels"),
    "photo_unreadable": N_("report.error.photo_unreadable"),
    "too_many_photos": N_("report.error.too_many_photos"),
}

router = APIRouter(route_class=PageRoute)


# ---- Helpers ---------------------------------------------------------------------------------


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
        "messages": report_script_messages(lang, settings.metropolis_name),
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
        return N_("report.error.attribute_required") if spec.required else None
    if spec.datatype != "multivaluelist" and len(values) > 1:
        return N_("report.error.attribute_invalid")
    if spec.datatype in ("singlevaluelist", "multivaluelist"):
        keys = {v.key for v in spec.values}
        return None if all(v in keys for v in values) else N_("report.error.attribute_invalid")
    value = values[0]
    if spec.datatype == "string" and ("\n" in value or "\r" in value):
        return N_("report.error.attribute_invalid")
    if spec.datatype == "number":
        return None if _coordinate(value, -1e12, 1e12) is not None else N_("report.error.number")
    if spec.datatype == "datetime":
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            return N_("report.error.date")
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
        return gettext(
            lang, "report.error.description_too_long", max=format_number(MAX_DESCRIPTION, lang)
        )
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


def _reporter(principal: Principal) -> tuple[Actor, int | None]:
    """Who files the report, and the account it is linked to."""
    if principal.kind is ActorKind.USER and principal.role is not Role.CITIZEN:
        return principal.actor(), principal.id  # staff reporting for someone
    if principal.kind is ActorKind.USER:
        # A citizen is recorded by account number, never by name: the audit trail and the
        # public timeline outlive the privacy purge, the link to the account does not.
        return Actor(ActorKind.USER, "citizen", principal.id, sector="public"), principal.id
    return Actor(ActorKind.ANONYMOUS, "citizen-web", sector="public"), None


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
                count=format_number(len(answers.description), lang),
                max=format_number(MAX_DESCRIPTION, lang),
            )
        )
    if len(photos) > MAX_PHOTOS:
        errors.append(gettext(lang, "report.error.too_many_photos", max=MAX_PHOTOS))
    actor, account_id = _reporter(principal_of(request))
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
                    report_services.attach_photos(uow, result.report.id, photos, storage(request))
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
        return render_supported(request, lang, result.report, bool(answers.email), bool(photos))
    response = RedirectResponse(f"{TRACK_PREFIX}/{result.report.token}?sent=1", status_code=303)
    secret_headers(response)
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
