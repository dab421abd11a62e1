"""What other contexts read of cases and work orders: small typed reads (contracts measure their
lots' service levels on the work orders; control opens cases through ``cases.services``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, or_, select

from metropilot.cases.model import WorkOrderState
from metropilot.cases.repository import cases, work_orders

__all__ = [
    "DispatchedOrder",
    "dispatched_orders",
]


_UNCOUNTED_ORDER_STATES = (
    WorkOrderState.CREATED.value,
    WorkOrderState.REFUSED.value,
    WorkOrderState.CANCELLED.value,
)


@dataclass(frozen=True, slots=True)
class DispatchedOrder:
    """A work order dispatched with its deadlines, and the case facts it is judged by."""

    id: int
    case_id: int
    organisation: str
    dispatched_at: datetime
    response_due_at: datetime
    resolution_due_at: datetime
    accepted_at: datetime | None
    done_at: datetime | None
    priority: str
    commune: str | None
    asset_kind: str | None


def dispatched_orders(
    conn: Connection, start: datetime, end: datetime, *, commune: str | None = None
) -> list[DispatchedOrder]:
    """The orders dispatched with deadlines (neither refused nor cancelled) that have a
    deadline or a completion in ``[start, end)``, by id; of one commune's cases, or all."""
    w, c = work_orders.c, cases.c
    query = (
        select(
            w.id,
            w.case_id,
            w.organisation,
            w.dispatched_at,
            w.response_due_at,
            w.resolution_due_at,
            w.accepted_at,
            w.done_at,
            c.priority,
            c.commune_insee,
            c.asset_kind,
        )
        .select_from(work_orders.join(cases, w.case_id == c.id))
        .where(
            w.dispatched_at.is_not(None),
            w.response_due_at.is_not(None),
            w.resolution_due_at.is_not(None),
            w.state.not_in(_UNCOUNTED_ORDER_STATES),
            or_(
                and_(w.response_due_at >= start, w.response_due_at < end),
                and_(w.resolution_due_at >= start, w.resolution_due_at < end),
                and_(w.done_at >= start, w.done_at < end),
            ),
        )
        .order_by(w.id)
    )
    if commune is not None:
        query = query.where(c.commune_insee == commune)
    return [
        DispatchedOrder(
            id=row["id"],
            case_id=row["case_id"],
            organisation=row["organisation"],
            dispatched_at=row["dispatched_at"],
            response_due_at=row["response_due_at"],
            resolution_due_at=row["resolution_due_at"],
            accepted_at=row["accepted_at"],
            done_at=row["done_at"],
            priority=row["priority"],
            commune=row["commune_insee"],
            asset_kind=row["asset_kind"],
        )
        for row in conn.execute(query).mappings()
    ]
