"""Signing in and out in the browser: ``GET /login``, ``POST /login`` and ``POST /logout``.

A good sign-in opens a browser session (``accounts.services.open_session``) and hands its token
over in the session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS. Every later change made
with that cookie must carry the session's CSRF token (``accounts.auth.resolve_principal`` checks
it); the pages put it in their forms and in ``<meta name="csrf-token">``.

The sign-in form has no session yet, so it is protected by a double-submit token: a random value
in a short-lived ``login_csrf`` cookie (HttpOnly, SameSite=Strict, path ``/login``) that the form
repeats in a hidden field. Another site can neither read the cookie nor set it, so it cannot
sign a victim into an account of its choosing.

Every failure answers with the form again, the username kept and the password never echoed, and
the status a script would expect: 401 wrong credentials (or a second factor needed), 403 locked
or a bad form token, 429 too many attempts from the address. The caller's address is
rate-limited before any password is checked, and a failed check is committed so the account's
failure count (and the lockout it leads to) holds.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from metropilot.accounts import services as accounts
from metropilot.accounts.audience import Audience, audience
from metropilot.accounts.auth import SESSION_COOKIE, CurrentPrincipal
from metropilot.api.ratelimit import RateLimited, client_address
from metropilot.settings import Settings
from metropilot.shared.errors import DomainError
from metropilot.web.i18n import gettext
from metropilot.web.rendering import (
    ANONYMOUS_VIEWER,
    LOGIN_PATH,
    LOGOUT_PATH,
    NO_STORE,
    PageRoute,
    page_context,
    page_language,
    remember_language,
    secure_cookies,
    templates,
)

__all__ = ["LOGIN_CSRF_COOKIE", "LOGIN_CSRF_FIELD", "router", "safe_next"]

LOGIN_CSRF_COOKIE = "login_csrf"
LOGIN_CSRF_FIELD = "login_csrf"
LOGIN_CSRF_MAX_AGE = 30 * 60  # a sign-in form left open longer asks again
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
MAX_NEXT_LENGTH = 2048
MAX_FIELD_LENGTH = 1024  # longer usernames, passwords or codes are refused unchecked


router = APIRouter(route_class=PageRoute)


# ---- Helpers ---------------------------------------------------------------------------------


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site, or ``/``.

    Refuses absolute and scheme-relative URLs (``https://…``, ``//evil``), backslashes (browsers
    read ``/\\evil`` as ``//evil``), control characters (browsers drop tabs and newlines, so
    ``/\\t/evil`` would become ``//evil``) and the sign-in and sign-out pages themselves.
    """
    if not value or len(value) > MAX_NEXT_LENGTH:
        return "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in (LOGIN_PATH, LOGOUT_PATH):
        return "/"
    return value


