"""Open311 GeoReport v2 on the wire: the documents we answer with and the parameters we read. Pure.

Documents are described once as a small tree and written as XML or JSON (the Spark convention);
``wire`` says how, value by value.

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
