"""The Open311 documents a server answers with, each in XML or JSON. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from metropilot.reports.open311.documents import (
    AttributeDefinition,
    CreatedRequest,
    Discovery,
    NoteView,
    PhotoView,
    RequestUpdateView,
    RequestView,
    ServiceDefinition,
    ServiceEntry,
    TokenView,
)
from metropilot.reports.open311.wire import (
    Format,
    Node,
    Record,
    Rendered,
    Repeated,
    render_document,
)

__all__ = [
    "render_created_request",
    "render_discovery",
    "render_request_updates",
    "render_requests",
    "render_service_definition",
    "render_services",
    "render_tokens",
]


def render_discovery(discovery: Discovery, fmt: Format) -> Rendered:
    endpoints = Repeated(
        "endpoint",
        tuple(
            Record(
                (
                    ("specification", e.specification),
                    ("url", e.url),
                    ("changeset", e.changeset),
                    ("type", e.type),
                    ("formats", Repeated("format", e.formats)),
                )
            )
            for e in discovery.endpoints
        ),
    )
    document = Record(
        (
            ("changeset", discovery.changeset),
            ("contact", discovery.contact),
            ("key_service", discovery.key_service),
            ("endpoints", endpoints),
        )
    )
    return render_document("discovery", document, fmt)


def render_services(services: Iterable[ServiceEntry], fmt: Format) -> Rendered:
    document = Repeated(
        "service",
        tuple(
            Record(
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
    return render_document("services", document, fmt)


def render_service_definition(definition: ServiceDefinition, fmt: Format) -> Rendered:
    """Attributes are written in their ``order`` (the order clients present them in)."""
    attributes = sorted(definition.attributes, key=lambda a: a.order)
    document = Record(
        (
            ("service_code", definition.service_code),
            (
                "attributes",
                Repeated("attribute", tuple(_attribute_definition(a) for a in attributes)),
            ),
        )
    )
    return render_document("service_definition", document, fmt)


def _attribute_definition(attribute: AttributeDefinition) -> Record:
    values = tuple(Record((("key", v.key), ("name", v.name))) for v in attribute.values)
    return Record(
        (
            ("variable", attribute.variable),
            ("code", attribute.code),
            ("datatype", attribute.datatype),
            ("required", attribute.required),
            ("datatype_description", attribute.datatype_description),
            ("order", attribute.order),
            ("description", attribute.description),
            ("values", Repeated("value", values)),
        )
    )


def render_created_request(created: CreatedRequest, fmt: Format) -> Rendered:
    """The POST requests answer: a list of one ``request``."""
    fields: list[tuple[str, Node]] = []
    # "This should not be returned if token is returned" (and the other way round).
    if created.service_request_id is not None:
        fields.append(("service_request_id", created.service_request_id))
    if created.token is not None:
        fields.append(("token", created.token))
    fields.append(("service_notice", created.service_notice))
    fields.append(("account_id", created.account_id))
    return render_document("service_requests", Repeated("request", (Record(tuple(fields)),)), fmt)


def render_tokens(tokens: Iterable[TokenView], fmt: Format) -> Rendered:
    """GET tokens/{token}: a list of ``request`` with ``service_request_id`` and ``token``."""
    document = Repeated(
        "request",
        tuple(
            Record((("service_request_id", t.service_request_id), ("token", t.token)))
            for t in tokens
        ),
    )
    return render_document("service_requests", document, fmt)


def render_requests(
    requests: Iterable[RequestView], fmt: Format, *, extensions: bool = False
) -> Rendered:
    """GET requests and GET requests/{id}; ``extensions`` adds ``attributes``,
    ``extended_attributes`` (``photos``) and ``notes`` to every request."""
    document = Repeated("request", tuple(_request(r, extensions) for r in requests))
    return render_document("service_requests", document, fmt)


def _request(request: RequestView, extensions: bool) -> Record:
    fields: list[tuple[str, Node]] = [
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
                Repeated(
                    "attribute",
                    tuple(
                        Record((("code", a.code), ("values", Repeated("value", a.values))))
                        for a in request.attributes
                    ),
                ),
            ),
            (
                "extended_attributes",
                Record((("photos", Repeated("photo", tuple(_photo(p) for p in request.photos))),)),
            ),
            ("notes", Repeated("note", tuple(_note(n) for n in request.notes))),
        ]
    return Record(tuple(fields))


def _photo(photo: PhotoView) -> Record:
    return Record(
        (
            ("media_url", photo.media_url),
            ("title", photo.title),
            ("width", photo.width),
            ("height", photo.height),
            ("created_at", photo.created_at),
        )
    )


def _note(note: NoteView) -> Record:
    return Record(
        (("datetime", note.datetime), ("description", note.description), ("type", note.type))
    )


def render_request_updates(updates: Iterable[RequestUpdateView], fmt: Format) -> Rendered:
    """FixMyStreet's GET servicerequestupdates."""
    document = Repeated(
        "request_update",
        tuple(
            Record(
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
    return render_document("service_request_updates", document, fmt)
