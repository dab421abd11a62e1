"""The JSON shapes of the Open311 documents, for the OpenAPI document only.

The bodies themselves are written by :mod:`metropilot.reports.open311` (XML and the spec's JSON
mapping of it); these models say what the JSON holds. Every element the spec writes empty is
``null`` in JSON, so those fields are required and nullable; identifiers are strings.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "CreatedRequestJson",
    "DiscoveryJson",
    "ErrorJson",
    "RequestJson",
    "RequestUpdateJson",
    "ServiceDefinitionJson",
    "ServiceJson",
    "TokenJson",
]


class EndpointJson(BaseModel):
    specification: str
    url: str
    changeset: str = Field(description="ISO 8601 with offset")
    type: str = Field(description="production or test")
    formats: list[str]


class DiscoveryJson(BaseModel):
    changeset: str = Field(description="ISO 8601 with offset")
    contact: str
    key_service: str
    endpoints: list[EndpointJson]


class ServiceJson(BaseModel):
    service_code: str
    service_name: str
    description: str | None
    metadata: bool = Field(description="true: fetch services/{service_code} for its questions")
    type: str = Field(description="realtime, batch or blackbox")
    keywords: str | None = Field(description="comma separated")
    group: str | None


class AttributeValueJson(BaseModel):
    key: str
    name: str


class AttributeDefinitionJson(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValueJson]


class ServiceDefinitionJson(BaseModel):
    service_code: str
    attributes: list[AttributeDefinitionJson]


class CreatedRequestJson(BaseModel):
    service_request_id: str | None = Field(default=None, description="absent when a token is")
    token: str | None = Field(default=None, description="absent when an id is")
    service_notice: str | None
    account_id: str | None


class TokenJson(BaseModel):
    service_request_id: str | None
    token: str


class RequestAttributeJson(BaseModel):
    code: str
    values: list[str]


class PhotoJson(BaseModel):
    media_url: str
    title: str | None
    width: int | None
    height: int | None
    created_at: str = Field(description="ISO 8601 with offset")


class ExtendedAttributesJson(BaseModel):
    photos: list[PhotoJson]


class NoteJson(BaseModel):
    datetime: str = Field(description="ISO 8601 with offset")
    description: str
    type: str


class RequestJson(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str = Field(description="ISO 8601 with offset")
    updated_datetime: str = Field(description="ISO 8601 with offset")
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    # Written only when the client asked for extensions=true.
    attributes: list[RequestAttributeJson] | None = Field(default=None, description="extensions")
    extended_attributes: ExtendedAttributesJson | None = Field(
        default=None, description="extensions"
    )
    notes: list[NoteJson] | None = Field(default=None, description="extensions")


class RequestUpdateJson(BaseModel):
    update_id: str
    service_request_id: str
    status: str
    updated_datetime: str = Field(description="ISO 8601 with offset")
    description: str | None
    media_url: str | None


class ErrorJson(BaseModel):
    code: int | str = Field(description="the HTTP status, as the spec's examples show")
    description: str
