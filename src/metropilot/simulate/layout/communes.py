"""Communes: their cells (generated or given), margins and town centres."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import Point

from metropilot.simulate.layout.cells import metropolis_outline, power_cells
from metropilot.simulate.layout.common import BORDER_MARGIN_M, DEEP_MARGIN_M, XY
from metropilot.simulate.layout.context import Build
from metropilot.simulate.layout.places import Place, town_radius
from metropilot.territory.model import Commune


def place_communes(build: Build, boundaries: Sequence[Commune] | None) -> list[Place]:
    sites = [build.plane.to_xy(s.lon, s.lat) for s in build.seeds]
    if boundaries is None:
        cells = generate_cells(build, sites)
        lonlat = list(build.to_lonlat(cells))
        given_centres: list[tuple[float, float] | None] = [None] * len(build.seeds)
    else:
        by_code = {c.insee: c for c in boundaries}
        missing = [s.insee for s in build.seeds if s.insee not in by_code]
        if missing:
            raise ValueError(f"no boundary given for communes {', '.join(missing)}")
        lonlat = [by_code[s.insee].boundary for s in build.seeds]
        cells = list(build.to_plane(lonlat))
        given_centres = [by_code[s.insee].centre for s in build.seeds]
    places = []
    for seed, site, cell, boundary, given in zip(
        build.seeds, sites, cells, lonlat, given_centres, strict=True
    ):
        inner = cell.buffer(-BORDER_MARGIN_M)
        deep = cell.buffer(-DEEP_MARGIN_M)
        if inner.is_empty:
            raise ValueError(f"commune {seed.insee} is too small to hold any equipment")
        if deep.is_empty:
            deep = inner
        shapely.prepare(inner)
        shapely.prepare(deep)
        candidates = [site]
        if given is not None:
            candidates.append(build.plane.to_xy(*given))
        anchor = next((c for c in candidates if deep.contains(Point(c))), None)
        if anchor is None:
            point = deep.representative_point()
            anchor = (float(point.x), float(point.y))
        if given is not None:
            centre = given
        elif cell.contains(Point(site)):
            centre = (seed.lon, seed.lat)
        else:
            centre = build.lonlat(anchor)
        places.append(
            Place(seed, cell, inner, deep, anchor, boundary, centre, town_radius(seed.population))
        )
    return places


def generate_cells(build: Build, sites: list[XY]) -> list[Any]:
    known = [s.area_km2 for s in build.seeds if s.area_km2 is not None and s.area_km2 > 0]
    fallback = statistics.median(known) if known else 10.0
    targets = [
        (s.area_km2 if s.area_km2 is not None and s.area_km2 > 0 else fallback) * 1e6
        for s in build.seeds
    ]
    outline = metropolis_outline(sites, sum(targets), build.rng("outline"))
    scale_to_outline = float(outline.area) / sum(targets)
    return power_cells(sites, [t * scale_to_outline for t in targets], outline)
