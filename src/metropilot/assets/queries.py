"""What other contexts read of the registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from metropilot.assets.repository import assets, scope_clause
from metropilot.shared.geo import BBox
from metropilot.shared.journal import AssetFacts
from metropilot.shared.scope import Scope

__all__ = ["AssetSelection", "PlacedAsset", "asset_facts", "in_scope", "live_assets"]


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


# --- read by control ---


@dataclass(frozen=True, slots=True)
class PlacedAsset:
    """An asset as a command reaches it: what it is, where it stands, what feeds it."""

    id: int
    external_ref: str
    kind: str
    commune_insee: str
    attributes: Mapping[str, Any]
    parent_id: int | None
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class AssetSelection:
    """Which assets: every criterion given must hold (none given: every asset)."""

    ids: Sequence[int] | None = None
    refs: Sequence[str] | None = None
    kinds: Sequence[str] | None = None
    commune: str | None = None
    bbox: BBox | None = None
    # The children of these assets, and these assets themselves (a cabinet and its lights).
    family_of: Sequence[int] | None = None


def live_assets(conn: Connection, scope: Scope, selection: AssetSelection) -> list[PlacedAsset]:
    """The assets of the selection within the scope, decommissioned ones left out, by id."""
    a = assets.c
    query = select(
        a.id, a.external_ref, a.kind, a.commune_insee, a.attributes, a.parent_id, a.lon, a.lat
    ).where(a.status != "decommissioned")
    if selection.ids is not None:
        query = query.where(a.id.in_(list(selection.ids)))
    if selection.refs is not None:
        query = query.where(a.external_ref.in_(list(selection.refs)))
    if selection.kinds is not None:
        query = query.where(a.kind.in_(list(selection.kinds)))
    if selection.commune is not None:
        query = query.where(a.commune_insee == selection.commune)
    if selection.bbox is not None:
        box = selection.bbox
        query = query.where(
            a.lon.between(box.min_lon, box.max_lon), a.lat.between(box.min_lat, box.max_lat)
        )
    if selection.family_of is not None:
        family = list(selection.family_of)
        query = query.where(a.parent_id.in_(family) | a.id.in_(family))
    if not scope.unrestricted:
        query = query.where(scope_clause(scope))
    return [
        PlacedAsset(
            int(r.id),
            str(r.external_ref),
            str(r.kind),
            str(r.commune_insee),
            r.attributes,
            r.parent_id,
            float(r.lon),
            float(r.lat),
        )
        for r in conn.execute(query.order_by(a.id))
    ]


def in_scope(conn: Connection, scope: Scope, asset_id: int) -> bool:
    """Whether the asset exists and the scope sees it (whatever its status)."""
    if scope.unrestricted:
        return True
    a = assets.c
    query = select(a.id).where(a.id == asset_id, scope_clause(scope))
    return conn.execute(query).first() is not None
