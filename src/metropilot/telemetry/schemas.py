"""API shapes of telemetry (documentation of what the routes answer)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["BatchOut", "ItemResult"]


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
