"""What the Open311 documents say, as plain values the routes fill in. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from metropilot.reports.open311.wire import (
    DATATYPES,
    GEOREPORT_V2_SPECIFICATION,
    MIME_JSON,
    MIME_XML,
    Datatype,
    ServiceType,
    Status,
)

__all__ = [
    "UPDATE_STATUSES",
    "AttributeDefinition",
    "AttributeValueOption",
    "CreatedRequest",
    "Discovery",
    "DiscoveryEndpoint",
    "NoteView",
    "PhotoView",
    "RequestAttributeView",
    "RequestUpdateView",
    "RequestView",
    "ServiceDefinition",
    "ServiceEntry",
    "TokenView",
]

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
