"""Citizen reports: the service catalogue, a report's life, and the events it emits. Pure.

A *category* (an Open311 service) is what a citizen can report — a broken street light, a
pothole — with the questions it asks (its attributes), the equipment kind it concerns, the radius
within which a new report is offered as "me too" on an open one, a default priority and whether
its reports are shown publicly. A *report* (an Open311 service request) moves through states
richer than Open311's open/closed; each change can carry a public note, and the reporter, when
they gave an e-mail, hears of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from metropilot.shared.errors import Conflict, InvalidInput, Problem
from metropilot.shared.events import DomainEvent

__all__ = [
    "CLOSED_STATES",
    "MAX_DESCRIPTION",
    "OPEN_STATES",
    "AttributeSpec",
    "Category",
    "CategorySpec",
    "Priority",
    "Report",
    "ReportEvent",
    "ReportState",
    "ReportStatusChanged",
    "ReportSubmitted",
    "ReportSupported",
    "check_transition",
    "open311_status",
    "parse_category_spec",
    "parse_state",
]

MAX_DESCRIPTION = 4000


class ReportState(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    ACTION_SCHEDULED = "action_scheduled"
    REOPENED = "reopened"
    FIXED = "fixed"
    DUPLICATE = "duplicate"
    NOT_OUR_RESPONSIBILITY = "not_our_responsibility"
    NO_FURTHER_ACTION = "no_further_action"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset(
    {
        ReportState.NEW,
        ReportState.TRIAGED,
        ReportState.IN_PROGRESS,
        ReportState.ACTION_SCHEDULED,
        ReportState.REOPENED,
    }
)
CLOSED_STATES = frozenset(set(ReportState) - OPEN_STATES)


def open311_status(state: ReportState) -> Literal["open", "closed"]:
    return "open" if state in OPEN_STATES else "closed"


def parse_state(value: str) -> ReportState:
    try:
        return ReportState(value)
    except ValueError:
        known = ", ".join(s.value for s in ReportState)
        raise InvalidInput(f"unknown report state {value!r}; one of {known}") from None


def check_transition(current: ReportState, target: ReportState) -> None:
    """Open states move freely among themselves and to any closing state; a closed report only
    reopens (and a duplicate only through its original, never by hand)."""
    if target is current:
        raise Conflict(f"the report is already {current.value}", code="same_state")
    if current in CLOSED_STATES and target is not ReportState.REOPENED:
        raise Conflict(
            f"a {current.value} report can only be reopened, not moved to {target.value}",
            code="report_closed",
        )
    if target is ReportState.REOPENED and current in OPEN_STATES:
        raise Conflict("only a closed report can be reopened", code="report_open")


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


# --- the catalogue -----------------------------------------------------------------------------

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]


class AttributeValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class AttributeSpec(BaseModel):
    """One question a category asks (an Open311 attribute)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(min_length=1, max_length=48)
    datatype: Datatype
    description: str = Field(min_length=1, max_length=500)
    required: bool = False
    variable: bool = True  # false: information shown to the citizen, not a question
    datatype_description: str = Field(default="", max_length=500)
    order: int = Field(default=0, ge=0, le=1000)
    values: tuple[AttributeValue, ...] = ()

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("lowercase letters, digits, '-' and '_'")
        return value

    @field_validator("values")
    @classmethod
    def _values(cls, values: tuple[AttributeValue, ...]) -> tuple[AttributeValue, ...]:
        keys = [v.key for v in values]
        if len(set(keys)) != len(keys):
            raise ValueError("value keys must be unique")
        return values


class CategorySpec(BaseModel):
    """What an admin sends to create or change a category."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    group: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=120)
    name_fr: str = Field(default="", max_length=120)
    description: str = Field(default="", max_length=1000)
    keywords: tuple[str, ...] = ()
    asset_kind: str | None = None
    duplicate_radius_m: float = Field(default=30.0, ge=0, le=5000)
    asset_radius_m: float = Field(default=25.0, ge=0, le=500)
    default_priority: Priority = Priority.P3
    public: bool = True
    active: bool = True
    # Whether its reports open a case at once ("auto") or when an operator triages them.
    opens_case: Literal["auto", "triage"] = "auto"
    attributes: tuple[AttributeSpec, ...] = ()

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("lowercase letters, digits, '-' and '_', at most 48")
        return value

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, attributes: tuple[AttributeSpec, ...]) -> tuple[AttributeSpec, ...]:
        codes = [a.code for a in attributes]
        if len(set(codes)) != len(codes):
            raise ValueError("attribute codes must be unique")
        for attribute in attributes:
            is_list = attribute.datatype in ("singlevaluelist", "multivaluelist")
            if is_list and not attribute.values:
                raise ValueError(f"{attribute.code}: a value list needs values")
            if not is_list and attribute.values:
                raise ValueError(f"{attribute.code}: only value lists have values")
        return attributes


def parse_category_spec(raw: Any) -> CategorySpec:
    try:
        return CategorySpec.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in exc.errors()
        ]
        raise InvalidInput("the category is not valid", details=problems) from None


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    spec: CategorySpec
    created_at: datetime
    updated_at: datetime

    @property
    def code(self) -> str:
        return self.spec.code


# --- reports -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Report:
    id: int
    category_code: str
    state: ReportState
    lon: float
    lat: float
    commune_insee: str | None
    description: str
    attributes: dict[str, Any]
    requested_at: datetime
    updated_at: datetime
    token: str
    priority: Priority
    address: str = ""
    asset_id: int | None = None
    status_notes: str = ""
    agency_responsible: str = ""
    service_notice: str = ""
    expected_at: datetime | None = None
    closed_at: datetime | None = None
    duplicate_of: int | None = None
    supporters: int = 0
    client_id: int | None = None  # the API key of the app that sent it
    # Personal data: never in public output, erased after closure by the privacy purge.
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: int | None = None
    personal_data_erased_at: datetime | None = None
    photos: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReportEvent(DomainEvent):
    """What every report event carries, so that its consumers (cases, the journal) need not read
    the report again: which report, its category and priority, where it is, the equipment it is
    linked to and that equipment's maintainer (an organisation id), when there is one."""

    report_id: int
    category_code: str
    priority: str
    commune_insee: str | None
    asset_id: int | None
    maintainer_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReportSubmitted(ReportEvent):
    # Whether the report opens a case at once ("auto") or when an operator triages it.
    opens_case: Literal["auto", "triage"] = "auto"


@dataclass(frozen=True, kw_only=True)
class ReportSupported(ReportEvent):
    supporters: int


@dataclass(frozen=True, kw_only=True)
class ReportStatusChanged(ReportEvent):
    previous: str
    state: str
    note: str
