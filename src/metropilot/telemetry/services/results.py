"""What the telemetry services answer: typed JSON objects.

``TypedDict``s, as in the contracts' services: the answers stay the plain dicts the API renders
and the tests read, and mypy checks every key. Timestamps are ISO 8601 strings, as served.
"""

from __future__ import annotations

# Pydantic reads these for the OpenAPI document; before Python 3.12 it needs this TypedDict.
from typing_extensions import TypedDict

__all__ = ["IngestStats", "Twin", "TwinValue"]


class TwinValue(TypedDict):
    """A metric's newest value and when it was measured."""

    value: float
    ts: str


class Twin(TypedDict):
    """An asset as it last reported: its status, when, and each metric's newest value."""

    asset: int
    status: str
    last_seen: str | None
    values: dict[str, TwinValue]  # by metric, in the metrics' order


class IngestStats(TypedDict):
    """The ingest counters of the last days: accepted, rejected (and why), by day and source."""

    since: str  # the first day counted, YYYY-MM-DD
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    by_day: dict[str, dict[str, dict[str, int]]]  # day -> source -> outcome -> count
