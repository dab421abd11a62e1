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

The package: ``wire`` (the document tree and its two writers), ``documents`` (what each document
says), ``render`` (the documents), ``errors``, ``params`` (what clients send) and ``attributes``
(answers checked against a service definition).
"""

from __future__ import annotations

from metropilot.reports.open311.attributes import retain_defined_attributes, validate_attributes
from metropilot.reports.open311.documents import (
    UPDATE_STATUSES,
    AttributeDefinition,
    AttributeValueOption,
    CreatedRequest,
    Discovery,
    DiscoveryEndpoint,
    NoteView,
    PhotoView,
    RequestAttributeView,
    RequestUpdateView,
    RequestView,
    ServiceDefinition,
    ServiceEntry,
    TokenView,
)
from metropilot.reports.open311.errors import ErrorEntry, Open311Error, render_errors
from metropilot.reports.open311.params import (
    DEFAULT_REQUESTS_LIMIT,
    MAX_DATE_SPAN,
    format_from_path,
    parse_attributes,
    parse_boolean_param,
    parse_comma_list,
    parse_datetime_param,
    parse_status_list,
    resolve_date_window,
    split_format,
)
from metropilot.reports.open311.render import (
    render_created_request,
    render_discovery,
    render_request_updates,
    render_requests,
    render_service_definition,
    render_services,
    render_tokens,
)
from metropilot.reports.open311.wire import (
    DATATYPES,
    GEOREPORT_V2_SPECIFICATION,
    JSON_MEDIA_TYPE,
    MIME_JSON,
    MIME_XML,
    WIRE_TIMEZONE,
    XML_MEDIA_TYPE,
    Datatype,
    Format,
    Rendered,
    format_datetime,
)

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
