"""Storage of the performance contract: the contract documents and their amendments, the frozen
penalty statements, the dimming programs and where they apply, and the platform's uptime.

The contract is kept as the document it was imported from (the shape `model.parse_contract`
reads), so an amendment is one more version appended to the document; the amendments table
records who changed what and why. A frozen statement is stored whole, as it was shown to the
supervisor who froze it, and is never written again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from metropilot.db.schema import JSONDocument, UTCDateTime, metadata

__all__ = [
    "component_uptime",
    "contract_amendments",
    "contracts",
    "dimming_assignments",
    "dimming_programs",
    "frozen_statements",
    "lighting_groups",
]

contracts = Table(
    "contracts",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("document", JSONDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

contract_amendments = Table(
    "contract_amendments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("contract_code", String(40), ForeignKey("contracts.code"), nullable=False, index=True),
    Column("effective_from", Date, nullable=False),
    Column("lot", String(24), nullable=False),
    Column("part", String(16), nullable=False),  # sla, kpi, penalties
    Column("kpi", String(48)),
    Column("version", JSONDocument, nullable=False),
    Column("reason", String(2000), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(200), nullable=False),
)

frozen_statements = Table(
    "frozen_statements",
    metadata,
    Column("contract_code", String(40), ForeignKey("contracts.code"), nullable=False),
    Column("lot", String(24), nullable=False),
    Column("period", String(8), nullable=False),  # 2026, 2026-03, 2026-Q2
    Column("period_end", UTCDateTime, nullable=False),
    Column("statement", JSONDocument, nullable=False),
    Column("frozen_at", UTCDateTime, nullable=False),
    Column("frozen_by", String(200), nullable=False),
    PrimaryKeyConstraint("contract_code", "lot", "period", name="pk_frozen_statements"),
)

dimming_programs = Table(
    "dimming_programs",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("steps", JSONDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

# Named sets of lighting cabinets (a main avenue, a park) that share a program across communes.
lighting_groups = Table(
    "lighting_groups",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("cabinet_ids", JSONDocument, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

# Which program applies where, from a date: rows are only ever added, so the energy of a past
# period is computed with the programs that were in force then. ``target`` is a cabinet id, a
# group code, an INSEE code, or '*' for the metropolis.
dimming_assignments = Table(
    "dimming_assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("program_code", String(48), ForeignKey("dimming_programs.code"), nullable=False),
    Column("target_type", String(12), nullable=False),  # cabinet, group, commune, metropolis
    Column("target", String(100), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(200), nullable=False),
    Index("ix_dimming_assignments_target", "target_type", "target"),
)

# Each process of the platform beats every half minute; consecutive beats extend one interval,
# a silence longer than the grace starts a new one. IT availability is read from these.
component_uptime = Table(
    "component_uptime",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("component", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("last_beat_at", UTCDateTime, nullable=False),
    Index("ix_component_uptime_component_last_beat_at", "component", "last_beat_at"),
)


# --- contracts --------------------------------------------------------------------------------


def get_contract(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(contracts).where(contracts.c.code == code)).mappings().first()
    return None if row is None else dict(row)


def list_contracts(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(contracts).order_by(contracts.c.code)).mappings()
    return [dict(r) for r in rows]


def put_contract(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert or replace the document; whether the contract existed."""
    existed = get_contract(conn, values["code"]) is not None
    if existed:
        conn.execute(
            update(contracts)
            .where(contracts.c.code == values["code"])
            .values({k: v for k, v in values.items() if k not in ("code", "created_at")})
        )
    else:
        conn.execute(insert(contracts).values(values))
    return existed


def add_amendment(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(contract_amendments).values(values))
    (key,) = result.inserted_primary_key or (None,)
    assert key is not None
    return int(key)


def list_amendments(conn: Connection, contract_code: str) -> list[dict[str, Any]]:
    a = contract_amendments.c
    rows = conn.execute(
        select(contract_amendments)
        .where(a.contract_code == contract_code)
        .order_by(a.effective_from, a.id)
    ).mappings()
    return [dict(r) for r in rows]


# --- frozen statements ------------------------------------------------------------------------


