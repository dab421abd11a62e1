"""The one document tree of Open311 GeoReport v2 and its two writers, XML and JSON. Pure.

Every document is first described once as a small tree (records, repeated elements, scalars) and
then written either as XML (built with ElementTree, so every text is escaped) or as JSON, the
spec's "Spark convention" mapping of that same XML:

* a record (``<request>…</request>``) becomes an object whose keys are the child element names;
* a container of repeated elements (``<values><value>…</value></values>``) becomes an array named
  after the container (``"values": […]``); an empty container is ``<values></values>`` / ``[]``;
* a document whose root is a container (``services``, ``service_requests``, ``errors``,
  ``service_request_updates``) is a JSON array; one whose root is a record (``discovery``,
  ``service_definition``) is a JSON object, as in the spec's examples.

Values (decided here once, for every document):

* absent (``None``): the element is still written, empty (``<description></description>``), and
  JSON has ``null`` — the spec's own examples do exactly this for ``description``,
  ``agency_responsible`` and ``account_id``. The only elements left out are those the spec says
  must not appear: ``service_request_id`` or ``token`` in the POST answer, whichever is not given.
* booleans: ``true``/``false`` in both.
* numbers (``order``, ``lat``, ``long``, photo sizes): text in XML, numbers in JSON.
* identifiers (``service_request_id``, ``token``, ``address_id``, ``zipcode``, codes, keys):
  always strings, in JSON too (the spec's examples show numbers, but identifiers are opaque and
  ``006`` is not a JSON number).
* datetimes: ISO 8601 / W3C with the offset, to the second, in Paris local time
  (``2024-03-31T03:15:00+02:00``); a naive datetime is a programming error and raises.
* text that XML 1.0 cannot carry (control characters other than tab and line breaks, U+FFFE,
  U+FFFF) becomes U+FFFD in XML; JSON escapes it and keeps it.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple, TypeAlias
from zoneinfo import ZoneInfo

import orjson

__all__ = [
    "DATATYPES",
    "GEOREPORT_V2_SPECIFICATION",
    "JSON_MEDIA_TYPE",
    "MIME_JSON",
    "MIME_XML",
    "WIRE_TIMEZONE",
    "XML_MEDIA_TYPE",
    "Datatype",
    "Format",
    "Node",
    "Record",
    "Rendered",
    "Repeated",
    "ServiceType",
    "Status",
    "format_datetime",
    "render_document",
]


Format = Literal["xml", "json"]
Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
ServiceType = Literal["realtime", "batch", "blackbox"]
Status = Literal["open", "closed"]

DATATYPES: tuple[Datatype, ...] = (
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
)
GEOREPORT_V2_SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# The MIME types discovery lists; the media types carry the charset the spec asks for.
MIME_XML = "text/xml"
MIME_JSON = "application/json"
XML_MEDIA_TYPE = "text/xml; charset=utf-8"
JSON_MEDIA_TYPE = "application/json; charset=utf-8"
WIRE_TIMEZONE = ZoneInfo("Europe/Paris")

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Rendered(NamedTuple):
    body: bytes
    media_type: str


# --- the document tree and its two writers -----------------------------------------------------

Scalar: TypeAlias = str | int | float | bool | datetime | None


@dataclass(frozen=True, slots=True)
class Record:
    """An element whose children have distinct names; a JSON object."""

    fields: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class Repeated:
    """An element holding repeated ``item`` children; a JSON array."""

    item: str
    items: tuple[Node, ...]


Node: TypeAlias = Record | Repeated | Scalar
_Json: TypeAlias = dict[str, "_Json"] | list["_Json"] | str | int | float | bool | None


def format_datetime(value: datetime) -> str:
    """W3C/ISO 8601 to the second, with the offset, in Paris local time."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"Open311 datetimes carry an offset; got naive {value!r}")
    return value.astimezone(WIRE_TIMEZONE).isoformat(timespec="seconds")


def _xml_text(value: Scalar) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, float):
        return repr(value)
    return _XML_FORBIDDEN.sub("\ufffd", str(value))


def _xml_element(name: str, node: Node) -> ET.Element:
    element = ET.Element(name)
    if isinstance(node, Record):
        element.extend(_xml_element(child, value) for child, value in node.fields)
    elif isinstance(node, Repeated):
        element.extend(_xml_element(node.item, item) for item in node.items)
    else:
        element.text = _xml_text(node)
    return element


def _json_value(node: Node) -> _Json:
    if isinstance(node, Record):
        return {name: _json_value(value) for name, value in node.fields}
    if isinstance(node, Repeated):
        return [_json_value(item) for item in node.items]
    if isinstance(node, datetime):
        return format_datetime(node)
    if isinstance(node, float) and not math.isfinite(node):
        raise ValueError(f"not a finite number: {node!r}")
    return node


def render_document(root: str, node: Record | Repeated, fmt: Format) -> Rendered:
    if fmt == "json":
        return Rendered(orjson.dumps(_json_value(node)), JSON_MEDIA_TYPE)
    if fmt == "xml":
        # The declaration is written by hand: ElementTree's uses single quotes and lower case,
        # and the spec shows encoding="UTF-8". Empty elements are written open/close as in the
        # spec's examples (both forms are the same XML).
        body = ET.tostring(_xml_element(root, node), encoding="unicode", short_empty_elements=False)
        return Rendered(_XML_DECLARATION + body.encode("utf-8"), XML_MEDIA_TYPE)
    raise ValueError(f"unknown format {fmt!r}")
