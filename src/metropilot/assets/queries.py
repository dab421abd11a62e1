"""What other contexts and the entry points may read of the equipment registry: small query
functions on a connection, answering frozen dataclasses (never rows)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from metropilot.assets.repository import assets, scope_clause
from metropilot.shared.scope import Scope

__all__ = ["AssetReference", "search_by_reference"]


# --- read by web ---


@dataclass(frozen=True, slots=True)
class AssetReference:
    """An asset as a search box lists it: its reference, kind, status and place."""

    id: int
    ref: str
    kind: str
    status: str
    commune: str | None
    lon: float
    lat: float


def search_by_reference(
    connection: Connection, wanted: str, scope: Scope, *, limit: int
) -> list[AssetReference]:
    """The assets of ``scope`` whose reference starts with ``wanted`` (any case), the exact
    match first, then in the order of their references."""
    upper = wanted.strip().upper()
    pattern = upper.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    c = assets.c
    rows = connection.execute(
        select(c.id, c.external_ref, c.kind, c.status, c.commune_insee, c.lon, c.lat)
        .where(func.upper(c.external_ref).like(pattern, escape="\\"), scope_clause(scope))
        .order_by((func.upper(c.external_ref) != upper), c.external_ref)
        .limit(limit)
    ).all()
    return [
        AssetReference(r.id, r.external_ref, r.kind, r.status, r.commune_insee, r.lon, r.lat)
        for r in rows
    ]
