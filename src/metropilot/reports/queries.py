"""What other contexts may read of citizen reports: small typed reads, no table leaves here.

Read by cases (a report becomes a case: ``report_for_case``; the cases the event handlers
missed: ``report_ids_awaiting_case``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from metropilot.reports import repository
from metropilot.reports.model import Priority, ReportState

__all__ = ["ReportForCase", "report_for_case", "report_ids_awaiting_case"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportForCase:
    """What a case opened for a citizen report takes from it, and whether it may open one."""

    id: int
    category_code: str
    # Whether the category's reports open a case at once ("auto") or at triage.
    opens_case: Literal["auto", "triage"]
    priority: Priority
    state: ReportState
    asset_id: int | None
    commune_insee: str | None
    requested_at: datetime
    description: str
    duplicate_of: int | None


def report_for_case(connection: Connection, report_id: int) -> ReportForCase | None:
    """The report with its category's ``opens_case``; None for an unknown report."""
    r, rc = repository.reports.c, repository.categories.c
    row = connection.execute(
        select(
            rc.opens_case,
            r.category_code,
            r.priority,
            r.asset_id,
            r.commune_insee,
            r.requested_at,
            r.description,
            r.state,
            r.duplicate_of,
        )
        .join(repository.categories, rc.code == r.category_code)
        .where(r.id == report_id)
    ).first()
    if row is None:
        return None
    return ReportForCase(
        id=report_id,
        category_code=str(row.category_code),
        opens_case="triage" if row.opens_case == "triage" else "auto",
        priority=Priority(str(row.priority)),
        state=ReportState(str(row.state)),
        asset_id=None if row.asset_id is None else int(row.asset_id),
        commune_insee=row.commune_insee,
        requested_at=row.requested_at,
        description=str(row.description or ""),
        duplicate_of=None if row.duplicate_of is None else int(row.duplicate_of),
    )


def report_ids_awaiting_case(
    connection: Connection, *, already_linked: Select[Any], limit: int
) -> list[int]:
    """New reports, not duplicates, of categories that open cases at once ("auto"), that no case
    links yet: the oldest ``limit`` of them. ``already_linked`` selects the report ids cases
    link (one column, no NULL: ``NOT IN`` over a NULL matches nothing)."""
    r, rc = repository.reports.c, repository.categories.c
    found = connection.execute(
        select(r.id)
        .join(repository.categories, rc.code == r.category_code)
        .where(
            and_(
                rc.opens_case == "auto",
                r.state == ReportState.NEW.value,
                r.duplicate_of.is_(None),
                r.id.not_in(already_linked),
            )
        )
        .order_by(r.id)
        .limit(limit)
    ).scalars()
    return [int(report_id) for report_id in found]
