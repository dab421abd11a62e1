"""Who is calling: API key, bearer token or browser session, resolved once per request.

Credentials that are presented but wrong are refused (401), never silently treated as anonymous.
A browser session (cookie) must also present its CSRF token on every state-changing request.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from metropilot.accounts import services as accounts
from metropilot.accounts.policy import ANONYMOUS, Principal
from metropilot.db.uow import UnitOfWorkFactory
from metropilot.settings import Settings
from metropilot.shared.errors import DomainError, Forbidden

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "CurrentPrincipal",
    "InvalidCredentials",
    "resolve_principal",
]

SESSION_COOKIE = "metropilot_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    http_status = 401


async def resolve_principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    # Reading the caller's key or session is database work: in a worker thread, never on the
    # event loop that every request shares.
    principal, csrf = await run_in_threadpool(_authenticate, request)
    if principal.via_cookie and request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
        if not presented or not csrf or not hmac.compare_digest(presented, csrf):
            raise Forbidden(
                "missing or wrong CSRF token: send the page's token with every change",
                code="csrf_failed",
            )
    request.state.principal = principal
    return principal


def _authenticate(request: Request) -> tuple[Principal, str | None]:
    """The caller behind the request's credentials (a worker thread's work: it reads them).

    Only reads: the time of this use is noted in memory (`LastUse`) and written by the
    server's housekeeping, so that no request waits for the database's writer to say it came.
    """
    settings: Settings = request.app.state.settings
    factory: UnitOfWorkFactory = request.app.state.uow_factory
    last_use = request.app.state.platform.last_use
    key = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    if key is not None:
        with factory() as uow:
            found = accounts.resolve_key(uow, key.strip(), last_use=last_use)
        if found is None:
            raise InvalidCredentials("unknown or revoked API key")
        return found.principal, None
    idle = timedelta(minutes=settings.session_idle_minutes)
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise InvalidCredentials("Authorization must be 'Bearer <token>'")
        with factory() as uow:
            resolved = accounts.resolve_session(
                uow, token.strip(), kind="bearer", idle=idle, last_use=last_use
            )
        if resolved is None:
            raise InvalidCredentials("unknown, expired or revoked token: sign in again")
        return resolved.principal, None
    if cookie:
        with factory() as uow:
            resolved = accounts.resolve_session(
                uow, cookie, kind="session", idle=idle, last_use=last_use
            )
        if resolved is None:
            # A stale cookie is not an attack: treat the browser as signed out.
            return ANONYMOUS, None
        return resolved.principal, resolved.csrf_token
    return ANONYMOUS, None


CurrentPrincipal = Annotated[Principal, Depends(resolve_principal)]
