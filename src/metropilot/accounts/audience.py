"""Who an endpoint is for, checked: the accounts context resolves the caller and applies its
policy for the audiences every route declares (``metropilot.api.audience``, re-exported here)."""

from __future__ import annotations

from fastapi import Request

from metropilot.accounts.auth import resolve_principal
from metropilot.accounts.policy import may_access
from metropilot.api.audience import (
    ASSET_READERS,
    AUDIENCE_ATTRIBUTE,
    PEOPLE,
    STAFF,
    Audience,
    NotSignedIn,
    audience,
    route_audiences,
)
from metropilot.shared.errors import Forbidden

__all__ = [
    "ASSET_READERS",
    "AUDIENCE_ATTRIBUTE",
    "PEOPLE",
    "STAFF",
    "Audience",
    "NotSignedIn",
    "audience",
    "check_audience",
    "route_audiences",
]


async def check_audience(request: Request, values: frozenset[str]) -> None:
    """The application's audience check (``app.state.audience_check``): 401 when nobody is
    signed in, 403 when the caller is outside every audience."""
    principal = await resolve_principal(request)
    if may_access(principal, values):
        return
    if not principal.authenticated:
        raise NotSignedIn("sign in first: this endpoint is for " + ", ".join(sorted(values)))
    raise Forbidden(
        f"this endpoint is for {', '.join(sorted(values))}, not for this account",
        code="forbidden",
    )
