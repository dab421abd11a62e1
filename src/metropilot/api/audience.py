"""Every endpoint declares who it is for; a test fails on any route that does not.

The declaration is a dependency, so it sits in the route's signature where a reader sees it and
where the accounts work enforces it (authentication, role and scope) without touching the routes.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from fastapi import Depends

__all__ = ["AUDIENCE_ATTRIBUTE", "Audience", "audience"]

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
