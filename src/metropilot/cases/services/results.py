"""What the cases services answer: typed JSON objects.

``TypedDict``s, as in the contracts' services: the answers stay the plain dicts the API renders
and the tests read, and mypy checks every key. Procedures and SLA policies are their stored
rows, timestamps included as ``datetime``s (the API renders them as ISO 8601).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Pydantic reads these for the OpenAPI document; before Python 3.12 it needs this TypedDict.
from typing_extensions import TypedDict

__all__ = ["ChainStats", "LinkSummary", "Procedure", "SlaPolicy"]


class Procedure(TypedDict):
    """The checklist a category's work follows."""

    category: str
    title: str
    steps: list[str]
    updated_at: datetime
    updated_by: str


class SlaPolicy(TypedDict):
    """A team's (or every team's: ``*``) targets for a priority."""

    team: str
    priority: str
    clock: str  # calendar or business
    response_minutes: int
    resolution_minutes: int
    calendar: dict[str, Any] | None  # a business calendar's spec; None: the default
    updated_at: datetime


class LinkSummary(TypedDict):
    """How long a link of the chain took, in seconds."""

    count: int
    median_s: float
    p90_s: float


class ChainStats(TypedDict):
    """Each link's summary, overall (key ``all``) and by team, side and commune."""

    since: str
    until: str
    cases: int
    overall: dict[str, dict[str, LinkSummary]]
    team: dict[str, dict[str, LinkSummary]]
    sector: dict[str, dict[str, LinkSummary]]
    commune: dict[str, dict[str, LinkSummary]]
