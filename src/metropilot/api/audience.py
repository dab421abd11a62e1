"""Every endpoint declares who it is for; a test fails on any route that does not.

The declaration is a dependency, so it sits in the route's signature where a reader sees it and
where the accounts work enforces it (authentication, role and scope) without touching the routes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from typing import Any

from fastapi import Depends
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

__all__ = ["AUDIENCE_ATTRIBUTE", "Audience", "audience", "route_audiences"]

AUDIENCE_ATTRIBUTE = "__metropilot_audience__"


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


def audience(*audiences: Audience) -> Any:
    """Declare the audiences of a route: ``dependencies=[audience(Audience.PUBLIC)]``."""
    if not audiences:
        raise ValueError("a route must name at least one audience")

    def declared_audience() -> None:
        return None

    marker: Callable[[], None] = declared_audience
    setattr(marker, AUDIENCE_ATTRIBUTE, frozenset(audiences))
    return Depends(marker)


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
