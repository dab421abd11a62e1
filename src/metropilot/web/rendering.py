"""What every page for people shares: the templates, the language, who is looking, the header's
account block, the page-route class and the one error page.

Every page module builds on this one and none of them on another page module's helpers, so
the ``web`` modules import each other in one direction only (``pages`` at the top, then the
page modules, then this one, then ``i18n`` and ``formatting``).
"""

from __future__ import annotations

import contextlib
import hashlib
import unicodedata
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

import metropilot
from metropilot.accounts import queries as accounts_queries
from metropilot.accounts import services as accounts_services
from metropilot.accounts.audience import NotSignedIn
from metropilot.accounts.auth import SESSION_COOKIE
from metropilot.accounts.policy import ANONYMOUS, Principal, asset_scope
from metropilot.db.uow import UnitOfWork
from metropilot.settings import Settings
from metropilot.shared.actors import ActorKind
from metropilot.shared.errors import DomainError, Forbidden, NotFound
from metropilot.web.i18n import (
    CATALOGUE,
    DEFAULT_LANGUAGE,
    LANGUAGE_COOKIE,
    LANGUAGES,
    gettext,
    pick_language,
    translator,
)

__all__ = [
    "ANONYMOUS_VIEWER",
    "API_PREFIX",
    "LOGIN_PATH",
    "LOGOUT_PATH",
    "MODULES_URL",
    "NO_STORE",
    "STATIC_DIR",
    "ErrorWording",
    "PageRoute",
    "Viewer",
    "error_page",
    "error_wording",
    "label",
    "login_href",
    "page_context",
    "page_language",
    "principal_of",
    "remember_language",
    "secure_cookies",
    "sort_key",
    "templates",
    "viewer_of",
]

HERE: Final = Path(__file__).parent
STATIC_DIR: Final = HERE / "static"
TEMPLATES_DIR: Final = HERE / "templates"


def _fingerprint(directory: Path) -> str:
    """A short digest of the static files as installed (names, sizes, modification times):
    a new release or an edited file gives a new one."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(
                f"{path.relative_to(directory)}:{stat.st_size}:{stat.st_mtime_ns};".encode()
            )
    return digest.hexdigest()[:12]


# The pages' ES modules are served under a path that names this fingerprint, and cached for good:
# a module imports others by relative URL, so all of a page's modules come from the same
# release, and an upgrade moves every URL at once (no old module beside a new one).
MODULES_URL: Final = f"/static/r-{_fingerprint(STATIC_DIR)}"
API_PREFIX: Final = "/api/v1"  # the same prefix as web.app
LOGIN_PATH: Final = "/login"
LOGOUT_PATH: Final = "/logout"
NO_STORE: Final = "no-store"
LANGUAGE_COOKIE_MAX_AGE: Final = 365 * 24 * 3600
WORDING_STATE: Final = "page_error_wording"

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)
# Where the pages' ES modules are served, the same for every page.
templates.env.globals["modules"] = MODULES_URL


# ---- Language --------------------------------------------------------------------------------


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


def label(lang: str, key: str, fallback: str) -> str:
    """The message ``key``, or ``fallback`` when the catalogue lacks it (a kind, a status or a
    group the catalogue does not know yet)."""
    message = gettext(lang, key)
    return fallback if message == key else message


def sort_key(name: str) -> str:
    """Alphabetical order that ignores accents and case: Échirey sits among the E."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# ---- Who is looking --------------------------------------------------------------------------


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


ANONYMOUS_VIEWER: Final = Viewer()


def principal_of(request: Request) -> Principal:
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
    principal = principal_of(request)
    if not principal.authenticated:
        return ANONYMOUS_VIEWER
    name = principal.name
    if principal.kind is ActorKind.USER and principal.id is not None:
        name = accounts_queries.display_name(uow.connection, principal.id) or name
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
    role = principal.role.value if principal.role else ""
    return Viewer(
        signed_in=True,
        name=name,
        username=principal.name,
        role=label(lang, f"role.{role}", role) if role else "",
        organisation=organisation,
        csrf_token=_session_csrf(request, uow) if principal.via_cookie else None,
        sees_equipment=sees,
        whole_city=whole,
    )


def secure_cookies(request: Request) -> bool:
    """``Secure`` cookies: always, never, or (auto) when the request came over HTTPS."""
    settings: Settings = request.app.state.settings
    if settings.secure_cookies != "auto":
        return settings.secure_cookies == "always"
    if request.url.scheme == "https":
        return True
    if settings.behind_tls_proxy:
        forwarded = request.headers.get("x-forwarded-proto", "")
        return forwarded.rsplit(",", 1)[-1].strip().lower() == "https"
    return False


# ---- The page --------------------------------------------------------------------------------


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


# ---- Refusals --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorWording:
    """How a family of pages words its refusals, where the common messages (``error.<code>``,
    ``error.generic``) say too little: message keys, ``{message}`` being the error's own."""

    forbidden: str | None = None  # the account may not see these pages
    not_found: str | None = None  # with {message}
    invalid: str | None = None  # any other refusal but "sign in first"; with {message}


COMMON_WORDING: Final = ErrorWording()


def error_wording(wording: ErrorWording) -> Any:
    """A router dependency choosing how its pages word refusals: ``APIRouter(route_class=
    PageRoute, dependencies=[error_wording(...)])``. A router's dependencies run before its
    routes' own (the audience among them), so the choice is made before anything is refused."""

    def choose(request: Request) -> None:
        setattr(request.state, WORDING_STATE, wording)

    return Depends(choose)


def _error_message(lang: str, error: DomainError, wording: ErrorWording) -> str:
    if error.http_status == 403 and error.code == "forbidden" and wording.forbidden:
        return gettext(lang, wording.forbidden)
    if error.http_status == 404 and wording.not_found:
        return gettext(lang, wording.not_found, message=error.message)
    common = f"error.{error.code}"
    if common in CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANGUAGE]):
        return gettext(lang, common)
    if error.http_status not in (401, 403) and wording.invalid:
        return gettext(lang, wording.invalid, message=error.message)
    return gettext(lang, "error.generic", code=error.code)


def error_page(
    request: Request, error: DomainError, *, lang: str | None = None, message: str | None = None
) -> Response:
    """The page of a refused request, with the error's status: in ``lang`` (by default the
    visitor's language), saying ``message`` (by default the wording of the page's router)."""
    lang = lang or page_language(request, None)
    if message is None:
        wording = getattr(request.state, WORDING_STATE, None)
        message = _error_message(
            lang, error, wording if isinstance(wording, ErrorWording) else COMMON_WORDING
        )
    context = {**page_context(request, lang, ANONYMOUS_VIEWER), "message": message}
    response = templates.TemplateResponse(
        request, "error.html", context, status_code=error.http_status
    )
    response.headers["Cache-Control"] = NO_STORE
    if error.http_status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="metropilot"'
    remember_language(response, None, lang)
    return response


class PageRoute(APIRoute):
    """A route for people: a refused request gets a readable page, not the API's JSON error,
    and an anonymous browser asked to sign in goes to the sign-in page and back (a script
    keeps the plain 401).

    The audience dependency runs inside the route handler, so its refusals (a missing or wrong
    CSRF token on sign-out, for one) are caught here too.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except NotSignedIn as error:
                if "text/html" in request.headers.get("accept", ""):
                    return RedirectResponse(login_href(request.url.path), status_code=303)
                return error_page(request, error)
            except DomainError as error:
                return error_page(request, error)

        return page_handler
