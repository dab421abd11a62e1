"""Penalty statements: computed from the facts until the period is frozen, stored after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from metropilot.contracts import repository
from metropilot.contracts.kpis import PenaltyStatement, compute_statement
from metropilot.contracts.model import Lot, Period
from metropilot.contracts.services.contracts import StoredContract, contract_for, cutoff_of, lots_of
from metropilot.contracts.services.facts import work_order_facts
from metropilot.contracts.services.kpis import Measured, measure_lot
from metropilot.contracts.services.results import PenaltyStatementOut, Statement
from metropilot.contracts.services.terms import money
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict

# --- penalties --------------------------------------------------------------------------------


def _statement_dict(statement: PenaltyStatement) -> Statement:
    def opt(value: Decimal | None) -> str | None:
        # Hours late and points shown to the hundredth; the amounts use the exact figures.
        return None if value is None else str(value.quantize(Decimal("0.01")))

    return {
        "lot": statement.lot,
        "period": statement.period.label,
        "as_of": statement.as_of.isoformat(),
        "items": [
            {
                "rule": i.rule,
                "kind": i.kind.value,
                "amount": str(i.amount),
                "order_id": i.order_id,
                "case_id": i.case_id,
                "stage": None if i.stage is None else i.stage.value,
                "hours_late": opt(i.hours_late),
                "kpi": i.kpi,
                "measured": i.measured,
                "target": i.target,
                "points": opt(i.points),
            }
            for i in statement.items
        ],
        "rules": [
            {"rule": r.rule, "gross": str(r.gross), "capped": str(r.capped), "cap": money(r.cap)}
            for r in statement.rules
        ],
        "gross": str(statement.gross),
        "cap": money(statement.cap),
        "total": str(statement.total),
        "bonuses": [
            {
                "rule": b.rule,
                "kpi": b.kpi,
                "measured": b.measured,
                "target": b.target,
                "points": str(b.points),
                "amount": str(b.amount),
            }
            for b in statement.bonuses
        ],
        "bonus_total": str(statement.bonus_total),
        "net": str(statement.net),
        "missing_kpis": list(statement.missing_kpis),
    }


def _computed(
    uow: UnitOfWork,
    stored: StoredContract,
    lot: Lot,
    period: Period,
    cutoff: datetime,
    facts: Measured,
) -> Statement:
    """The lot's statement as the facts recorded by ``cutoff`` make it."""
    measured = {
        kpi["code"]: kpi["value"]
        for kpi in measure_lot(uow, stored, lot, period, facts, cutoff, None)
        if kpi["value"] is not None
    }
    statement = compute_statement(
        period,
        lot.code.value,
        lot.penalties.for_period(period),
        lot.kpis_for(period),
        facts.orders,
        measured,
        as_of=cutoff,
    )
    return _statement_dict(statement)


def _served(
    stored: StoredContract,
    lot: Lot,
    statement: Statement,
    frozen_at: str | None = None,
    frozen_by: str | None = None,
) -> PenaltyStatementOut:
    return {
        "contract": stored.code,
        "contractor": lot.contractor,
        **statement,
        "frozen": frozen_at is not None,
        "frozen_at": frozen_at,
        "frozen_by": frozen_by,
    }


def penalty_statements(
    uow: UnitOfWork,
    period: Period,
    *,
    lot: str | Sequence[str] | None = None,
    as_of: datetime | None = None,
) -> list[PenaltyStatementOut]:
    """The statement of each lot (or one) for the period: the stored one once frozen, else
    computed now from the facts, with every contributing order or KPI."""
    stored = contract_for(uow, period)
    lots = lots_of(stored, lot)
    cutoff = cutoff_of(period, as_of)
    facts = Measured(work_order_facts(uow, stored.contract, period.start, period.end))
    statements = []
    for item in lots:
        frozen = repository.get_frozen(uow.connection, stored.code, item.code.value, period.label)
        if frozen is None:
            statement = _computed(uow, stored, item, period, cutoff, facts)
            statements.append(_served(stored, item, statement))
        else:
            # Served as stored when frozen, whatever the code computes today.
            kept: Statement = frozen["statement"]
            at, by = frozen["frozen_at"].isoformat(), frozen["frozen_by"]
            statements.append(_served(stored, item, kept, at, by))
    return statements


def freeze_period(
    uow: UnitOfWork, period: Period, lot: str, actor: Actor, *, now: datetime | None = None
) -> PenaltyStatementOut:
    """The supervisor has reviewed the lot's statement for an ended period: store it as it is
    now; it never changes afterwards, whatever facts arrive."""
    stored = contract_for(uow, period)
    item = stored.contract.lot(lot)
    code = item.code.value
    now = now or utcnow()
    existing = repository.get_frozen(uow.connection, stored.code, code, period.label)
    if existing is not None:
        raise Conflict(
            f"{code} {period.label} was frozen on {existing['frozen_at'].isoformat()} "
            f"by {existing['frozen_by']}",
            code="period_frozen",
        )
    if now < period.end:
        raise Conflict(
            f"{code} {period.label} cannot be frozen before it ends ({period.end.isoformat()})",
            code="period_not_ended",
        )
    facts = Measured(work_order_facts(uow, stored.contract, period.start, period.end))
    kept = _computed(uow, stored, item, period, period.end, facts)
    repository.insert_frozen(
        uow.connection,
        {
            "contract_code": stored.code,
            "lot": code,
            "period": period.label,
            "period_end": period.end,
            "statement": kept,
            "frozen_at": now,
            "frozen_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "penalties.frozen",
            "penalty_statement",
            f"{stored.code}/{code}/{period.label}",
            {"total": [None, kept["total"]], "net": [None, kept["net"]]},
        )
    )
    return _served(stored, item, kept, now.isoformat(), actor.label())
