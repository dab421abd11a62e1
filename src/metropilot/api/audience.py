"""Every endpoint declares who it is for; a test fails on any route that does not.

The declaration is a dependency, so it sits in the route's signature where a reader sees it, and
it enforces itself: it asks the application's audience check (``app.state.audience_check``, the
accounts context's ``check_audience``, installed by ``metropilot.web.app``) to resolve the caller
and refuse anyone outside the audiences (401 when nobody is signed in, 403 otherwise). What a
caller then sees is narrowed by the policy's scope. Declared here, below every context, so any
context's routes can say who they are for without importing the accounts context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from enum import StrEnum
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from metropilot.shared.errors import DomainError

__all__ = [
    "ASSET_READERS",
    "AUDIENCE_ATTRIBUTE",
    "PEOPLE",
    "STAFF",
    "Audience",
    "AudienceCheck",
    "NotSignedIn",
    "audience",
    "route_audiences",
]

AUDIENCE_ATTRIBUTE = "__metropilot_audience__"

# Resolves the caller and refuses it unless it belongs to one of the audiences (by value).
AudienceCheck = Callable[[Request, frozenset[str]], Awaitable[None]]


class Audience(StrEnum):
    PUBLIC = "public"
    CITIZEN = "citizen"
    COMMUNE_AGENT = "commune_agent"
    CONTRACTOR = "contractor"
    FIELD_AGENT = "field_agent"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    DEVICE = "device"


# Shorthands for the audiences routes use most.
STAFF = (Audience.OPERATOR, Audience.SUPERVISOR, Audience.ADMIN)
# Who reads the equipment registry; each sees only its scope (accounts.policy.asset_scope).
ASSET_READERS = (
    *STAFF,
    Audience.COMMUNE_AGENT,
    Audience.CONTRACTOR,
    Audience.FIELD_AGENT,
    Audience.DEVICE,
)
PEOPLE = (
    Audience.ADMIN,
    Audience.SUPERVISOR,
    Audience.OPERATOR,
    Audience.COMMUNE_AGENT,
    Audience.CONTRACTOR,
    Audience.FIELD_AGENT,
    Audience.CITIZEN,
)


def audience(*audiences: Audience) -> Any:
    """Declare the audiences of a route: ``dependencies=[audience(Audience.PUBLIC)]``."""
    if not audiences:
        raise ValueError("a route must name at least one audience")
    allowed = frozenset(audiences)
    values = frozenset(a.value for a in allowed)

    async def declared_audience(request: Request) -> None:
        check: AudienceCheck | None = getattr(request.app.state, "audience_check", None)
        if check is None:
            raise RuntimeError("the application has no audience check (app.state.audience_check)")
        await check(request, values)

    marker: Callable[..., Awaitable[None]] = declared_audience
    setattr(marker, AUDIENCE_ATTRIBUTE, allowed)
    return Depends(marker)


class NotSignedIn(DomainError):
    code = "not_authenticated"
    http_status = 401


def _audiences_of(dependencies: Iterable[Any]) -> frozenset[Audience]:
    found: set[Audience] = set()
    for dependency in dependencies:
        call = getattr(dependency, "dependency", None) or getattr(dependency, "call", None)
        found |= getattr(call, AUDIENCE_ATTRIBUTE, frozenset())
    return frozenset(found)


def route_audiences(
    routes: Iterable[BaseRoute], prefix: str = "", inherited: frozenset[Audience] = frozenset()
) -> Iterator[tuple[str, str, frozenset[Audience]]]:
    """``(methods, path, audiences)`` for every API route, through included routers.

    FastAPI keeps an included router's routes behind a wrapper; the walk follows
    ``original_router`` and adds the prefix and router-level dependencies of each inclusion.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            own = _audiences_of(route.dependant.dependencies) | _audiences_of(route.dependencies)
            yield ",".join(sorted(route.methods or ())), prefix + route.path, own | inherited
            continue
        original = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if original is not None:
            extra = _audiences_of(getattr(context, "dependencies", ()))
            yield from route_audiences(
                original.routes, prefix + str(getattr(context, "prefix", "")), inherited | extra
            )
