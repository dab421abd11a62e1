"""Storage of the report catalogue, reports, their updates, photos, followers and e-mails.

Personal data (name, e-mail, phone, device id, account) lives in columns of ``reports`` and in
``report_followers`` only, so that the privacy purge has few places to erase and the public
queries name the columns they read, never ``SELECT *``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    false,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection, RowMapping

from metropilot.db.schema import JSONDocument, UTCDateTime, metadata
from metropilot.reports.model import (
    OPEN_STATES,
    Category,
    CategorySpec,
    Priority,
    Report,
    ReportState,
)
from metropilot.shared.scope import ALL_WORK, WorkScope

__all__ = [
    "categories",
    "category_by_code",
    "category_names",
    "insert_category",
    "insert_photo",
    "insert_report",
    "insert_update",
    "list_categories",
    "open_reports_near",
    "report_by_id",
    "report_by_token",
    "report_followers",
    "report_notifications",
    "report_photos",
    "report_updates",
    "reports",
    "update_category",
    "update_report",
]

categories = Table(
    "report_categories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(48), nullable=False, unique=True),
    Column("group_name", String(60), nullable=False),
    Column("name", String(120), nullable=False),
    Column("name_fr", String(120), nullable=False),
    Column("description", String(1000), nullable=False),
    Column("keywords", JSONDocument, nullable=False),
    Column("asset_kind", String(32)),
    Column("duplicate_radius_m", Float, nullable=False),
    Column("asset_radius_m", Float, nullable=False),
    Column("default_priority", String(2), nullable=False),
    Column("public", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("opens_case", String(8), nullable=False, server_default="auto"),
    Column("attributes", JSONDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("category_code", String(48), ForeignKey("report_categories.code"), nullable=False),
    Column("state", String(24), nullable=False),
    Column("priority", String(2), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("commune_insee", String(5), ForeignKey("communes.insee")),
    Column("address", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("attributes", JSONDocument, nullable=False),
    Column("asset_id", Integer, ForeignKey("assets.id")),
    # The reporter's key to the tracking page; also Open311's token.
    Column("token", String(32), nullable=False, unique=True),
    Column("status_notes", String(2000), nullable=False),
    Column("agency_responsible", String(200), nullable=False),
    Column("service_notice", String(500), nullable=False),
    Column("expected_at", UTCDateTime),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("duplicate_of", Integer, ForeignKey("reports.id")),
    Column("supporters", Integer, nullable=False),
    Column("client_id", Integer, ForeignKey("api_keys.id")),
    # Personal data: erased by the privacy purge a while after closure.
    Column("email", String(254)),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("phone", String(40)),
    Column("device_id", String(100)),
    Column("account_id", Integer, ForeignKey("users.id")),
    Column("personal_data_erased_at", UTCDateTime),
    Index("ix_reports_requested_at", "requested_at"),
    Index("ix_reports_updated_at", "updated_at"),
    Index("ix_reports_state", "state"),
    Index("ix_reports_category_lat", "category_code", "lat"),
    Index("ix_reports_commune", "commune_insee"),
    Index("ix_reports_closed_at", "closed_at"),
)

report_updates = Table(
    "report_updates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("report_id", Integer, ForeignKey("reports.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("state", String(24), nullable=False),
    Column("description", String(2000), nullable=False),
    Column("public", Boolean, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("sector", String(8), nullable=False),  # public or private, for the chain timeline
)

report_photos = Table(
    "report_photos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("report_id", Integer, ForeignKey("reports.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("storage_key", String(200), nullable=False),
    Column("thumbnail_key", String(200), nullable=False),
    Column("content_type", String(40), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("report_id", "position", name="uq_report_photos_position"),
)

report_followers = Table(
    "report_followers",
    metadata,
    Column("report_id", Integer, ForeignKey("reports.id"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("since", UTCDateTime, nullable=False),
    UniqueConstraint("report_id", "email", name="uq_report_followers"),
)

# The e-mails to send, written in the transaction of the change they tell about (an outbox):
# a crash between the change and the sending loses nothing, and a failed send is retried.
report_notifications = Table(
    "report_notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("report_id", Integer, ForeignKey("reports.id"), nullable=False, index=True),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", String(500)),
    Index("ix_report_notifications_due", "sent_at", "next_attempt_at"),
)


# --- categories --------------------------------------------------------------------------------


def _category_values(spec: CategorySpec) -> dict[str, Any]:
    return {
        "code": spec.code,
        "group_name": spec.group,
        "name": spec.name,
        "name_fr": spec.name_fr,
        "description": spec.description,
        "keywords": list(spec.keywords),
        "asset_kind": spec.asset_kind,
        "duplicate_radius_m": spec.duplicate_radius_m,
        "asset_radius_m": spec.asset_radius_m,
        "default_priority": spec.default_priority.value,
        "public": spec.public,
        "active": spec.active,
        "opens_case": spec.opens_case,
        "attributes": [a.model_dump(mode="json") for a in spec.attributes],
    }


def _category(row: RowMapping) -> Category:
    spec = CategorySpec.model_validate(
        {
            "code": row["code"],
            "group": row["group_name"],
            "name": row["name"],
            "name_fr": row["name_fr"],
            "description": row["description"],
            "keywords": row["keywords"],
            "asset_kind": row["asset_kind"],
            "duplicate_radius_m": row["duplicate_radius_m"],
            "asset_radius_m": row["asset_radius_m"],
            "default_priority": row["default_priority"],
            "public": row["public"],
            "active": row["active"],
            "opens_case": row["opens_case"],
            "attributes": row["attributes"],
        }
    )
    return Category(row["id"], spec, row["created_at"], row["updated_at"])


def insert_category(conn: Connection, spec: CategorySpec, now: datetime) -> int:
    values = {**_category_values(spec), "created_at": now, "updated_at": now}
    return int(conn.execute(insert(categories).returning(categories.c.id), values).scalar_one())


def update_category(conn: Connection, code: str, spec: CategorySpec, now: datetime) -> None:
    values = {**_category_values(spec), "updated_at": now}
    conn.execute(update(categories).where(categories.c.code == code).values(values))


def list_categories(conn: Connection, *, include_inactive: bool = False) -> list[Category]:
    query = select(categories).order_by(categories.c.group_name, categories.c.name)
    if not include_inactive:
        query = query.where(categories.c.active)
    return [_category(row) for row in conn.execute(query).mappings()]


def category_names(conn: Connection) -> dict[str, tuple[str, str]]:
    """Every category's (English, French) name by code: what a list of reports shows."""
    c = categories.c
    return {
        str(code): (str(name), str(name_fr))
        for code, name, name_fr in conn.execute(select(c.code, c.name, c.name_fr))
    }