def _login_token(request: Request) -> str:
    """The form token: the one of the browser's ``login_csrf`` cookie if valid (several tabs
    then share it), else a new one."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return current if TOKEN_PATTERN.match(current) else secrets.token_urlsafe(32)


def _login_token_ok(request: Request, presented: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not TOKEN_PATTERN.match(cookie) or not presented:
        return False
    return hmac.compare_digest(cookie.encode(), presented.encode())


def _set_login_token(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=LOGIN_CSRF_MAX_AGE,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def _lockout_minutes(settings: Settings) -> str:
    minutes = settings.login_lockout_minutes
    return f"{minutes:g}"


def _message(lang: str, error: DomainError, settings: Settings) -> tuple[str, int]:
    """The translated message and HTTP status of a refused sign-in."""
    if isinstance(error, accounts.SecondFactorRequired):
        return gettext(lang, "login.totp_required"), 401
    if isinstance(error, accounts.AccountLocked):
        return gettext(lang, "login.locked", minutes=_lockout_minutes(settings)), 403
    if isinstance(error, RateLimited):
        seconds = error.details.get("retry_after_s", 60) if isinstance(error.details, dict) else 60
        return gettext(lang, "login.rate_limited", seconds=seconds), 429
    return gettext(lang, "login.failed"), 401


def _render_login(
    request: Request,
    lang: str,
    *,
    next_path: str,
    token: str,
    username: str = "",
    error: str | None = None,
    code_requested: bool = False,
    code_open: bool = False,
    status_code: int = 200,
) -> Response:
    extra = [("next", next_path)] if next_path != "/" else []
    context = {
        **page_context(request, lang, ANONYMOUS_VIEWER, show_sign_in=False, query=extra),
        "next_path": next_path,
        "username": username,
        "error": error,
        "code_requested": code_requested,
        "code_open": code_open or code_requested,
        "login_token": token,
        "login_field": LOGIN_CSRF_FIELD,
        "login_action": LOGIN_PATH,
    }
    response = templates.TemplateResponse(request, "login.html", context, status_code=status_code)
    _set_login_token(response, request, token)
    response.headers["Cache-Control"] = NO_STORE
    remember_language(response, None, lang)
    return response


def _signed_in(
    request: Request, session_token: str, lifetime: timedelta, next_path: str
) -> Response:
    """After a good sign-in: the new session's token in the session cookie, the form's token
    forgotten, and on to ``next_path``."""
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    response.delete_cookie(
        LOGIN_CSRF_COOKIE,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    response.headers["Cache-Control"] = NO_STORE
    return response


def _clip(value: str) -> str:
    return value[:MAX_FIELD_LENGTH]


# ---- Routes ----------------------------------------------------------------------------------


@router.get(
    LOGIN_PATH,
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def login_page(
    request: Request,
    principal: CurrentPrincipal,
    next_: Annotated[str | None, Query(alias="next")] = None,
    lang: Annotated[str | None, Query()] = None,
) -> Response:
    next_path = safe_next(next_)
    if principal.authenticated and principal.via_cookie:
        return RedirectResponse(next_path, status_code=303)
    language = page_language(request, lang)
    response = _render_login(request, language, next_path=next_path, token=_login_token(request))
    remember_language(response, lang, language)
    return response


@router.post(
    LOGIN_PATH,
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def login(
    request: Request,
    principal: CurrentPrincipal,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    login_csrf: Annotated[str, Form()] = "",
    next_: Annotated[str, Form(alias="next")] = "",
) -> Response:
    settings: Settings = request.app.state.settings
    language = page_language(request, None)
    next_path = safe_next(next_)
    username = _clip(username.strip())
    code = code.replace(" ", "").strip()
    if not _login_token_ok(request, login_csrf):
        return _render_login(
            request,
            language,
            next_path=next_path,
            token=secrets.token_urlsafe(32),
            username=username,
            error=gettext(language, "login.form_expired"),
            code_open=bool(code),
            status_code=403,
        )
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")

    def refused(error: DomainError) -> Response:
        message, status = _message(language, error, settings)
        response = _render_login(
            request,
            language,
            next_path=next_path,
            token=token,
            username=username,
            error=message,
            code_requested=isinstance(error, accounts.SecondFactorRequired),
            code_open=bool(code),
            status_code=status,
        )
        if isinstance(error, RateLimited) and isinstance(error.details, dict):
            response.headers["Retry-After"] = str(error.details.get("retry_after_s", 60))
        return response

    try:
        request.app.state.login_limiter.hit(client_address(request))
    except RateLimited as error:
        return refused(error)
    if len(password) > MAX_FIELD_LENGTH or len(code) > MAX_FIELD_LENGTH:
        return refused(accounts.AuthenticationFailed("field too long"))

    policy = accounts.LoginPolicy(
        settings.login_max_failures, timedelta(minutes=settings.login_lockout_minutes)
    )
    try:
        # Failures are counted, committed and audited inside verify_login.
        stored = accounts.verify_login(
            request.app.state.uow_factory, username, password, code or None, policy=policy
        )
    except DomainError as error:
        return refused(error)
    lifetime = timedelta(hours=settings.session_lifetime_hours)
    with request.app.state.uow_factory(write=True) as uow:
        if principal.via_cookie and principal.session_id is not None:
            accounts.close_session(uow, principal)  # signing in again replaces the session
        accounts.record_login(uow, stored, "web")
        session_token, _ = accounts.open_session(uow, stored, kind="session", lifetime=lifetime)
        uow.commit()
    return _signed_in(request, session_token, lifetime, next_path)


@router.post(
    LOGOUT_PATH,
    # Public: a browser whose session has already expired must still be able to leave cleanly.
    # A live session is checked by the dependency, CSRF token included.
    dependencies=[audience(Audience.PUBLIC)],
    response_class=HTMLResponse,
    include_in_schema=False,
)
def logout(request: Request, principal: CurrentPrincipal) -> Response:
    # The browser's session only: a script's bearer token ends with POST /api/v1/auth/logout.
    if principal.via_cookie and principal.session_id is not None:
        with request.app.state.uow_factory(write=True) as uow:
            accounts.close_session(uow, principal)
            uow.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    response.headers["Cache-Control"] = NO_STORE
    return response
