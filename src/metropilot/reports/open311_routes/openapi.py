"""What the OpenAPI document says of the Open311 routes: the parameters and bodies they read
themselves, and the documents they answer in XML and JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from metropilot.reports.open311_routes.answering import MAX_PAGE_SIZE
from metropilot.reports.open311_routes.schemas import ErrorJson
from metropilot.reports.open311_routes.statuses import FROM_UPDATE_STATUS

# --- what the OpenAPI document says of the parameters the routes read themselves ----------------
# The routes read their parameters from the query and the form as the spec says (an empty one
# counts as absent), so FastAPI cannot see them: they are described here, for clients and for
# the generated tests.

# The format is the URL's suffix: .xml (the spec's own) or .json.
Fmt = Annotated[str, Path(description="xml or json", json_schema_extra={"enum": ["xml", "json"]})]


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


JURISDICTION = _query("jurisdiction_id", "this server's one jurisdiction; may be left out")
EXTENSIONS = _query(
    "extensions", "true: add attributes, photos and notes", type="string", enum=["true", "false"]
)
DATE_WINDOW = [
    _query(
        f"{name}_date",
        f"ISO 8601 with offset; requests {when}; at most 90 days apart",
        type="string",
        format="date-time",
    )
    for name, when in (("start", "at or after"), ("end", "at or before"))
]
READ_REQUESTS = [
    JURISDICTION,
    _query("service_request_id", "report numbers, comma separated; override the other filters"),
    _query("service_code", "category codes, comma separated"),
    *DATE_WINDOW,
    _query("status", "open, closed, or both comma separated"),
    _query("page_size", "at most 1,000", type="integer", minimum=1, maximum=MAX_PAGE_SIZE),
    _query("page", "from 1", type="integer", minimum=1, maximum=1_000_000),
    EXTENSIONS,
]
_API_KEY = {
    "type": "string",
    "description": "a key with the permission the operation needs (or the X-API-Key header)",
}
_POST_REQUEST_FIELDS: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "lat", "long"],
    "properties": {
        "api_key": _API_KEY,
        "jurisdiction_id": {"type": "string"},
        "service_code": {"type": "string", "description": "a category code (services.xml)"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": {"type": "string"},
        "address_id": {"type": "string", "description": "not located here: send lat and long"},
        "email": {"type": "string"},
        "device_id": {"type": "string"},
        "account_id": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "phone": {"type": "string"},
        "description": {"type": "string", "maxLength": 4000},
        "media_url": {"type": "string"},
    },
    # The answers to the category's questions: attribute[CODE]=value, or attribute[CODE][]=v
    # repeated for a multivaluelist (see services/{service_code}.xml).
    "additionalProperties": {"type": "string"},
}
POST_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": _POST_REQUEST_FIELDS},
            "multipart/form-data": {
                "schema": {
                    **_POST_REQUEST_FIELDS,
                    "properties": {
                        **_POST_REQUEST_FIELDS["properties"],
                        "media": {
                            "type": "array",
                            "maxItems": 5,
                            "items": {"type": "string", "format": "binary"},
                            "description": "photos (JPEG, PNG, HEIC), 10 MB each",
                        },
                    },
                }
            },
        },
    }
}
POST_UPDATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["service_request_id", "status"],
                    "properties": {
                        "api_key": _API_KEY,
                        "jurisdiction_id": {"type": "string"},
                        "service_request_id": {"type": "string", "pattern": "^[0-9]{1,10}$"},
                        "status": {"type": "string", "enum": sorted(FROM_UPDATE_STATUS)},
                        "description": {"type": "string"},
                    },
                }
            }
        },
    }
}


# Per client address and per key (settings open311_posts_per_minute[_per_key]); one pair of


# --- what the routes answer ---------------------------------------------------------------------
# Every document comes in XML (the spec's own format) or in JSON, as the URL's suffix asks. The
# JSON shape is described; the XML one is that same tree (see metropilot.reports.open311).
_XML: dict[str, Any] = {"text/xml": {}}
_ERRORS: dict[str, Any] = {
    "model": list[ErrorJson],
    "description": "The specification's errors document: 400 a bad parameter, 403 a missing or "
    "invalid api_key, 404 an unknown jurisdiction, service, request or token, 429 too many posts.",
    "content": _XML,
}


def answers(document: Any, description: str, *, status: int = 200) -> dict[int | str, Any]:
    """The ``responses`` of an Open311 route answering ``document`` (a model of its JSON)."""
    return {
        status: {"model": document, "description": description, "content": _XML},
        "4XX": _ERRORS,
    }


PHOTO_ANSWERS: dict[int | str, Any] = {
    200: {"description": "the photo, or its thumbnail, as JPEG", "content": {"image/jpeg": {}}},
    "4XX": _ERRORS,
}
