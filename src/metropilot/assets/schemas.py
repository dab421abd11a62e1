"""API shapes of assets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from metropilot.assets.model import Asset, AssetChange, AssetKind, AssetStatus

__all__ = [
    "AssetChangeOut",
    "AssetDetailOut",
    "AssetOut",
    "MapCellOut",
    "MapPointsOut",
    "MapViewOut",
    "asset_detail_out",
    "asset_out",
    "document_feature",
]


class AssetOut(BaseModel):
    id: int
    external_ref: str = Field(examples=["SL-21231-00042"])
    kind: AssetKind
    subtype: str | None
    name: str | None
    status: AssetStatus
    commune: str = Field(description="INSEE code of the commune the asset stands in.")
    lon: float
    lat: float
    maintainer: str | None = Field(description="Code of the maintaining organisation.")
    parent: int | None = Field(description="Id of the parent asset (a street light's cabinet).")
    parent_ref: str | None
    attributes: dict[str, Any]
    updated_at: datetime
    version: int
    distance_m: float | None = Field(
        default=None, description="Only with near=: distance from that point in metres."
    )


class AssetChangeOut(BaseModel):
    at: datetime
    actor: str
    action: str
    changes: dict[str, list[Any]] = Field(description="{field: [before, after]}")


class AssetDetailOut(AssetOut):
    created_at: datetime
    history: list[AssetChangeOut]


def asset_out(asset: Asset, distance_m: float | None = None) -> dict[str, Any]:
    # Built by hand rather than validated: this runs for every row of every page.
    data: dict[str, Any] = {
        "id": asset.id,
        "external_ref": asset.external_ref,
        "kind": asset.kind.value,
        "subtype": asset.subtype,
        "name": asset.name,
        "status": asset.status.value,
        "commune": asset.commune_insee,
        "lon": asset.lon,
        "lat": asset.lat,
        "maintainer": asset.maintainer_code,
        "parent": asset.parent_id,
        "parent_ref": asset.parent_ref,
        "attributes": asset.attributes,
        "updated_at": asset.updated_at,
        "version": asset.version,
    }
    if distance_m is not None:
        data["distance_m"] = round(distance_m, 1)
    return data


def document_feature(doc: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature from an asset in its API shape (see ``asset_out``)."""
    properties = {k: v for k, v in doc.items() if k not in ("id", "lon", "lat")}
    return {
        "type": "Feature",
        "id": doc["id"],
        "geometry": {"type": "Point", "coordinates": [doc["lon"], doc["lat"]]},
        "properties": properties,
    }


def asset_detail_out(asset: Asset, history: list[AssetChange]) -> dict[str, Any]:
    data = asset_out(asset)
    data["created_at"] = asset.created_at
    data["history"] = [
        {"at": h.at, "actor": h.actor, "action": h.action.value, "changes": h.changes}
        for h in history
    ]
    return data


class MapCellOut(BaseModel):
    """A grid cell of the map: how many assets, their centroid, their counts by status and kind."""

    count: int
    lon: float
    lat: float
    statuses: dict[str, int]
    kinds: dict[str, int]


class MapPointsOut(BaseModel):
    """The points of the viewport as columns (the n-th asset is the n-th of every list)."""

    id: list[int]
    ref: list[str]
    kind: list[str]
    status: list[str]
    lon: list[float]
    lat: list[float]


class MapViewOut(BaseModel):
    """What the map draws for a viewport (``GET /map/assets``)."""

    mode: str = Field(description="points, or clusters when the viewport holds too many assets")
    zoom: int
    total: int = Field(description="How many assets the viewport holds.")
    cell_deg: float = Field(description="A grid cell's width in degrees of longitude.")
    clusters: list[MapCellOut]
    points: MapPointsOut