def get_frozen(
    conn: Connection, contract_code: str, lot: str, period: str
) -> dict[str, Any] | None:
    f = frozen_statements.c
    row = (
        conn.execute(
            select(frozen_statements).where(
                and_(f.contract_code == contract_code, f.lot == lot, f.period == period)
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def list_frozen(
    conn: Connection, contract_code: str, lot: str | None = None
) -> list[dict[str, Any]]:
    f = frozen_statements.c
    query = select(frozen_statements).where(f.contract_code == contract_code)
    if lot is not None:
        query = query.where(f.lot == lot)
    rows = conn.execute(query.order_by(f.lot, f.period_end)).mappings()
    return [dict(r) for r in rows]


def last_frozen_end(conn: Connection, contract_code: str, lot: str) -> datetime | None:
    ends = [row["period_end"] for row in list_frozen(conn, contract_code, lot)]
    return max(ends) if ends else None


def insert_frozen(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(frozen_statements).values(values))


# --- dimming programs -------------------------------------------------------------------------


def get_program(conn: Connection, code: str) -> dict[str, Any] | None:
    query = select(dimming_programs).where(dimming_programs.c.code == code)
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def list_programs(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(dimming_programs).order_by(dimming_programs.c.code)).mappings()
    return [dict(r) for r in rows]


def put_program(conn: Connection, values: dict[str, Any]) -> bool:
    existed = get_program(conn, values["code"]) is not None
    if existed:
        conn.execute(
            update(dimming_programs)
            .where(dimming_programs.c.code == values["code"])
            .values({k: v for k, v in values.items() if k not in ("code", "created_at")})
        )
    else:
        conn.execute(insert(dimming_programs).values(values))
    return existed


def get_group(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(lighting_groups).where(lighting_groups.c.code == code)).mappings()
    found = row.first()
    return None if found is None else dict(found)


def list_groups(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(lighting_groups).order_by(lighting_groups.c.code)).mappings()
    return [dict(r) for r in rows]


def put_group(conn: Connection, values: dict[str, Any]) -> bool:
    existed = get_group(conn, values["code"]) is not None
    if existed:
        conn.execute(
            update(lighting_groups)
            .where(lighting_groups.c.code == values["code"])
            .values({k: v for k, v in values.items() if k != "code"})
        )
    else:
        conn.execute(insert(lighting_groups).values(values))
    return existed


def add_assignment(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(dimming_assignments).values(values))
    (key,) = result.inserted_primary_key or (None,)
    assert key is not None
    return int(key)


def list_assignments(
    conn: Connection, *, program_code: str | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Every assignment (of one program), oldest first; ``until``: those effective by then."""
    a = dimming_assignments.c
    query = select(dimming_assignments)
    if program_code is not None:
        query = query.where(a.program_code == program_code)
    if until is not None:
        query = query.where(a.effective_from <= until)
    rows = conn.execute(query.order_by(a.effective_from, a.id)).mappings()
    return [dict(r) for r in rows]


# --- uptime -----------------------------------------------------------------------------------


def beat(conn: Connection, component: str, at: datetime, grace_s: float) -> None:
    """Extend the component's last interval if its last beat is recent enough, else open one."""
    u = component_uptime.c
    last = (
        conn.execute(
            select(u.id, u.last_beat_at)
            .where(u.component == component)
            .order_by(u.last_beat_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if last is not None and 0 <= (at - last["last_beat_at"]).total_seconds() <= grace_s:
        conn.execute(update(component_uptime).where(u.id == last["id"]).values(last_beat_at=at))
    elif last is None or at > last["last_beat_at"]:
        conn.execute(
            insert(component_uptime).values(component=component, started_at=at, last_beat_at=at)
        )


def uptime_between(
    conn: Connection, components: Sequence[str], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The intervals of the components that overlap ``[start, end)``."""
    u = component_uptime.c
    rows = conn.execute(
        select(u.component, u.started_at, u.last_beat_at)
        .where(and_(u.component.in_(list(components)), u.started_at < end, u.last_beat_at > start))
        .order_by(u.component, u.started_at)
    ).mappings()
    return [dict(r) for r in rows]
