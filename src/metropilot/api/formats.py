"""Content negotiation between JSON and GeoJSON, and the list envelope every list uses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel, Field

from metropilot.api.responses import GEOJSON_MEDIA_TYPE, GeoJSONResponse, JSONResponseFast
from metropilot.shared.errors import InvalidInput

__all__ = [
    "GEOJSON_ALTERNATIVE",
    "GEOJSON_CONTENT",
    "GEOJSON_MEDIA_TYPE",
    "GeoJSONResponse",
    "Page",
    "comma_list",
    "list_envelope",
    "wants_geojson",
]


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """Every list's envelope: a page of items and the cursor of the next one (null at the end).
    Declared as routes' ``response_model`` so the OpenAPI document says what a list holds; the
    routes themselves render the envelope with ``list_envelope``."""

    items: list[Item]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


# What a route that also answers GeoJSON (``format=geojson`` or ``Accept: application/geo+json``)
# declares besides its JSON model: ``responses=GEOJSON_ALTERNATIVE``.
GEOJSON_CONTENT: dict[str, Any] = {
    GEOJSON_MEDIA_TYPE: {
        "schema": {"type": "object", "description": "A GeoJSON Feature or FeatureCollection"}
    }
}
GEOJSON_ALTERNATIVE: dict[int | str, dict[str, Any]] = {200: {"content": GEOJSON_CONTENT}}


def comma_list(value: str | None) -> list[str]:
    """A query parameter's comma-separated values, stripped, empty ones dropped."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def wants_geojson(request: Request, fmt: str | None) -> bool:
    """``format=geojson`` wins; otherwise the Accept header decides; JSON by default."""
    if fmt:
        if fmt not in ("json", "geojson"):
            raise InvalidInput(f"format must be json or geojson, got {fmt!r}")
        return fmt == "geojson"
    accept = request.headers.get("accept", "")
    return GEOJSON_MEDIA_TYPE in accept


def list_envelope(items: Iterable[Any], next_cursor: str | None) -> JSONResponseFast:
    """``{"items": [...], "next_cursor": ...}``, rendered straight by orjson.

    Returning a response (not a dict) skips FastAPI's generic encoder, which costs more than the
    database query on a page of 1,000 assets.
    """
    return JSONResponseFast({"items": list(items), "next_cursor": next_cursor})
