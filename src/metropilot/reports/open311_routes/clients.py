"""The client apps behind Open311 ``api_key``s, and how many posts each may make a minute."""

from __future__ import annotations

import threading

from fastapi import Request

from metropilot.accounts import services as accounts
from metropilot.accounts.policy import Principal
from metropilot.api.ratelimit import SlidingWindowLimiter
from metropilot.reports.open311 import Open311Error
from metropilot.reports.open311_routes.answering import uow_of
from metropilot.settings import Settings

__all__ = ["client_of", "limit_posts"]


# limiters per process and limit.
_LIMITERS_ATTRIBUTE = "open311_limiters"
_limiters_lock = threading.Lock()


def limit_posts(request: Request, what: str, key: str) -> None:
    settings: Settings = request.app.state.settings
    per_minute = (
        settings.open311_posts_per_minute
        if what == "address"
        else settings.open311_posts_per_minute_per_key
    )
    # Each application (a server, a test's client) counts its own posts.
    state = request.app.state
    with _limiters_lock:
        limiters: dict[str, SlidingWindowLimiter] | None = getattr(state, _LIMITERS_ATTRIBUTE, None)
        if limiters is None:
            limiters = {}
            setattr(state, _LIMITERS_ATTRIBUTE, limiters)
        limiter = limiters.get(what)
        if limiter is None:
            limiter = limiters[what] = SlidingWindowLimiter(per_minute, 60.0)
    limiter.hit(f"{what}:{key}")


def client_of(request: Request, given: str | None, permission: str) -> Principal:
    """The client app behind an ``api_key``: 403 unless it may ``permission``."""
    key = given or request.headers.get("x-api-key")
    if not key:
        raise Open311Error.forbidden("api_key is required")
    with uow_of(request) as uow:
        found = accounts.resolve_key(uow, key.strip(), last_use=request.app.state.platform.last_use)
    if found is None:
        raise Open311Error.forbidden("api_key is not valid")
    if not any(s.covers(permission) for s in found.principal.key_scopes):
        raise Open311Error.forbidden(f"this api_key may not use {permission}")
    limit_posts(request, "key", str(found.key_id))
    return found.principal
