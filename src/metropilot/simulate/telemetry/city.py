"""The city as the simulator sees it: its equipment, streets and commune centres."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import shapely

if TYPE_CHECKING:
    from metropilot.simulate.layout import SyntheticMetropolis


@dataclass(frozen=True, slots=True)
class SimAsset:
    """One piece of equipment as the simulator needs it; ``ref`` is what it reports as."""

    ref: str
    kind: str
    lon: float
    lat: float
    commune: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    subtype: str | None = None
    parent: str | None = None  # the parent's reference


@dataclass(frozen=True, slots=True)
class SimStreet:
    category: str  # "main" or "local"
    line: tuple[tuple[float, float], ...]  # (lon, lat) vertices
    commune: str = ""


@dataclass(frozen=True, slots=True)
class City:
    assets: Sequence[SimAsset]
    streets: Sequence[SimStreet] = ()
    centres: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # INSEE → lon, lat
    # Counters the equipment already reported (reference → {"energy_wh": …}), to resume from.
    counters: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def city_from_layout(metropolis: SyntheticMetropolis) -> City:
    """The simulator's view of a synthetic metropolis built in memory (no database needed)."""
    plane_communes = [(c.insee, c.boundary) for c in metropolis.communes]
    refs = [a.external_ref for a in metropolis.assets]
    points = shapely.points([(a.lon, a.lat) for a in metropolis.assets])
    commune_of: dict[str, str] = {}
    for insee, boundary in plane_communes:
        inside = shapely.contains_xy(boundary, *shapely.get_coordinates(points).T).tolist()
        for ref, ok in zip(refs, inside, strict=True):
            if ok and ref not in commune_of:
                commune_of[ref] = insee
    fallback = metropolis.communes[0].insee if metropolis.communes else ""
    assets = tuple(
        SimAsset(
            ref=a.external_ref,
            kind=a.kind.value,
            lon=a.lon,
            lat=a.lat,
            commune=commune_of.get(a.external_ref, fallback),
            attributes=a.attributes,
            subtype=a.subtype,
            parent=a.parent_ref,
        )
        for a in metropolis.assets
    )
    streets = tuple(SimStreet(s.category, s.line, s.commune_insee) for s in metropolis.streets)
    centres = {c.insee: c.centre for c in metropolis.communes if c.centre is not None}
    return City(assets, streets, centres)
