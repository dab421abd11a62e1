"""What every change of a case records beside its rows: the fields its events share, and the
steps of its timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from metropilot.cases import repository
from metropilot.cases.model import Case, Milestone, TimelineEntry
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor

__all__ = ["event_fields", "record_step"]


def event_fields(case: Case, actor: Actor) -> dict[str, Any]:
    """The fields every case and work-order event carries (``CaseEvent``)."""
    assignee = case.assignee
    return {
        "case_id": case.id,
        "category": case.category,
        "priority": case.priority.value,
        "state": case.state.value,
        "asset_id": case.asset_id,
        "kind": case.asset_kind,
        "commune_insee": case.commune_insee,
        "team": assignee.team if assignee else None,
        "organisation": assignee.organisation if assignee else None,
        "organisation_id": assignee.organisation_id if assignee else None,
        "sector": assignee.sector if assignee else None,
        "actor": actor.label(),
        "actor_organisation": actor.organisation,
        "actor_sector": actor.sector,
    }


def record_step(
    uow: UnitOfWork,
    case_id: int,
    at: datetime,
    what: Milestone,
    actor: Actor,
    *,
    work_order_id: int | None = None,
    note: str = "",
) -> None:
    """A step of the case's timeline, attributed to the person (or the platform) who took it."""
    repository.add_timeline(
        uow.connection,
        case_id,
        TimelineEntry(
            at, what, actor.label(), actor.organisation, actor.sector, work_order_id, note
        ),
    )
