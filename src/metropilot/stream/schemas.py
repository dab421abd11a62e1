"""API shapes of the live stream: what the ``data:`` line of each event holds (for the docs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from metropilot.stream.model import EVENT_TYPES

__all__ = ["SSE_MEDIA_TYPE", "StreamEventData", "openapi_responses"]

SSE_MEDIA_TYPE = "text/event-stream"


class StreamEventData(BaseModel):
    """The JSON of one event's ``data:`` line. Alarm events carry the alarm's fields too."""

    model_config = ConfigDict(extra="allow")

    id: int = Field(description="The journal id, also the SSE id: send it back as Last-Event-ID.")
    type: str = Field(description="Also the SSE event name: " + ", ".join(EVENT_TYPES) + ".")
    at: str = Field(description="When the change happened, ISO 8601 with offset.")
    asset: int | None = Field(default=None, description="The asset's id.")
    commune: str | None = Field(default=None, description="INSEE code of the asset's commune.")
    kind: str | None = Field(default=None, description="The asset's kind.")
    status: str | None = Field(default=None, description="asset.status: the new status.")
    previous_status: str | None = Field(default=None, description="asset.status: the old one.")


EXAMPLE = (
    "retry: 3000\n\n"
    "id: 1842\n"
    "event: asset.status\n"
    'data: {"id":1842,"type":"asset.status","at":"2026-11-27T17:42:03.120000+00:00",'
    '"asset":5312,"commune":"21231","kind":"streetlight","status":"fault",'
    '"previous_status":"ok"}\n\n'
    ": keep-alive\n\n"
)


def openapi_responses() -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "Server-Sent Events; each data line is a StreamEventData object.",
            "content": {
                SSE_MEDIA_TYPE: {
                    # Before OpenAPI 3.2 (and its itemSchema), a stream's schema describes each
                    # event: its name, its id, and its data line, JSON of a StreamEventData.
                    "schema": {
                        "type": "object",
                        "required": ["event", "data"],
                        "properties": {
                            "event": {"type": "string", "description": "the event's type"},
                            "id": {"type": "string", "description": "the journal id"},
                            "retry": {"type": "integer"},
                            "data": {
                                "type": "string",
                                "contentMediaType": "application/json",
                                "contentSchema": StreamEventData.model_json_schema(),
                            },
                        },
                    },
                    "example": EXAMPLE,
                }
            },
        },
        400: {"description": "Bad Last-Event-ID, since, types or commune."},
        401: {"description": "Nobody signed in."},
        503: {"description": "Too many open streams on this server; retry later."},
    }
