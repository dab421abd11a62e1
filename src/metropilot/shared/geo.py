"""Plane geometry at metropolis scale.

A metropolis spans a few tens of kilometres, where a local equirectangular projection is accurate
to well under 0.1 %: distances and areas are computed in metres on that plane instead of carrying a
projection library. Coordinates are WGS 84 longitude/latitude in degrees everywhere else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["BBox", "LocalPlane", "parse_bbox", "parse_lonlat"]

METRES_PER_DEGREE_LAT = 111_132.954


@dataclass(frozen=True, slots=True)
class LocalPlane:
    """An equirectangular projection centred on ``(lon0, lat0)``; x east and y north in metres."""

    lon0: float
    lat0: float

    @property
    def metres_per_degree_lon(self) -> float:
        return METRES_PER_DEGREE_LAT * math.cos(math.radians(self.lat0))

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            (lon - self.lon0) * self.metres_per_degree_lon,
            (lat - self.lat0) * METRES_PER_DEGREE_LAT,
        )

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        return (
            self.lon0 + x / self.metres_per_degree_lon,
            self.lat0 + y / METRES_PER_DEGREE_LAT,
        )

    def distance_m(self, lon1: float, lat1: float, lon2: float, lat2: float) -> float:
        x1, y1 = self.to_xy(lon1, lat1)
        x2, y2 = self.to_xy(lon2, lat2)
        return math.hypot(x2 - x1, y2 - y1)


@dataclass(frozen=True, slots=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, lon: float, lat: float) -> bool:
        return self.min_lon <= lon <= self.max_lon and self.min_lat <= lat <= self.max_lat

    @classmethod
    def around(cls, lon: float, lat: float, radius_m: float) -> BBox:
        plane = LocalPlane(lon, lat)
        d_lon = radius_m / plane.metres_per_degree_lon
        d_lat = radius_m / METRES_PER_DEGREE_LAT
        return cls(lon - d_lon, lat - d_lat, lon + d_lon, lat + d_lat)


def _check_lonlat(lon: float, lat: float, what: str) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"{what}: coordinates must be finite numbers")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"{what}: longitude {lon} is outside -180..180")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"{what}: latitude {lat} is outside -90..90")


def _numbers(text: str, count: int, what: str, shape: str) -> list[float]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != count:
        raise ValueError(f"{what} must be {shape}, got {text!r}")
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{what} must be {shape} with decimal numbers, got {text!r}") from None


def parse_bbox(text: str) -> BBox:
    """Parse ``minlon,minlat,maxlon,maxlat`` (the order GeoJSON and OGC APIs use)."""
    shape = "minlon,minlat,maxlon,maxlat"
    min_lon, min_lat, max_lon, max_lat = _numbers(text, 4, "bbox", shape)
    _check_lonlat(min_lon, min_lat, "bbox")
    _check_lonlat(max_lon, max_lat, "bbox")
    if min_lon > max_lon or min_lat > max_lat:
        raise ValueError(f"bbox must be {shape} with min ≤ max, got {text!r}")
    return BBox(min_lon, min_lat, max_lon, max_lat)


def parse_lonlat(text: str, what: str = "point") -> tuple[float, float]:
    lon, lat = _numbers(text, 2, what, "lon,lat")
    _check_lonlat(lon, lat, what)
    return lon, lat
