"""JSON responses rendered by orjson: fast, and datetimes come out as ISO 8601 with offset."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

__all__ = ["GEOJSON_MEDIA_TYPE", "GeoJSONResponse", "JSONResponseFast"]

GEOJSON_MEDIA_TYPE = "application/geo+json"


class JSONResponseFast(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class GeoJSONResponse(JSONResponseFast):
    media_type = GEOJSON_MEDIA_TYPE
