"""Storage of organisations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, Table, insert, select
from sqlalchemy.engine import Connection

from metropilot.accounts.model import Organisation, OrganisationKind, Sector
from metropilot.db.schema import metadata

__all__ = [
    "get_organisation_by_code",
    "list_organisations",
    "organisations",
    "save_organisation",
]

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("sector", String(16), nullable=False),
    Column("commune_insee", String(5), ForeignKey("communes.insee"), index=True),
)


def _to_domain(row: Any) -> Organisation:
    return Organisation(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=OrganisationKind(row.kind),
        sector=Sector(row.sector),
        commune_insee=row.commune_insee,
    )


def list_organisations(
    conn: Connection,
    *,
    kind: OrganisationKind | None = None,
    sector: Sector | None = None,
    commune_insee: str | None = None,
) -> list[Organisation]:
    query = select(organisations).order_by(organisations.c.code)
    if kind is not None:
        query = query.where(organisations.c.kind == kind.value)
    if sector is not None:
        query = query.where(organisations.c.sector == sector.value)
    if commune_insee is not None:
        query = query.where(organisations.c.commune_insee == commune_insee)
    return [_to_domain(row) for row in conn.execute(query)]


def get_organisation_by_code(conn: Connection, code: str) -> Organisation | None:
    row = conn.execute(select(organisations).where(organisations.c.code == code)).first()
    return _to_domain(row) if row else None


def save_organisation(conn: Connection, org: Organisation) -> Organisation:
    """Insert or update by code; returns the organisation with its id."""
    values = {
        "name": org.name,
        "kind": org.kind.value,
        "sector": org.sector.value,
        "commune_insee": org.commune_insee,
    }
    existing = conn.execute(
        select(organisations.c.id).where(organisations.c.code == org.code)
    ).scalar()
    if existing is not None:
        conn.execute(organisations.update().where(organisations.c.id == existing).values(**values))
        org.id = int(existing)
    else:
        org.id = int(
            conn.execute(
                insert(organisations).values(code=org.code, **values).returning(organisations.c.id)
            ).scalar_one()
        )
    return org
