"""What other contexts read of the registry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from metropilot.assets import repository
from metropilot.assets.repository import assets
from metropilot.shared.journal import AssetFacts

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