def category_by_code(conn: Connection, code: str) -> Category | None:
    row = conn.execute(select(categories).where(categories.c.code == code)).mappings().first()
    return None if row is None else _category(row)


# --- reports -----------------------------------------------------------------------------------

_REPORT_FIELDS = (
    "id",
    "category_code",
    "lon",
    "lat",
    "commune_insee",
    "description",
    "attributes",
    "requested_at",
    "updated_at",
    "token",
    "address",
    "asset_id",
    "status_notes",
    "agency_responsible",
    "service_notice",
    "expected_at",
    "closed_at",
    "duplicate_of",
    "supporters",
    "client_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "device_id",
    "account_id",
    "personal_data_erased_at",
)


def report_from_row(row: RowMapping) -> Report:
    return Report(
        state=ReportState(row["state"]),
        priority=Priority(row["priority"]),
        **{name: row[name] for name in _REPORT_FIELDS},
    )


def insert_report(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(reports).returning(reports.c.id), values).scalar_one())


def update_report(conn: Connection, report_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(reports).where(reports.c.id == report_id).values(values))


def report_scope_clause(scope: WorkScope) -> Any:
    """The SQL condition of the reports a scope follows up: those of its communes. Reports are
    not assigned to organisations, so a scope by organisation follows up none."""
    parts: list[Any] = []
    if scope.communes is not None:
        parts.append(reports.c.commune_insee.in_(list(scope.communes)))
    if scope.organisation_ids is not None:
        parts.append(false())
    return and_(true(), *parts)


def report_by_id(
    conn: Connection, report_id: int, *, for_update: bool = False, scope: WorkScope = ALL_WORK
) -> Report | None:
    """One report, or None when there is none with this id in the scope."""
    query = select(reports).where(reports.c.id == report_id)
    if not scope.unrestricted:
        query = query.where(report_scope_clause(scope))
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else report_from_row(row)


def report_by_token(conn: Connection, token: str) -> Report | None:
    row = conn.execute(select(reports).where(reports.c.token == token)).mappings().first()
    return None if row is None else report_from_row(row)


def open_reports_near(
    conn: Connection,
    category_code: str,
    lon_range: tuple[float, float],
    lat_range: tuple[float, float],
) -> list[Report]:
    """Open reports of one category in a small box (the caller measures the true distance)."""
    r = reports.c
    query = select(reports).where(
        and_(
            r.category_code == category_code,
            r.lat.between(*lat_range),
            r.lon.between(*lon_range),
            r.state.in_([s.value for s in OPEN_STATES]),
        )
    )
    return [report_from_row(row) for row in conn.execute(query).mappings()]


def insert_update(conn: Connection, values: dict[str, Any]) -> int:
    return int(
        conn.execute(insert(report_updates).returning(report_updates.c.id), values).scalar_one()
    )


def insert_photo(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(report_photos), values)


def photos_of(conn: Connection, report_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    if not report_ids:
        return found
    query = (
        select(report_photos)
        .where(report_photos.c.report_id.in_(list(report_ids)))
        .order_by(report_photos.c.report_id, report_photos.c.position)
    )
    for row in conn.execute(query).mappings():
        found.setdefault(row["report_id"], []).append(dict(row))
    return found


def count_reports(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(reports)).scalar_one())
