"""Who is calling: API key, bearer token or browser session, resolved once per request.

Credentials that are presented but wrong are refused (401), never silently treated as anonymous.
A browser session (cookie) must also present its CSRF token on every state-changing request.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

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
    principal, csrf = _authenticate(request)
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
    settings: Settings = request.app.state.settings
    factory = request.app.state.uow_factory
    key = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    if key is not None:
        with factory() as uow:
            found = accounts.resolve_key(uow, key.strip())
        if found is None:
            raise InvalidCredentials("unknown or revoked API key")
        if found.needs_touch:
            with factory(write=True) as uow:
                accounts.touch_key(uow, found.key_id)
                uow.commit()
        return found.principal, None
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise InvalidCredentials("Authorization must be 'Bearer <token>'")
        return _session(factory, token.strip(), "bearer", settings), None
    if cookie:
        with factory() as uow:
            resolved = accounts.resolve_session(
                uow, cookie, kind="session", idle=timedelta(minutes=settings.session_idle_minutes)
            )
        if resolved is None:
            # A stale cookie is not an attack: treat the browser as signed out.
            return ANONYMOUS, None
        _touch(factory, resolved)
        return resolved.principal, resolved.csrf_token
    return ANONYMOUS, None


def _session(factory: UnitOfWorkFactory, token: str, kind: str, settings: Settings) -> Principal:
    with factory() as uow:
        resolved = accounts.resolve_session(
            uow, token, kind=kind, idle=timedelta(minutes=settings.session_idle_minutes)
        )
    if resolved is None:
        raise InvalidCredentials("unknown, expired or revoked token: sign in again")
    _touch(factory, resolved)
    return resolved.principal


def _touch(factory: UnitOfWorkFactory, resolved: accounts.ResolvedSession) -> None:
    if resolved.needs_touch and resolved.principal.session_id is not None:
        with factory(write=True) as uow:
            accounts.touch_session(uow, resolved.principal.session_id)
            uow.commit()


CurrentPrincipal = Annotated[Principal, Depends(resolve_principal)]
