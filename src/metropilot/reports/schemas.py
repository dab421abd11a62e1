"""HTTP shapes of the reports API for staff (the Open311 wire formats are in ``open311``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from metropilot.reports.model import (
    Category,
    CategorySpec,
    Priority,
    Report,
    ReportState,
    open311_status,
)
from metropilot.shared.bounds import Id, Instant

__all__ = [
    "CategoryListOut",
    "CategoryOut",
    "MergeIn",
    "ReportDetailOut",
    "ReportListOut",
    "ReportOut",
    "ReporterOut",
    "StateIn",
    "TimelineEntryOut",
    "category_out",
    "report_out",
]


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str = Field(description="new state, e.g. triaged, in_progress, fixed, reopened")
    note: str = Field(default="", max_length=2000, description="public note; a default if empty")
    agency_responsible: str | None = Field(default=None, max_length=200)
    expected_at: Instant | None = Field(default=None, description="ISO 8601 with offset")


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: Id = Field(description="the report this one duplicates")


# --- what the routes answer (the OpenAPI document's shapes; the bodies are written below) ---


class CategoryOut(CategorySpec):
    """A category as the catalogue shows it: what an admin sent, its id, when it last changed."""

    id: int
    updated_at: datetime


class CategoryListOut(BaseModel):
    items: list[CategoryOut]
    next_cursor: str | None = Field(description="always null: the catalogue comes in one page")


class ReporterOut(BaseModel):
    """The reporter's contact, for those who may call them back; null once erased."""

    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    erased_at: datetime | None = Field(description="when the privacy purge erased them")


class ReportOut(BaseModel):
    id: int
    category: str = Field(description="the category's code")
    state: ReportState
    status: Literal["open", "closed"] = Field(description="the state as Open311 says it")
    priority: Priority
    lon: float
    lat: float
    commune: str | None = Field(description="INSEE code of the commune")
    address: str
    description: str
    attributes: dict[str, Any] = Field(description="the answers to the category's questions")
    asset: int | None = Field(description="the equipment it is linked to")
    status_notes: str
    agency_responsible: str
    expected_at: datetime | None
    requested_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    duplicate_of: int | None
    supporters: int
    photos: int = Field(description="how many photos it has")
    reporter: ReporterOut | None = Field(
        default=None, description="only for operators and supervisors"
    )


class TimelineEntryOut(BaseModel):
    at: datetime
    state: ReportState
    note: str


class ReportDetailOut(ReportOut):
    timeline: list[TimelineEntryOut] = Field(description="the public updates, oldest first")


class ReportListOut(BaseModel):
    items: list[ReportOut]
    next_cursor: str | None = Field(description="always null: page with offset and limit")


def category_out(category: Category) -> dict[str, Any]:
    spec = category.spec.model_dump(mode="json")
    return {"id": category.id, **spec, "updated_at": category.updated_at.isoformat()}


def report_out(report: Report, *, personal: bool) -> dict[str, Any]:
    """A report for staff; the reporter's contact only for those who may call them back."""
    out: dict[str, Any] = {
        "id": report.id,
        "category": report.category_code,
        "state": report.state.value,
        "status": open311_status(report.state),
        "priority": report.priority.value,
        "lon": report.lon,
        "lat": report.lat,
        "commune": report.commune_insee,
        "address": report.address,
        "description": report.description,
        "attributes": report.attributes,
        "asset": report.asset_id,
        "status_notes": report.status_notes,
        "agency_responsible": report.agency_responsible,
        "expected_at": report.expected_at.isoformat() if report.expected_at else None,
        "requested_at": report.requested_at.isoformat(),
        "updated_at": report.updated_at.isoformat(),
        "closed_at": report.closed_at.isoformat() if report.closed_at else None,
        "duplicate_of": report.duplicate_of,
        "supporters": report.supporters,
        "photos": len(report.photos),
    }
    if personal:
        out["reporter"] = {
            "email": report.email,
            "first_name": report.first_name,
            "last_name": report.last_name,
            "phone": report.phone,
            "erased_at": (
                report.personal_data_erased_at.isoformat()
                if report.personal_data_erased_at
                else None
            ),
        }
    return out
