"""Communes and districts, and the locator that says which commune a point stands in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from metropilot.shared.errors import InvalidInput, Problem
from metropilot.shared.events import DomainEvent
from metropilot.shared.geo import METRES_PER_DEGREE_LAT, LocalPlane

__all__ = [
    "Commune",
    "CommuneLocator",
    "District",
    "OutsideTerritory",
    "area_km2",
    "boundary_from_geojson",
    "validate_insee",
]

INSEE_PATTERN = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")


class OutsideTerritory(InvalidInput):
    code = "outside_territory"


def validate_insee(code: str) -> str:
    code = code.strip().upper()
    if not INSEE_PATTERN.match(code):
        raise InvalidInput(f"INSEE code must be five characters like 21231, got {code!r}")
    return code


def boundary_from_geojson(geometry: Any, where: str) -> Polygon | MultiPolygon:
    """Turn a GeoJSON geometry into a valid (multi)polygon, or explain precisely what is wrong."""
    if not isinstance(geometry, dict):
        raise InvalidInput(f"{where}: geometry must be a GeoJSON object")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(f"{where}: boundary must be a Polygon or MultiPolygon, got {kind!r}")
    try:
        geom = shape(geometry)
    except Exception as exc:
        raise InvalidInput(f"{where}: malformed {kind} coordinates ({exc})") from None
    if geom.is_empty:
        raise InvalidInput(f"{where}: boundary is empty")
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if min_lon < -180 or max_lon > 180 or min_lat < -90 or max_lat > 90:
        raise InvalidInput(f"{where}: coordinates must be WGS 84 longitude, latitude in degrees")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise InvalidInput(f"{where}: invalid {kind}: {reason}")
    assert isinstance(geom, Polygon | MultiPolygon)
    return geom


def area_km2(geometry: BaseGeometry) -> float:
    """Area of a lon/lat geometry in km², on the local plane around its centroid."""
    centroid = geometry.centroid
    plane = LocalPlane(centroid.x, centroid.y)
    scale = (plane.metres_per_degree_lon, METRES_PER_DEGREE_LAT)
    projected = shapely.transform(geometry, lambda xy: (xy - (plane.lon0, plane.lat0)) * scale)
    return round(float(projected.area) / 1e6, 3)


@dataclass(slots=True)
class Commune:
    insee: str
    name: str
    population: int
    boundary: Polygon | MultiPolygon
    area_km2: float | None = None
    centre: tuple[float, float] | None = None  # lon, lat of the town centre

    def boundary_geojson(self) -> dict[str, Any]:
        result: dict[str, Any] = mapping(self.boundary)
        return result


@dataclass(slots=True)
class District:
    code: str
    name: str
    commune_insee: str
    boundary: Polygon | MultiPolygon


@dataclass
class CommuneLocator:
    """Point-in-polygon over the communes through an STR-tree: no loop over every commune.

    Built once from the boundaries, then asked for one point or for a whole batch at once
    (the batch query is vectorised in GEOS, which is what makes a 340,000-asset import fast).
    """

    communes: Sequence[tuple[str, BaseGeometry]]
    _tree: shapely.STRtree = field(init=False, repr=False)
    _codes: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        geoms = [geom for _, geom in self.communes]
        for geom in geoms:
            shapely.prepare(geom)
        self._tree = shapely.STRtree(geoms)
        self._codes = [code for code, _ in self.communes]

    def __len__(self) -> int:
        return len(self._codes)

    def locate(self, lon: float, lat: float) -> str | None:
        return self.locate_many([(lon, lat)])[0]

    def locate_many(self, points: Sequence[tuple[float, float]]) -> list[str | None]:
        if not points:
            return []
        geoms = shapely.points(points)
        point_idx, commune_idx = self._tree.query(geoms, predicate="intersects")
        found: list[str | None] = [None] * len(points)
        # A point on a shared border belongs to the first commune by INSEE order: stable.
        for p, c in sorted(
            zip(point_idx.tolist(), commune_idx.tolist(), strict=True), reverse=True
        ):
            found[p] = self._codes[c]
        return found

    def require(self, lon: float, lat: float, where: str) -> str:
        code = self.locate(lon, lat)
        if code is None:
            raise OutsideTerritory(
                f"{where}: point ({lon:.6f}, {lat:.6f}) is outside the metropolis",
                details=[Problem(where, "outside the metropolis", lon=lon, lat=lat)],
            )
        return code


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BoundariesImported(DomainEvent):
    created: int
    updated: int
    actor: str


@dataclass(frozen=True, kw_only=True)
class DistrictsImported(DomainEvent):
    count: int
    actor: str
