"""API shapes of telemetry (documentation of what the routes answer)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "BatchOut",
    "BucketOut",
    "IngestStatsOut",
    "ItemResult",
    "MetricOut",
    "ReadingOut",
    "SeriesPageOut",
    "TwinOut",
    "TwinValueOut",
]


class ItemResult(BaseModel):
    index: int = Field(description="Position of the item in the batch, from 0.")
    status: str = Field(description="accepted or rejected")
    asset: int | None = None
    reason: str | None = Field(
        default=None,
        description="Why an item was refused: malformed_json, not_an_object, bad_asset, "
        "unknown_asset (also an asset outside the key's scope), bad_timestamp, future_timestamp, "
        "too_old, bad_metrics, unknown_metric, bad_value, out_of_range, bad_event, "
        "over_batch_limit.",
    )
    message: str | None = None


class BatchOut(BaseModel):
    accepted: int
    rejected: int
    items: list[ItemResult]

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "accepted": 1,
            "rejected": 0,
            "items": [{"index": 0, "status": "accepted", "asset": 42}],
        }


class ReadingOut(BaseModel):
    ts: datetime
    value: float


class BucketOut(BaseModel):
    ts: datetime = Field(description="Start of the hour or day (UTC).")
    min: float
    max: float
    avg: float
    count: int


class SeriesPageOut(BaseModel):
    items: list[ReadingOut | BucketOut] = Field(
        description="Raw readings (bucket=raw), or one summary per hour or day."
    )
    next_cursor: str | None


class TwinValueOut(BaseModel):
    value: float
    ts: datetime


class TwinOut(BaseModel):
    asset: int
    status: str
    last_seen: datetime | None = Field(description="Last contact; null: never reported.")
    values: dict[str, TwinValueOut] = Field(description="Each metric's latest value.")


class IngestStatsOut(BaseModel):
    since: date
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    by_day: dict[str, dict[str, dict[str, int]]] = Field(
        description="{day: {source: {accepted or a refusal reason: count}}}"
    )


class MetricOut(BaseModel):
    kind: str = Field(description="number, bool or position")
    unit: str
    min: float | None
    max: float | None
    description: str
