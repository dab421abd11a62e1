"""What other contexts read of cases and work orders: small typed reads (contracts measure their
lots' service levels on the work orders; control opens cases through ``cases.services``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, or_, select

from metropilot.cases.model import Priority, WorkOrderState
from metropilot.cases.repository import cases, work_orders

__all__ = [
    "DispatchedOrder",
    "dispatched_orders_due",
]


@dataclass(frozen=True, slots=True)
class DispatchedOrder:
    """A dispatched work order with its deadlines and what its case says of it: the facts a
    contract's service levels are measured on."""

    id: int
    case_id: int
    organisation: str
    priority: Priority
    commune_insee: str | None
    asset_kind: str | None
    dispatched_at: datetime
    response_due_at: datetime
    resolution_due_at: datetime
    accepted_at: datetime | None
    done_at: datetime | None


def dispatched_orders_due(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    excluding: Collection[WorkOrderState] = (),
    commune: str | None = None,
) -> list[DispatchedOrder]:
    """The dispatched orders (not in the states ``excluding``) with a response or resolution
    deadline, or their completion, in ``[start, end)``; in one commune or in all; by id."""
    w, c = work_orders.c, cases.c
    query = (
        select(
            w.id,
            w.case_id,
            w.organisation,
            c.priority,
            c.commune_insee,
            c.asset_kind,
            w.dispatched_at,
            w.response_due_at,
            w.resolution_due_at,
            w.accepted_at,
            w.done_at,
        )
        .select_from(work_orders.join(cases, w.case_id == c.id))
        .where(
            w.dispatched_at.is_not(None),
            w.response_due_at.is_not(None),
            w.resolution_due_at.is_not(None),
            w.state.not_in([s.value for s in excluding]),
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
            id=int(row.id),
            case_id=int(row.case_id),
            organisation=str(row.organisation),
            priority=Priority(str(row.priority)),
            commune_insee=row.commune_insee,
            asset_kind=row.asset_kind,
            dispatched_at=row.dispatched_at,
            response_due_at=row.response_due_at,
            resolution_due_at=row.resolution_due_at,
            accepted_at=row.accepted_at,
            done_at=row.done_at,
        )
        for row in conn.execute(query)
    ]
