"""The shared state of one build: seeds, plane, planned counts, the places laid so far."""

from __future__ import annotations

import random
from typing import Any

import shapely

from metropilot.assets.model import AssetDraft, AssetKind, AssetStatus
from metropilot.shared.geo import METRES_PER_DEGREE_LAT, LocalPlane
from metropilot.simulate.layout.common import (
    ROUNDING,
    XY,
    CommuneSeed,
    Report,
    SyntheticStreet,
    planned_counts,
    seeded_rng,
)
from metropilot.simulate.layout.places import Place


class Build:
    """Holds the shared state of one build; each layer module lays out one layer with it."""

    def __init__(
        self,
        seeds: list[CommuneSeed],
        plane: LocalPlane,
        scale: float,
        seed: int,
        report: Report,
    ) -> None:
        self.seeds = seeds
        self.plane = plane
        self.scale = scale
        self.seed = seed
        self.report = report
        self.mx = plane.metres_per_degree_lon
        self.my = METRES_PER_DEGREE_LAT
        self.counts = planned_counts(scale, len(seeds))
        self.places: list[Place] = []
        self.streets: list[SyntheticStreet] = []
        self.city = max(range(len(seeds)), key=lambda i: (seeds[i].population, -i))

    def rng(self, *parts: str) -> random.Random:
        return seeded_rng(self.seed, *parts)

    # -- coordinates

    def to_plane(self, geometry: Any) -> Any:
        lon0, lat0, mx, my = self.plane.lon0, self.plane.lat0, self.mx, self.my
        return shapely.transform(geometry, lambda c: (c - [lon0, lat0]) * [mx, my])

    def to_lonlat(self, geometry: Any) -> Any:
        lon0, lat0, mx, my = self.plane.lon0, self.plane.lat0, self.mx, self.my
        return shapely.transform(geometry, lambda c: c / [mx, my] + [lon0, lat0])

    def lonlat(self, xy: XY) -> tuple[float, float]:
        lon, lat = self.plane.to_lonlat(*xy)
        return round(lon, ROUNDING), round(lat, ROUNDING)

    def draft(
        self,
        ref: str,
        kind: AssetKind,
        xy: XY,
        attributes: dict[str, Any],
        maintainer: str,
        *,
        name: str | None = None,
        parent: str | None = None,
        subtype: str | None = None,
    ) -> AssetDraft:
        lon, lat = self.lonlat(xy)
        return AssetDraft(
            external_ref=ref,
            kind=kind,
            lon=lon,
            lat=lat,
            attributes=attributes,
            maintainer=maintainer,
            parent_ref=parent,
            subtype=subtype,
            name=name,
            status=AssetStatus.OK,
            where=ref,
        )

    def group(self, drafts: list[AssetDraft]) -> list[list[AssetDraft]]:
        """Drafts per commune, found by point-in-polygon since drafts do not carry a commune."""
        groups: list[list[AssetDraft]] = [[] for _ in self.places]
        if not drafts:
            return groups
        xy = [self.plane.to_xy(d.lon, d.lat) for d in drafts]
        for index, place in enumerate(self.places):
            inside = shapely.contains_xy(place.cell, *zip(*xy, strict=True)).tolist()
            groups[index] = [d for d, ok in zip(drafts, inside, strict=True) if ok]
        return groups
