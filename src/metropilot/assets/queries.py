"""What other contexts read of the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from metropilot.assets import repository
from metropilot.assets.repository import assets, scope_clause
from metropilot.shared.journal import AssetFacts
from metropilot.shared.scope import Scope

__all__ = ["asset_count", "asset_facts"]


def asset_facts(conn: Any, asset_ids: set[int]) -> dict[int, AssetFacts]:
    """Commune, maintainer and kind of each asset, for the live stream's scoping (``conn`` is a
    SQLAlchemy Connection, typed as the stream's reader expects)."""
    if not asset_ids:
        return {}
    a = assets.c
    rows = conn.execute(
        select(a.id, a.commune_insee, a.maintainer_id, a.kind).where(a.id.in_(asset_ids))
    )
    return {int(r[0]): AssetFacts(str(r[1]), r[2], str(r[3])) for r in rows}


# --- read by simulate ---


def asset_count(conn: Connection) -> int:
    """How many assets the registry holds."""
    return repository.count_assets(conn)


# --- read by cases ---


@dataclass(frozen=True, slots=True)
class AssetPlace:
    """An asset's kind and commune."""

    kind: str
    commune_insee: str


def asset_place(conn: Connection, asset_id: int, scope: Scope) -> AssetPlace | None:
    """The kind and commune of an asset as ``GET /assets/{id}`` finds it: None outside the
    scope, as for an asset that does not exist."""
    a = assets.c
    query = select(a.kind, a.commune_insee).where(a.id == asset_id)
    if not scope.unrestricted:
        query = query.where(scope_clause(scope))
    row = conn.execute(query).first()
    return None if row is None else AssetPlace(str(row[0]), str(row[1]))
