"""The Open311 GeoReport v2 wire formats, checked against the specification's documents.

XML answers are parsed back with ElementTree and read element by element; the JSON answer of the
same document must be the spec's mechanical mapping of that XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from metropilot.reports.open311 import (
    JSON_MEDIA_TYPE,
    XML_MEDIA_TYPE,
    AttributeDefinition,
    AttributeValueOption,
    CreatedRequest,
    Discovery,
    DiscoveryEndpoint,
    ErrorEntry,
    NoteView,
    Open311Error,
    PhotoView,
    Rendered,
    RequestAttributeView,
    RequestUpdateView,
    RequestView,
    ServiceDefinition,
    ServiceEntry,
    TokenView,
    format_datetime,
    format_from_path,
    parse_attributes,
    parse_boolean_param,
    parse_comma_list,
    parse_datetime_param,
    parse_status_list,
    render_created_request,
    render_discovery,
    render_errors,
    render_request_updates,
    render_requests,
    render_service_definition,
    render_services,
    render_tokens,
    resolve_date_window,
    retain_defined_attributes,
    split_format,
    validate_attributes,
)

# Summer in Paris: UTC+2; winter: UTC+1.
REQUESTED = datetime(2024, 5, 14, 6, 37, 38, tzinfo=UTC)
UPDATED = datetime(2024, 1, 15, 9, 0, 0, tzinfo=UTC)
TRICKY = 'Lampe <cassée> & "clignotante" — l\'été 🎉 ça'

REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


def xml_root(rendered: Rendered) -> ET.Element:
    body, media_type = rendered
    assert media_type == XML_MEDIA_TYPE
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(body)


def json_doc(rendered: Rendered) -> Any:
    body, media_type = rendered
    assert media_type == JSON_MEDIA_TYPE
    return orjson.loads(body)


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def text(element: ET.Element, path: str) -> str | None:
    found = element.find(path)
    assert found is not None, f"no <{path}> in <{element.tag}>"
    assert len(found) == 0, f"<{path}> is not a leaf"
    return found.text


def full_request(**changes: Any) -> RequestView:
    values: dict[str, Any] = {
        "service_request_id": "638344",
        "status": "closed",
        "status_notes": "Duplicate request.",
        "service_name": "Street light out",
        "service_code": "streetlight",
        "description": TRICKY,
        "agency_responsible": "Lumière SA",
        "service_notice": "Repaired within 48 hours",
        "requested_datetime": REQUESTED,
        "updated_datetime": UPDATED,
        "expected_datetime": REQUESTED + timedelta(days=2),
        "address": "8 rue de la République, Lyon",
        "address_id": "545483",
        "zipcode": "69002",
        "lat": 45.762221815,
        "long": 4.8351145,
        "media_url": "https://city.example/media/638344.jpg?a=1&b=2",
    }
    values.update(changes)
    return RequestView(**values)


# --- discovery ---------------------------------------------------------------------------------


def test_discovery_in_both_formats() -> None:
    discovery = Discovery(
        changeset=UPDATED,
        contact="open311@metropole.example",
        key_service="Ask for a key at https://metropole.example/keys",
        endpoints=(
            DiscoveryEndpoint(
                url="https://metropole.example/open311/v2", changeset=UPDATED, type="production"
            ),
        ),
    )
    root = xml_root(render_discovery(discovery, "xml"))
    assert root.tag == "discovery"
    assert children(root) == ["changeset", "contact", "key_service", "endpoints"]
    assert text(root, "changeset") == "2024-01-15T10:00:00+01:00"
    assert text(root, "contact") == "open311@metropole.example"
    endpoints = root.findall("endpoints/endpoint")
    assert len(endpoints) == 1
    endpoint = endpoints[0]
    assert children(endpoint) == ["specification", "url", "changeset", "type", "formats"]
    assert text(endpoint, "specification") == "http://wiki.open311.org/GeoReport_v2"
    assert text(endpoint, "url") == "https://metropole.example/open311/v2"
    assert text(endpoint, "type") == "production"
    assert [f.text for f in endpoint.findall("formats/format")] == [
        "text/xml",
        "application/json",
    ]

    assert json_doc(render_discovery(discovery, "json")) == {
        "changeset": "2024-01-15T10:00:00+01:00",
        "contact": "open311@metropole.example",
        "key_service": "Ask for a key at https://metropole.example/keys",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": "https://metropole.example/open311/v2",
                "changeset": "2024-01-15T10:00:00+01:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


# --- services ----------------------------------------------------------------------------------

SERVICES = [
    ServiceEntry(
        service_code="streetlight",
        service_name="Éclairage en panne",
        description=TRICKY,
        metadata=True,
        type="realtime",
        keywords=("lampe", "éclairage"),
        group="lighting",
    ),
    ServiceEntry(
        service_code="graffiti",
        service_name="Graffiti",
        description=None,
        metadata=False,
        type="batch",
    ),
]


def test_service_list_xml() -> None:
    root = xml_root(render_services(SERVICES, "xml"))
    assert root.tag == "services"
    services = root.findall("service")
    assert len(services) == 2 == len(root)
    fields = [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    assert all(children(s) == fields for s in services)
    first, second = services
    assert text(first, "service_code") == "streetlight"
    assert text(first, "service_name") == "Éclairage en panne"
    assert text(first, "description") == TRICKY
    assert text(first, "metadata") == "true"
    assert text(first, "type") == "realtime"
    assert text(first, "keywords") == "lampe, éclairage"
    assert text(first, "group") == "lighting"
    # Absent values are empty elements, still present.
    assert text(second, "description") is None
    assert text(second, "metadata") == "false"
    assert text(second, "keywords") is None
    assert text(second, "group") is None


def test_service_list_json() -> None:
    assert json_doc(render_services(SERVICES, "json")) == [
        {
            "service_code": "streetlight",
            "service_name": "Éclairage en panne",
            "description": TRICKY,
            "metadata": True,
            "type": "realtime",
            "keywords": "lampe, éclairage",
            "group": "lighting",
        },
        {
            "service_code": "graffiti",
            "service_name": "Graffiti",
            "description": None,
            "metadata": False,
            "type": "batch",
            "keywords": None,
            "group": None,
        },
    ]


def test_empty_service_list() -> None:
    root = xml_root(render_services([], "xml"))
    assert root.tag == "services"
    assert len(root) == 0
    assert json_doc(render_services([], "json")) == []


# --- service definition ------------------------------------------------------------------------

DEFINITION = ServiceDefinition(
    service_code="streetlight",
    attributes=(
        AttributeDefinition(
            code="pole_number",
            datatype="string",
            description="Number on the pole",
            required=False,
            order=2,
            datatype_description="Letters and digits, e.g. SL-12",
        ),
        AttributeDefinition(
            code="lamp_state",
            datatype="singlevaluelist",
            description="What does the lamp do?",
            required=True,
            order=1,
            values=(
                AttributeValueOption("off", "Éteinte"),
                AttributeValueOption("blinking", "Clignote <vite> & fort"),
            ),
        ),
        AttributeDefinition(
            code="notice",
            datatype="text",
            description="Repairs take two days",
            required=False,
            order=3,
            variable=False,
        ),
    ),
)


def test_service_definition_xml() -> None:
    root = xml_root(render_service_definition(DEFINITION, "xml"))
    assert root.tag == "service_definition"
    assert children(root) == ["service_code", "attributes"]
    assert text(root, "service_code") == "streetlight"
    attributes = root.findall("attributes/attribute")
    fields = [
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
        "values",
    ]
    assert all(children(a) == fields for a in attributes)
    # Written in their order.
    assert [text(a, "code") for a in attributes] == ["lamp_state", "pole_number", "notice"]
    lamp, pole, notice = attributes
    assert text(lamp, "variable") == "true"
    assert text(lamp, "datatype") == "singlevaluelist"
    assert text(lamp, "required") == "true"
    assert text(lamp, "datatype_description") is None
    assert text(lamp, "order") == "1"
    assert text(lamp, "description") == "What does the lamp do?"
    values = lamp.findall("values/value")
    assert [children(v) for v in values] == [["key", "name"], ["key", "name"]]
    assert [(text(v, "key"), text(v, "name")) for v in values] == [
        ("off", "Éteinte"),
        ("blinking", "Clignote <vite> & fort"),
    ]
    assert text(pole, "required") == "false"
    assert text(pole, "datatype_description") == "Letters and digits, e.g. SL-12"
    pole_values = pole.find("values")
    assert pole_values is not None
    assert len(pole_values) == 0
    assert text(notice, "variable") == "false"


def test_service_definition_json() -> None:
    document = json_doc(render_service_definition(DEFINITION, "json"))
    assert document["service_code"] == "streetlight"
    assert document["attributes"][0] == {
        "variable": True,
        "code": "lamp_state",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": None,
        "order": 1,
        "description": "What does the lamp do?",
        "values": [
            {"key": "off", "name": "Éteinte"},
            {"key": "blinking", "name": "Clignote <vite> & fort"},
        ],
    }
    assert document["attributes"][1]["values"] == []
    assert document["attributes"][1]["datatype_description"] == "Letters and digits, e.g. SL-12"
    assert document["attributes"][2]["variable"] is False


def test_attribute_definition_refuses_unknown_datatype() -> None:
    with pytest.raises(ValueError, match="datatype"):
        AttributeDefinition(
            code="x",
            datatype="boolean",  # type: ignore[arg-type]
            description="x",
            required=False,
            order=1,
        )


# --- POST requests answer and tokens -----------------------------------------------------------


def test_created_request_with_an_id() -> None:
    created = CreatedRequest(
        service_request_id="293944", service_notice="Inspected within 24 hours", account_id=None
    )
    root = xml_root(render_created_request(created, "xml"))
    assert root.tag == "service_requests"
    requests = root.findall("request")
    assert len(requests) == 1 == len(root)
    request = requests[0]
    assert children(request) == ["service_request_id", "service_notice", "account_id"]
    assert text(request, "service_request_id") == "293944"
    assert text(request, "service_notice") == "Inspected within 24 hours"
    assert text(request, "account_id") is None
    assert request.find("token") is None

    assert json_doc(render_created_request(created, "json")) == [
        {
            "service_request_id": "293944",
            "service_notice": "Inspected within 24 hours",
            "account_id": None,
        }
    ]


def test_created_request_with_a_token_has_no_id() -> None:
    created = CreatedRequest(token="tok-12345", account_id="acc-9")
    request = xml_root(render_created_request(created, "xml")).find("request")
    assert request is not None
    assert children(request) == ["token", "service_notice", "account_id"]
    assert text(request, "token") == "tok-12345"
    assert text(request, "account_id") == "acc-9"
    assert json_doc(render_created_request(created, "json")) == [
        {"token": "tok-12345", "service_notice": None, "account_id": "acc-9"}
    ]


def test_created_request_never_carries_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        CreatedRequest(service_request_id="1", token="t")


def test_tokens_in_both_formats() -> None:
    tokens = [
        TokenView(token="tok-12345", service_request_id="638344"),
        TokenView(token="tok-pending", service_request_id=None),
    ]
    root = xml_root(render_tokens(tokens, "xml"))
    assert root.tag == "service_requests"
    requests = root.findall("request")
    assert [children(r) for r in requests] == [["service_request_id", "token"]] * 2
    assert [(text(r, "service_request_id"), text(r, "token")) for r in requests] == [
        ("638344", "tok-12345"),
        (None, "tok-pending"),
    ]
    assert json_doc(render_tokens(tokens, "json")) == [
        {"service_request_id": "638344", "token": "tok-12345"},
        {"service_request_id": None, "token": "tok-pending"},
    ]


# --- requests ----------------------------------------------------------------------------------


def test_requests_xml_every_field() -> None:
    root = xml_root(render_requests([full_request()], "xml"))
    assert root.tag == "service_requests"
    request = root.findall("request")
    assert len(request) == 1
    r = request[0]
    assert children(r) == REQUEST_FIELDS
    assert text(r, "service_request_id") == "638344"
    assert text(r, "status") == "closed"
    assert text(r, "status_notes") == "Duplicate request."
    assert text(r, "service_name") == "Street light out"
    assert text(r, "service_code") == "streetlight"
    assert text(r, "description") == TRICKY
    assert text(r, "agency_responsible") == "Lumière SA"
    assert text(r, "service_notice") == "Repaired within 48 hours"
    assert text(r, "requested_datetime") == "2024-05-14T08:37:38+02:00"
    assert text(r, "updated_datetime") == "2024-01-15T10:00:00+01:00"
    assert text(r, "expected_datetime") == "2024-05-16T08:37:38+02:00"
    assert text(r, "address") == "8 rue de la République, Lyon"
    assert text(r, "address_id") == "545483"
    assert text(r, "zipcode") == "69002"
    assert text(r, "lat") == "45.762221815"
    assert text(r, "long") == "4.8351145"
    assert text(r, "media_url") == "https://city.example/media/638344.jpg?a=1&b=2"


def test_requests_json_every_field() -> None:
    assert json_doc(render_requests([full_request()], "json")) == [
        {
            "service_request_id": "638344",
            "status": "closed",
            "status_notes": "Duplicate request.",
            "service_name": "Street light out",
            "service_code": "streetlight",
            "description": TRICKY,
            "agency_responsible": "Lumière SA",
            "service_notice": "Repaired within 48 hours",
            "requested_datetime": "2024-05-14T08:37:38+02:00",
            "updated_datetime": "2024-01-15T10:00:00+01:00",
            "expected_datetime": "2024-05-16T08:37:38+02:00",
            "address": "8 rue de la République, Lyon",
            "address_id": "545483",
            "zipcode": "69002",
            "lat": 45.762221815,
            "long": 4.8351145,
            "media_url": "https://city.example/media/638344.jpg?a=1&b=2",
        }
    ]


def test_requests_absent_values_are_empty_elements_and_nulls() -> None:
    sparse = RequestView(
        service_request_id="7",
        status="open",
        service_code="graffiti",
        service_name="Graffiti",
        requested_datetime=REQUESTED,
        updated_datetime=REQUESTED,
        lat=None,
        long=None,
    )
    r = xml_root(render_requests([sparse], "xml"))[0]
    assert children(r) == REQUEST_FIELDS
    for name in ["status_notes", "description", "expected_datetime", "lat", "long", "media_url"]:
        assert text(r, name) is None
    document = json_doc(render_requests([sparse], "json"))[0]
    assert list(document) == REQUEST_FIELDS
    assert document["description"] is None
    assert document["lat"] is None
    assert document["expected_datetime"] is None


def test_requests_without_extensions_carry_no_extension_fields() -> None:
    request = full_request(attributes=(RequestAttributeView("lamp_state", ("off",)),))
    r = xml_root(render_requests([request], "xml"))[0]
    assert r.find("attributes") is None
    assert r.find("extended_attributes") is None
    assert r.find("notes") is None


EXTENDED = full_request(
    attributes=(
        RequestAttributeView("lamp_state", ("off",)),
        RequestAttributeView("damage", ("glass", "pole")),
    ),
    photos=(
        PhotoView(
            media_url="https://city.example/photos/1.jpg",
            title="Vue de la rue",
            width=1600,
            height=1200,
            created_at=REQUESTED,
        ),
    ),
    notes=(
        NoteView(datetime=REQUESTED, description="Report received", type="opened"),
        NoteView(datetime=UPDATED, description="Duplicate of 42 <sic>", type="closed"),
    ),
)


def test_requests_with_extensions_xml() -> None:
    r = xml_root(render_requests([EXTENDED], "xml", extensions=True))[0]
    assert children(r) == [*REQUEST_FIELDS, "attributes", "extended_attributes", "notes"]
    attributes = r.findall("attributes/attribute")
    assert [children(a) for a in attributes] == [["code", "values"]] * 2
    assert [(text(a, "code"), [v.text for v in a.findall("values/value")]) for a in attributes] == [
        ("lamp_state", ["off"]),
        ("damage", ["glass", "pole"]),
    ]
    photos = r.findall("extended_attributes/photos/photo")
    assert len(photos) == 1
    photo = photos[0]
    assert children(photo) == ["media_url", "title", "width", "height", "created_at"]
    assert text(photo, "media_url") == "https://city.example/photos/1.jpg"
    assert text(photo, "title") == "Vue de la rue"
    assert text(photo, "width") == "1600"
    assert text(photo, "height") == "1200"
    assert text(photo, "created_at") == "2024-05-14T08:37:38+02:00"
    notes = r.findall("notes/note")
    assert [children(n) for n in notes] == [["datetime", "description", "type"]] * 2
    assert [(text(n, "datetime"), text(n, "description"), text(n, "type")) for n in notes] == [
        ("2024-05-14T08:37:38+02:00", "Report received", "opened"),
        ("2024-01-15T10:00:00+01:00", "Duplicate of 42 <sic>", "closed"),
    ]


def test_requests_with_extensions_json() -> None:
    document = json_doc(render_requests([EXTENDED], "json", extensions=True))[0]
    assert list(document) == [*REQUEST_FIELDS, "attributes", "extended_attributes", "notes"]
    assert document["attributes"] == [
        {"code": "lamp_state", "values": ["off"]},
        {"code": "damage", "values": ["glass", "pole"]},
    ]
    assert document["extended_attributes"] == {
        "photos": [
            {
                "media_url": "https://city.example/photos/1.jpg",
                "title": "Vue de la rue",
                "width": 1600,
                "height": 1200,
                "created_at": "2024-05-14T08:37:38+02:00",
            }
        ]
    }
    assert document["notes"] == [
        {
            "datetime": "2024-05-14T08:37:38+02:00",
            "description": "Report received",
            "type": "opened",
        },
        {
            "datetime": "2024-01-15T10:00:00+01:00",
            "description": "Duplicate of 42 <sic>",
            "type": "closed",
        },
    ]


def test_extensions_with_nothing_to_show_are_empty_containers() -> None:
    r = xml_root(render_requests([full_request()], "xml", extensions=True))[0]
    for path in ["attributes", "extended_attributes/photos", "notes"]:
        container = r.find(path)
        assert container is not None
        assert len(container) == 0
    document = json_doc(render_requests([full_request()], "json", extensions=True))[0]
    assert document["attributes"] == []
    assert document["extended_attributes"] == {"photos": []}
    assert document["notes"] == []


# --- escaping and encoding ---------------------------------------------------------------------


def test_xml_escapes_markup_and_keeps_unicode_as_utf8() -> None:
    body, _ = render_requests([full_request()], "xml")
    assert b"&lt;cass\xc3\xa9e&gt; &amp;" in body  # escaped markup, é as UTF-8 bytes
    assert "🎉".encode() in body
    assert "<cassée>".encode() not in body
    assert text(ET.fromstring(body)[0], "description") == TRICKY


def test_json_keeps_unicode_and_quotes() -> None:
    body, _ = render_requests([full_request()], "json")
    assert "🎉".encode() in body
    assert orjson.loads(body)[0]["description"] == TRICKY


def test_xml_replaces_characters_xml_cannot_carry() -> None:
    request = full_request(description="bell\x07 and tab\there\nnext line")
    r = xml_root(render_requests([request], "xml"))[0]
    assert text(r, "description") == "bell\ufffd and tab\there\nnext line"
    document = json_doc(render_requests([request], "json"))[0]
    assert document["description"] == "bell\x07 and tab\there\nnext line"


def test_hostile_text_cannot_inject_elements() -> None:
    injected = "</description><status>open</status><description>"
    r = xml_root(render_requests([full_request(description=injected)], "xml"))[0]
    assert children(r) == REQUEST_FIELDS
    assert text(r, "description") == injected
    assert text(r, "status") == "closed"


# --- datetimes ---------------------------------------------------------------------------------


def test_datetimes_carry_an_offset_in_paris_time() -> None:
    assert format_datetime(datetime(2024, 7, 1, 12, 0, tzinfo=UTC)) == "2024-07-01T14:00:00+02:00"
    assert format_datetime(datetime(2024, 12, 1, 12, 0, tzinfo=UTC)) == "2024-12-01T13:00:00+01:00"
    # To the second.
    assert format_datetime(datetime(2024, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)).endswith(
        "13:00:00+01:00"
    )
    seen = json_doc(render_requests([full_request()], "json"))[0]
    for name in ["requested_datetime", "updated_datetime", "expected_datetime"]:
        assert datetime.fromisoformat(seen[name]).utcoffset() is not None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        format_datetime(datetime(2024, 1, 1, 12, 0))
    with pytest.raises(ValueError, match="offset"):
        render_requests([full_request(requested_datetime=datetime(2024, 1, 1))], "json")


# --- service request updates -------------------------------------------------------------------


def test_request_updates_in_both_formats() -> None:
    updates = [
        RequestUpdateView(
            update_id="u-1",
            service_request_id="638344",
            status="in_progress",
            updated_datetime=REQUESTED,
            description="Crew sent & on its way",
            media_url=None,
        ),
        RequestUpdateView(
            update_id="u-2",
            service_request_id="638344",
            status="closed",
            updated_datetime=UPDATED,
        ),
    ]
    root = xml_root(render_request_updates(updates, "xml"))
    assert root.tag == "service_request_updates"
    items = root.findall("request_update")
    assert len(items) == 2 == len(root)
    fields = [
        "update_id",
        "service_request_id",
        "status",
        "updated_datetime",
        "description",
        "media_url",
    ]
    assert all(children(i) == fields for i in items)
    first = items[0]
    assert text(first, "update_id") == "u-1"
    assert text(first, "service_request_id") == "638344"
    assert text(first, "status") == "in_progress"
    assert text(first, "updated_datetime") == "2024-05-14T08:37:38+02:00"
    assert text(first, "description") == "Crew sent & on its way"
    assert text(first, "media_url") is None

    assert json_doc(render_request_updates(updates, "json")) == [
        {
            "update_id": "u-1",
            "service_request_id": "638344",
            "status": "in_progress",
            "updated_datetime": "2024-05-14T08:37:38+02:00",
            "description": "Crew sent & on its way",
            "media_url": None,
        },
        {
            "update_id": "u-2",
            "service_request_id": "638344",
            "status": "closed",
            "updated_datetime": "2024-01-15T10:00:00+01:00",
            "description": None,
            "media_url": None,
        },
    ]


def test_request_update_status_is_checked() -> None:
    with pytest.raises(ValueError, match="status"):
        RequestUpdateView(
            update_id="u", service_request_id="1", status="pending", updated_datetime=UPDATED
        )


# --- errors ------------------------------------------------------------------------------------


def test_errors_in_both_formats() -> None:
    errors = [
        ErrorEntry(403, "Invalid api_key received -- can't proceed with create_request."),
        ErrorEntry("attribute_invalid", "attribute[x] & <y> é"),
    ]
    root = xml_root(render_errors(errors, "xml"))
    assert root.tag == "errors"
    items = root.findall("error")
    assert [children(e) for e in items] == [["code", "description"]] * 2
    assert [(text(e, "code"), text(e, "description")) for e in items] == [
        ("403", "Invalid api_key received -- can't proceed with create_request."),
        ("attribute_invalid", "attribute[x] & <y> é"),
    ]
    assert json_doc(render_errors(errors, "json")) == [
        {
            "code": 403,
            "description": "Invalid api_key received -- can't proceed with create_request.",
        },
        {"code": "attribute_invalid", "description": "attribute[x] & <y> é"},
    ]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Open311Error.not_found("service_code 'x' not found"), 404),
        (Open311Error.forbidden("api_key missing"), 403),
        (Open311Error.bad_request("lat is not a number"), 400),
    ],
)
def test_open311_error_carries_status_and_body(error: Open311Error, status: int) -> None:
    assert error.status == status
    assert error.code == status
    assert json_doc(error.render("json")) == [{"code": status, "description": error.description}]
    root = xml_root(error.render("xml"))
    assert text(root, "error/code") == str(status)


def test_open311_error_with_several_entries() -> None:
    error = Open311Error.bad_request("attribute[a] is required", "attribute[b] must be a number")
    assert json_doc(error.render("json")) == [
        {"code": 400, "description": "attribute[a] is required"},
        {"code": 400, "description": "attribute[b] must be a number"},
    ]
    custom = Open311Error(400, "invalid_location", "lat without long")
    assert json_doc(custom.render("json")) == [
        {"code": "invalid_location", "description": "lat without long"}
    ]


# --- formats -----------------------------------------------------------------------------------


def test_format_from_path() -> None:
    assert format_from_path("xml") == "xml"
    assert format_from_path("json") == "json"
    for bad in ["csv", "", "XML ", "html"]:
        with pytest.raises(Open311Error) as caught:
            format_from_path(bad)
        assert caught.value.status == 400


def test_split_format() -> None:
    assert split_format("services.json") == ("services", "json")
    assert split_format("street.light.xml") == ("street.light", "xml")
    for bad in ["services", ".json", "services.yaml"]:
        with pytest.raises(Open311Error):
            split_format(bad)


# --- incoming parameters -----------------------------------------------------------------------


def test_parse_attributes() -> None:
    form = [
        ("api_key", "k"),
        ("service_code", "streetlight"),
        ("attribute[lamp_state]", "off"),
        ("attribute[damage][]", "glass"),
        ("attribute[damage][]", ""),
        ("attribute[damage][]", "pole"),
        ("attribute[single_in_list][]", "only"),
        ("attribute[pole_number]", "  SL-12 "),
        ("attribute[empty]", ""),
        ("attribute[blank]", "   "),
        ("attribute[all_empty][]", ""),
        ("attribute[repeated]", "a"),
        ("attribute[repeated]", "b"),
        ("attribute[Crème]", "é"),
    ]
    assert parse_attributes(form) == {
        "lamp_state": "off",
        "damage": ["glass", "pole"],
        "single_in_list": ["only"],
        "pole_number": "SL-12",
        "repeated": ["a", "b"],
        "Crème": "é",
    }


@pytest.mark.parametrize(
    "name", ["attribute[]", "attribute[a", "attribute[a]x", "attribute[a][b]", "attributes"]
)
def test_malformed_attribute_names_are_refused(name: str) -> None:
    with pytest.raises(Open311Error) as caught:
        parse_attributes([(name, "v")])
    assert caught.value.status == 400
    assert name in caught.value.description


def test_parse_comma_list() -> None:
    assert parse_comma_list(None) == []
    assert parse_comma_list("") == []
    assert parse_comma_list("a") == ["a"]
    assert parse_comma_list(" a, b,,a ,c ") == ["a", "b", "c"]


def test_parse_status_list() -> None:
    assert parse_status_list(None) == []
    assert parse_status_list("open,closed") == ["open", "closed"]
    with pytest.raises(Open311Error, match="pending"):
        parse_status_list("open,pending")


def test_parse_boolean_param() -> None:
    assert parse_boolean_param("extensions", None) is False
    assert parse_boolean_param("extensions", "") is False
    assert parse_boolean_param("extensions", "true") is True
    assert parse_boolean_param("extensions", "TRUE") is True
    assert parse_boolean_param("extensions", "false") is False
    with pytest.raises(Open311Error, match="extensions"):
        parse_boolean_param("extensions", "yes please")


def test_parse_datetime_param() -> None:
    assert parse_datetime_param("start_date", None) is None
    assert parse_datetime_param("start_date", "") is None
    assert parse_datetime_param("start_date", "2010-01-01T00:00:00Z") == datetime(
        2010, 1, 1, tzinfo=UTC
    )
    parsed = parse_datetime_param("start_date", "1994-11-05T08:15:30-05:00")
    assert parsed == datetime(1994, 11, 5, 13, 15, 30, tzinfo=UTC)
    # A '+' left unencoded in a query string arrives as a space.
    assert parse_datetime_param("end_date", "2024-05-01T10:00:00 02:00") == datetime(
        2024, 5, 1, 8, tzinfo=UTC
    )


@pytest.mark.parametrize("value", ["2024-05-01T10:00:00", "2024-05-01", "yesterday", "2024-13-01Z"])
def test_datetime_param_without_offset_is_a_clear_error(value: str) -> None:
    with pytest.raises(Open311Error) as caught:
        parse_datetime_param("start_date", value)
    assert caught.value.status == 400
    assert "start_date" in caught.value.description
    assert "offset" in caught.value.description


def test_date_window() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    start = datetime(2024, 4, 1, tzinfo=UTC)
    assert resolve_date_window(None, None, now=now) == (now - timedelta(days=90), now)
    assert resolve_date_window(start, None, now=now) == (start, start + timedelta(days=90))
    assert resolve_date_window(None, now, now=now) == (now - timedelta(days=90), now)
    assert resolve_date_window(start, now, now=now) == (start, now)
    with pytest.raises(Open311Error, match="90 days"):
        resolve_date_window(start - timedelta(days=30), now, now=now)
    with pytest.raises(Open311Error, match="before"):
        resolve_date_window(now, start, now=now)


# --- attribute answers against a definition ----------------------------------------------------

QUESTIONS = (
    AttributeDefinition(
        code="lamp_state",
        datatype="singlevaluelist",
        description="What does the lamp do?",
        required=True,
        order=1,
        values=(AttributeValueOption("off", "Off"), AttributeValueOption("blinking", "Blinking")),
    ),
    AttributeDefinition(
        code="damage",
        datatype="multivaluelist",
        description="What is damaged?",
        required=False,
        order=2,
        values=(AttributeValueOption("glass", "Glass"), AttributeValueOption("pole", "Pole")),
    ),
    AttributeDefinition(
        code="height_m", datatype="number", description="Height", required=False, order=3
    ),
    AttributeDefinition(
        code="seen_at", datatype="datetime", description="Seen at", required=False, order=4
    ),
    AttributeDefinition(
        code="pole_number", datatype="string", description="Pole", required=True, order=5
    ),
    AttributeDefinition(
        code="details", datatype="text", description="Details", required=False, order=6
    ),
    AttributeDefinition(
        code="info",
        datatype="string",
        description="Shown only",
        required=True,
        order=7,
        variable=False,
    ),
)


def test_valid_answers_pass() -> None:
    answers: dict[str, str | list[str]] = {
        "lamp_state": "off",
        "damage": ["glass", "pole"],
        "height_m": "7.5",
        "seen_at": "2024-05-01T21:30:00+02:00",
        "pole_number": "SL-12",
        "details": "line one\nline two",
        "unknown_code": "ignored",
    }
    assert validate_attributes(QUESTIONS, answers) == []
    assert validate_attributes(QUESTIONS, {**answers, "damage": "glass"}) == []
    assert validate_attributes(QUESTIONS, {**answers, "seen_at": "2024-05-01"}) == []
    assert validate_attributes(QUESTIONS, {**answers, "height_m": "-3"}) == []


def test_missing_required_answers_name_the_attribute() -> None:
    problems = validate_attributes(QUESTIONS, {})
    assert problems == [
        "attribute[lamp_state] is required (What does the lamp do?)",
        "attribute[pole_number] is required (Pole)",
    ]


def test_parsed_empty_values_count_as_missing() -> None:
    submitted = parse_attributes([("attribute[lamp_state]", ""), ("attribute[pole_number]", "1")])
    assert validate_attributes(QUESTIONS, submitted) == [
        "attribute[lamp_state] is required (What does the lamp do?)"
    ]


@pytest.mark.parametrize(
    ("code", "value", "fragment"),
    [
        ("lamp_state", "exploded", "attribute[lamp_state] has no value 'exploded'"),
        ("lamp_state", ["off", "blinking"], "attribute[lamp_state] takes one value, got 2"),
        ("damage", ["glass", "wheel"], "attribute[damage] has no value 'wheel'"),
        ("height_m", "tall", "attribute[height_m] must be a number, got 'tall'"),
        ("height_m", "nan", "attribute[height_m] must be a number"),
        ("seen_at", "2024-05-01T21:30:00", "attribute[seen_at] must be an ISO 8601 date"),
        ("seen_at", "last night", "attribute[seen_at] must be an ISO 8601 date"),
        ("pole_number", "SL\n12", "attribute[pole_number] is a single line of text"),
        ("details", ["a", "b"], "attribute[details] takes one value"),
    ],
)
def test_invalid_answers_are_described_precisely(
    code: str, value: str | list[str], fragment: str
) -> None:
    answers: dict[str, str | list[str]] = {"lamp_state": "off", "pole_number": "SL-12"}
    answers[code] = value
    problems = validate_attributes(QUESTIONS, answers)
    assert len(problems) == 1
    assert problems[0].startswith(fragment)


def test_value_list_errors_list_the_allowed_keys() -> None:
    problems = validate_attributes(QUESTIONS, {"lamp_state": "x", "pole_number": "1"})
    assert problems == ["attribute[lamp_state] has no value 'x'; expected one of off, blinking"]


def test_every_problem_is_reported_at_once() -> None:
    problems = validate_attributes(QUESTIONS, {"height_m": "tall", "damage": ["wheel"]})
    assert [p.split(" ")[0] for p in problems] == [
        "attribute[lamp_state]",
        "attribute[damage]",
        "attribute[height_m]",
        "attribute[pole_number]",
    ]
    error = Open311Error.bad_request(*problems)
    assert len(error.entries) == 4


def test_retain_defined_attributes() -> None:
    submitted: dict[str, str | list[str]] = {
        "lamp_state": "off",
        "damage": "glass",
        "pole_number": "SL-12",
        "info": "not a question",
        "unknown_code": "x",
    }
    assert retain_defined_attributes(QUESTIONS, submitted) == {
        "lamp_state": "off",
        "damage": ["glass"],
        "pole_number": "SL-12",
    }
    assert retain_defined_attributes(QUESTIONS, {"damage": ["pole", "pole", "glass"]}) == {
        "damage": ["pole", "glass"]
    }
