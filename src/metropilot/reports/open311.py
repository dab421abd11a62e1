"""Open311 GeoReport v2 on the wire: the documents we answer with and the parameters we read. Pure.

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

The parsing half reads what clients send: the format suffix, ``attribute[CODE]`` form fields,
comma lists, W3C datetimes, and checks attribute answers against a service definition. Problems
are raised or returned as :class:`Open311Error` descriptions that the routes turn into the spec's
``errors`` document (404 unknown jurisdiction/service/token/request, 403 api_key, 400 otherwise).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, NamedTuple, TypeAlias
from zoneinfo import ZoneInfo

import orjson

from metropilot.shared.bounds import check_instant
from metropilot.shared.errors import InvalidInput

__all__ = [
    "DATATYPES",
    "DEFAULT_REQUESTS_LIMIT",
    "GEOREPORT_V2_SPECIFICATION",
    "JSON_MEDIA_TYPE",
    "MAX_DATE_SPAN",
    "MIME_JSON",
    "MIME_XML",
    "UPDATE_STATUSES",
    "WIRE_TIMEZONE",
    "XML_MEDIA_TYPE",
    "AttributeDefinition",
    "AttributeValueOption",
    "CreatedRequest",
    "Datatype",
    "Discovery",
    "DiscoveryEndpoint",
    "ErrorEntry",
    "Format",
    "NoteView",
    "Open311Error",
    "PhotoView",
    "Rendered",
    "RequestAttributeView",
    "RequestUpdateView",
    "RequestView",
    "ServiceDefinition",
    "ServiceEntry",
    "TokenView",
    "format_datetime",
    "format_from_path",
    "parse_attributes",
    "parse_boolean_param",
    "parse_comma_list",
    "parse_datetime_param",
    "parse_status_list",
    "render_created_request",
    "render_discovery",
    "render_errors",
    "render_request_updates",
    "render_requests",
    "render_service_definition",
    "render_services",
    "render_tokens",
    "resolve_date_window",
    "retain_defined_attributes",
    "split_format",
    "validate_attributes",
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
# GET requests: "a span of 90 days or first 1000 requests returned, whichever is smallest".
MAX_DATE_SPAN = timedelta(days=90)
DEFAULT_REQUESTS_LIMIT = 1000
# FixMyStreet's servicerequestupdates statuses: Open311's two plus its richer set.
UPDATE_STATUSES = frozenset(
    {
        "open",
        "closed",
        "in_progress",
        "action_scheduled",
        "investigating",
        "duplicate",
        "not_councils_responsibility",
        "no_further_action",
        "internal_referral",
        "fixed",
        "cancelled",
        "reopen",
    }
)

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Rendered(NamedTuple):
    body: bytes
    media_type: str


# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    code: str | int
    description: str


class Open311Error(Exception):
    """An error the client caused, answered with ``status`` and the spec's ``errors`` body.

    The spec lets the body carry several errors (it is a list): ``additional`` holds the ones
    after the first, e.g. one per invalid attribute.
    """

    def __init__(
        self,
        status: int,
        code: str | int,
        description: str,
        *,
        additional: Sequence[ErrorEntry] = (),
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.entries: tuple[ErrorEntry, ...] = (ErrorEntry(code, description), *additional)

    @classmethod
    def bad_request(cls, first: str, *more: str) -> Open311Error:
        """400: a parameter is missing or invalid; one error entry per description."""
        return cls(400, 400, first, additional=[ErrorEntry(400, m) for m in more])

    @classmethod
    def forbidden(cls, description: str) -> Open311Error:
        """403: the api_key is missing or not valid."""
        return cls(403, 403, description)

    @classmethod
    def not_found(cls, description: str) -> Open311Error:
        """404: unknown jurisdiction, service code, token or request."""
        return cls(404, 404, description)

    def render(self, fmt: Format) -> Rendered:
        return render_errors(self.entries, fmt)


# --- the documents' inputs ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveryEndpoint:
    url: str
    changeset: datetime
    type: Literal["production", "test"]
    formats: tuple[str, ...] = (MIME_XML, MIME_JSON)
    specification: str = GEOREPORT_V2_SPECIFICATION


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovery:
    changeset: datetime
    contact: str
    key_service: str
    endpoints: tuple[DiscoveryEndpoint, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceEntry:
    """One line of GET services."""

    service_code: str
    service_name: str
    description: str | None
    metadata: bool  # true: the service has a definition (attributes) to fetch
    type: ServiceType
    keywords: tuple[str, ...] = ()  # written as the spec's comma-separated list
    group: str | None = None


@dataclass(frozen=True, slots=True)
class AttributeValueOption:
    """One choice of a value list: ``key`` is sent back, ``name`` is shown."""

    key: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeDefinition:
    code: str
    datatype: Datatype
    description: str
    required: bool
    order: int
    variable: bool = True  # false: information shown to the citizen, not a question
    datatype_description: str | None = None
    values: tuple[AttributeValueOption, ...] = ()

    def __post_init__(self) -> None:
        if self.datatype not in DATATYPES:
            raise ValueError(f"unknown Open311 datatype {self.datatype!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceDefinition:
    service_code: str
    attributes: tuple[AttributeDefinition, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedRequest:
    """The answer to POST requests. The spec forbids returning both an id and a token; a
    ``blackbox`` service returns neither."""

    service_request_id: str | None = None
    token: str | None = None
    service_notice: str | None = None
    account_id: str | None = None

    def __post_init__(self) -> None:
        if self.service_request_id is not None and self.token is not None:
            raise ValueError("a created request carries a service_request_id or a token, not both")


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenView:
    token: str
    service_request_id: str | None  # None while the request behind the token is not yet created


@dataclass(frozen=True, slots=True)
class RequestAttributeView:
    """A citizen's answer to one attribute (``extensions=true``); one value unless the
    attribute is a multivaluelist."""

    code: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoView:
    media_url: str
    created_at: datetime
    title: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteView:
    """A public entry of the request's history (``extensions=true``)."""

    datetime: datetime
    description: str
    type: str  # e.g. opened, status_change, comment, closed


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestView:
    """One service request as the public sees it: no personal data ever reaches this."""

    service_request_id: str
    status: Status
    service_code: str
    service_name: str
    requested_datetime: datetime
    updated_datetime: datetime
    lat: float | None
    long: float | None
    status_notes: str | None = None
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    expected_datetime: datetime | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    media_url: str | None = None
    # Written only when the client asked for extensions=true.
    attributes: tuple[RequestAttributeView, ...] = ()
    photos: tuple[PhotoView, ...] = ()
    notes: tuple[NoteView, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestUpdateView:
    """One FixMyStreet ``request_update``."""

    update_id: str
    service_request_id: str
    status: str  # one of UPDATE_STATUSES
    updated_datetime: datetime
    description: str | None = None
    media_url: str | None = None

    def __post_init__(self) -> None:
        if self.status not in UPDATE_STATUSES:
            raise ValueError(f"unknown update status {self.status!r}")


# --- the document tree and its two writers -----------------------------------------------------

_Scalar: TypeAlias = str | int | float | bool | datetime | None


@dataclass(frozen=True, slots=True)
class _Record:
    """An element whose children have distinct names; a JSON object."""

    fields: tuple[tuple[str, _Node], ...]


@dataclass(frozen=True, slots=True)
class _Repeated:
    """An element holding repeated ``item`` children; a JSON array."""

    item: str
    items: tuple[_Node, ...]


_Node: TypeAlias = _Record | _Repeated | _Scalar
_Json: TypeAlias = dict[str, "_Json"] | list["_Json"] | str | int | float | bool | None


def format_datetime(value: datetime) -> str:
    """W3C/ISO 8601 to the second, with the offset, in Paris local time."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"Open311 datetimes carry an offset; got naive {value!r}")
    return value.astimezone(WIRE_TIMEZONE).isoformat(timespec="seconds")


def _xml_text(value: _Scalar) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, float):
        return repr(value)
    return _XML_FORBIDDEN.sub("\ufffd", str(value))


def _xml_element(name: str, node: _Node) -> ET.Element:
    element = ET.Element(name)
    if isinstance(node, _Record):
        element.extend(_xml_element(child, value) for child, value in node.fields)
    elif isinstance(node, _Repeated):
        element.extend(_xml_element(node.item, item) for item in node.items)
    else:
        element.text = _xml_text(node)
    return element


def _json_value(node: _Node) -> _Json:
    if isinstance(node, _Record):
        return {name: _json_value(value) for name, value in node.fields}
    if isinstance(node, _Repeated):
        return [_json_value(item) for item in node.items]
    if isinstance(node, datetime):
        return format_datetime(node)
    if isinstance(node, float) and not math.isfinite(node):
        raise ValueError(f"not a finite number: {node!r}")
    return node


def _render(root: str, node: _Record | _Repeated, fmt: Format) -> Rendered:
    if fmt == "json":
        return Rendered(orjson.dumps(_json_value(node)), JSON_MEDIA_TYPE)
    if fmt == "xml":
        # The declaration is written by hand: ElementTree's uses single quotes and lower case,
        # and the spec shows encoding="UTF-8". Empty elements are written open/close as in the
        # spec's examples (both forms are the same XML).
        body = ET.tostring(_xml_element(root, node), encoding="unicode", short_empty_elements=False)
        return Rendered(_XML_DECLARATION + body.encode("utf-8"), XML_MEDIA_TYPE)
    raise ValueError(f"unknown format {fmt!r}")


# --- documents ---------------------------------------------------------------------------------


def render_discovery(discovery: Discovery, fmt: Format) -> Rendered:
    endpoints = _Repeated(
        "endpoint",
        tuple(
            _Record(
                (
                    ("specification", e.specification),
                    ("url", e.url),
                    ("changeset", e.changeset),
                    ("type", e.type),
                    ("formats", _Repeated("format", e.formats)),
                )
            )
            for e in discovery.endpoints
        ),
    )
    document = _Record(
        (
            ("changeset", discovery.changeset),
            ("contact", discovery.contact),
            ("key_service", discovery.key_service),
            ("endpoints", endpoints),
        )
    )
    return _render("discovery", document, fmt)


def render_services(services: Iterable[ServiceEntry], fmt: Format) -> Rendered:
    document = _Repeated(
        "service",
        tuple(
            _Record(
                (
                    ("service_code", s.service_code),
                    ("service_name", s.service_name),
                    ("description", s.description),
                    ("metadata", s.metadata),
                    ("type", s.type),
                    ("keywords", ", ".join(s.keywords) if s.keywords else None),
                    ("group", s.group),
                )
            )
            for s in services
        ),
    )
    return _render("services", document, fmt)


def render_service_definition(definition: ServiceDefinition, fmt: Format) -> Rendered:
    """Attributes are written in their ``order`` (the order clients present them in)."""
    attributes = sorted(definition.attributes, key=lambda a: a.order)
    document = _Record(
        (
            ("service_code", definition.service_code),
            (
                "attributes",
                _Repeated("attribute", tuple(_attribute_definition(a) for a in attributes)),
            ),
        )
    )
    return _render("service_definition", document, fmt)


def _attribute_definition(attribute: AttributeDefinition) -> _Record:
    values = tuple(_Record((("key", v.key), ("name", v.name))) for v in attribute.values)
    return _Record(
        (
            ("variable", attribute.variable),
            ("code", attribute.code),
            ("datatype", attribute.datatype),
            ("required", attribute.required),
            ("datatype_description", attribute.datatype_description),
            ("order", attribute.order),
            ("description", attribute.description),
            ("values", _Repeated("value", values)),
        )
    )


def render_created_request(created: CreatedRequest, fmt: Format) -> Rendered:
    """The POST requests answer: a list of one ``request``."""
    fields: list[tuple[str, _Node]] = []
    # "This should not be returned if token is returned" (and the other way round).
    if created.service_request_id is not None:
        fields.append(("service_request_id", created.service_request_id))
    if created.token is not None:
        fields.append(("token", created.token))
    fields.append(("service_notice", created.service_notice))
    fields.append(("account_id", created.account_id))
    return _render("service_requests", _Repeated("request", (_Record(tuple(fields)),)), fmt)


def render_tokens(tokens: Iterable[TokenView], fmt: Format) -> Rendered:
    """GET tokens/{token}: a list of ``request`` with ``service_request_id`` and ``token``."""
    document = _Repeated(
        "request",
        tuple(
            _Record((("service_request_id", t.service_request_id), ("token", t.token)))
            for t in tokens
        ),
    )
    return _render("service_requests", document, fmt)


def render_requests(
    requests: Iterable[RequestView], fmt: Format, *, extensions: bool = False
) -> Rendered:
    """GET requests and GET requests/{id}; ``extensions`` adds ``attributes``,
    ``extended_attributes`` (``photos``) and ``notes`` to every request."""
    document = _Repeated("request", tuple(_request(r, extensions) for r in requests))
    return _render("service_requests", document, fmt)


def _request(request: RequestView, extensions: bool) -> _Record:
    fields: list[tuple[str, _Node]] = [
        ("service_request_id", request.service_request_id),
        ("status", request.status),
        ("status_notes", request.status_notes),
        ("service_name", request.service_name),
        ("service_code", request.service_code),
        ("description", request.description),
        ("agency_responsible", request.agency_responsible),
        ("service_notice", request.service_notice),
        ("requested_datetime", request.requested_datetime),
        ("updated_datetime", request.updated_datetime),
        ("expected_datetime", request.expected_datetime),
        ("address", request.address),
        ("address_id", request.address_id),
        ("zipcode", request.zipcode),
        ("lat", request.lat),
        ("long", request.long),
        ("media_url", request.media_url),
    ]
    if extensions:
        fields += [
            (
                "attributes",
                _Repeated(
                    "attribute",
                    tuple(
                        _Record((("code", a.code), ("values", _Repeated("value", a.values))))
                        for a in request.attributes
                    ),
                ),
            ),
            (
                "extended_attributes",
                _Record(
                    (("photos", _Repeated("photo", tuple(_photo(p) for p in request.photos))),)
                ),
            ),
            ("notes", _Repeated("note", tuple(_note(n) for n in request.notes))),
        ]
    return _Record(tuple(fields))


def _photo(photo: PhotoView) -> _Record:
    return _Record(
        (
            ("media_url", photo.media_url),
            ("title", photo.title),
            ("width", photo.width),
            ("height", photo.height),
            ("created_at", photo.created_at),
        )
    )


def _note(note: NoteView) -> _Record:
    return _Record(
        (("datetime", note.datetime), ("description", note.description), ("type", note.type))
    )


def render_request_updates(updates: Iterable[RequestUpdateView], fmt: Format) -> Rendered:
    """FixMyStreet's GET servicerequestupdates."""
    document = _Repeated(
        "request_update",
        tuple(
            _Record(
                (
                    ("update_id", u.update_id),
                    ("service_request_id", u.service_request_id),
                    ("status", u.status),
                    ("updated_datetime", u.updated_datetime),
                    ("description", u.description),
                    ("media_url", u.media_url),
                )
            )
            for u in updates
        ),
    )
    return _render("service_request_updates", document, fmt)


def render_errors(errors: Iterable[ErrorEntry], fmt: Format) -> Rendered:
    document = _Repeated(
        "error",
        tuple(_Record((("code", e.code), ("description", e.description))) for e in errors),
    )
    return _render("errors", document, fmt)


# --- what clients send -------------------------------------------------------------------------


def format_from_path(path_suffix: str) -> Format:
    """``xml`` or ``json`` (the resource's extension, without the dot); anything else is a 400.

    The routes answer that error in XML, the format every client must read."""
    if path_suffix == "xml":
        return "xml"
    if path_suffix == "json":
        return "json"
    raise Open311Error.bad_request(
        f"unknown response format {path_suffix!r}: ask for .xml or .json"
    )


def split_format(resource: str) -> tuple[str, Format]:
    """``"123.json"`` → ``("123", "json")``: the last dot separates the format, so an id or a
    service code may itself contain dots."""
    name, dot, suffix = resource.rpartition(".")
    if not dot or not name:
        raise Open311Error.bad_request(
            f"{resource!r} names no response format: end it with .xml or .json"
        )
    return name, format_from_path(suffix)


_ATTRIBUTE_FIELD = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def parse_attributes(form_items: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    """The ``attribute[CODE]=v`` and ``attribute[CODE][]=v`` fields of a POST, by code.

    Values are stripped; an empty one counts as absent (the spec: an empty parameter is an absent
    one), so a code whose values are all empty is missing from the result. ``[]`` fields, or a
    plain field given more than once, give a list; a lone plain field gives a string. Other
    fields are not attributes and are ignored; a malformed ``attribute…`` name is a 400.
    """
    collected: dict[str, list[str]] = {}
    listed: set[str] = set()
    for name, raw in form_items:
        if not name.startswith("attribute"):
            continue
        match = _ATTRIBUTE_FIELD.match(name)
        if match is None:
            raise Open311Error.bad_request(
                f"malformed parameter name {name!r}: use attribute[CODE] or attribute[CODE][]"
            )
        code, brackets = match.group(1), match.group(2)
        if brackets:
            listed.add(code)
        value = raw.strip()
        if value:
            collected.setdefault(code, []).append(value)
    return {
        code: values if code in listed or len(values) > 1 else values[0]
        for code, values in collected.items()
    }


def parse_comma_list(value: str | None) -> list[str]:
    """``"a, b,,a"`` → ``["a", "b"]``: stripped, without empties or repeats; absent → ``[]``."""
    if value is None:
        return []
    items = (item.strip() for item in value.split(","))
    return list(dict.fromkeys(item for item in items if item))


def parse_status_list(value: str | None) -> list[Status]:
    """The ``status`` filter of GET requests: a comma list of ``open`` and ``closed``."""
    statuses: list[Status] = []
    for item in parse_comma_list(value):
        if item == "open":
            statuses.append("open")
        elif item == "closed":
            statuses.append("closed")
        else:
            raise Open311Error.bad_request(f"status: {item!r} is neither open nor closed")
    return statuses


def parse_boolean_param(name: str, value: str | None) -> bool:
    """``true``/``false`` (any case; also 1/0); absent or empty is false."""
    if value is None or not value.strip():
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise Open311Error.bad_request(f"{name}: expected true or false, got {value!r}")


# A '+' left unencoded in a query string arrives as a space: "…T10:00:00 02:00".
_SPACE_FOR_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def _parse_w3c(value: str) -> datetime | None:
    """A datetime with an offset, or None when the text is not one (naive included)."""
    text = _SPACE_FOR_PLUS.sub(r"\1+\2", value.strip())
    if "T" not in text and " " not in text:
        return None  # a bare date: no time, so no offset
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed


def parse_datetime_param(name: str, value: str | None) -> datetime | None:
    """A W3C datetime with its offset (``2024-05-01T00:00:00+02:00`` or ``…Z``); absent or
    empty is None. Without an offset the instant is ambiguous, so it is refused, not guessed."""
    if value is None or not value.strip():
        return None
    parsed = _parse_w3c(value)
    if parsed is None:
        raise Open311Error.bad_request(
            f"{name}: {value!r} is not an ISO 8601 date and time with a timezone offset, "
            "e.g. 2024-05-01T00:00:00+02:00 or 2024-05-01T00:00:00Z"
        )
    try:
        return check_instant(parsed, name)  # the platform's one range of instants
    except InvalidInput as exc:
        raise Open311Error.bad_request(exc.message) from None


def resolve_date_window(
    start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """The ``requested_datetime`` range GET requests searches: the last 90 days by default; one
    bound alone reaches 90 days from it; two bounds may not be more than 90 days apart."""
    if start is None and end is None:
        return now - MAX_DATE_SPAN, now
    if start is None:
        assert end is not None
        return end - MAX_DATE_SPAN, end
    if end is None:
        return start, start + MAX_DATE_SPAN
    if end < start:
        raise Open311Error.bad_request("end_date is before start_date")
    if end - start > MAX_DATE_SPAN:
        raise Open311Error.bad_request("start_date and end_date may not be more than 90 days apart")
    return start, end


# --- attribute answers against a service definition --------------------------------------------


def validate_attributes(
    definitions: Sequence[AttributeDefinition], submitted: Mapping[str, str | list[str]]
) -> list[str]:
    """Every problem with the submitted answers, one description per attribute, naming it as
    the client sent it (``attribute[CODE]``). Empty means valid.

    Codes the definition does not know, and answers to informational (``variable=false``)
    attributes, are not errors: they are dropped by :func:`retain_defined_attributes`.
    """
    problems: list[str] = []
    for definition in sorted(definitions, key=lambda d: d.order):
        if not definition.variable:
            continue
        answer = submitted.get(definition.code)
        values = [answer] if isinstance(answer, str) else list(answer or [])
        problem = _attribute_problem(definition, values)
        if problem is not None:
            problems.append(f"attribute[{definition.code}] {problem}")
    return problems


def _attribute_problem(definition: AttributeDefinition, values: list[str]) -> str | None:
    if not values:
        return f"is required ({definition.description})" if definition.required else None
    if definition.datatype != "multivaluelist" and len(values) > 1:
        return f"takes one value, got {len(values)}"
    if definition.datatype in ("singlevaluelist", "multivaluelist"):
        keys = [option.key for option in definition.values]
        unknown = [v for v in values if v not in keys]
        if unknown:
            listed = ", ".join(repr(v) for v in unknown)
            return f"has no value {listed}; expected one of {', '.join(keys)}"
        return None
    value = values[0]
    if definition.datatype == "string" and ("\n" in value or "\r" in value):
        return "is a single line of text: line breaks are not allowed"
    if definition.datatype == "number" and not _is_number(value):
        return f"must be a number, got {value!r}"
    if definition.datatype == "datetime" and not _is_date_or_datetime(value):
        return (
            f"must be an ISO 8601 date (2024-05-01) or date and time with an offset "
            f"(2024-05-01T08:30:00+02:00), got {value!r}"
        )
    return None


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _is_date_or_datetime(value: str) -> bool:
    if _parse_w3c(value) is not None:
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def retain_defined_attributes(
    definitions: Sequence[AttributeDefinition], submitted: Mapping[str, str | list[str]]
) -> dict[str, str | list[str]]:
    """The answers worth storing: defined, variable attributes only; a multivaluelist answer is
    always a list (without repeats), any other a string. Call after validation."""
    kept: dict[str, str | list[str]] = {}
    for definition in definitions:
        answer = submitted.get(definition.code)
        if not definition.variable or answer is None:
            continue
        values = [answer] if isinstance(answer, str) else list(dict.fromkeys(answer))
        if not values:
            continue
        kept[definition.code] = values if definition.datatype == "multivaluelist" else values[0]
    return kept
