"""A commune on the local plane, with the geometry every layer draws its points from."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from metropilot.simulate.layout.common import XY, CommuneSeed


@dataclass
class Place:
    """One commune on the plane, with the geometry every generator needs."""

    seed: CommuneSeed
    cell: Any  # Polygon | MultiPolygon, metres
    inner: Any  # cell shrunk by BORDER_MARGIN_M: every asset stands in it
    deep: Any  # cell shrunk by DEEP_MARGIN_M: for points set back from a street
    anchor: XY  # town centre
    boundary: Polygon | MultiPolygon  # lon/lat, as published
    centre: tuple[float, float]  # lon/lat
    town_radius: float = 0.0
    lines: list[Any] = field(default_factory=list)  # street pieces inside `inner`
    line_names: list[str] = field(default_factory=list)
    line_main: list[bool] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)  # cumulative length at each piece's end

    @property
    def insee(self) -> str:
        return self.seed.insee

    @property
    def street_length(self) -> float:
        return self.ends[-1] if self.ends else 0.0

    def add_lines(self, lines: Sequence[Any], names: Sequence[str], main: bool) -> None:
        for line, name in zip(lines, names, strict=True):
            self.lines.append(line)
            self.line_names.append(name)
            self.line_main.append(main)
            self.ends.append(self.street_length + float(line.length))

    def locate(self, distance: float) -> tuple[int, float]:
        """Which street piece a distance along the whole network falls on, and where on it."""
        index = min(bisect.bisect_left(self.ends, distance), len(self.ends) - 1)
        start = self.ends[index - 1] if index else 0.0
        return index, distance - start

    def street_point(
        self,
        rng: random.Random,
        *,
        within: float | None = None,
        main: bool | None = None,
        region: Any = None,
    ) -> tuple[XY, int]:
        """A random point on the streets, optionally near the centre, on a main road, in a region.

        Constraints are tried a few times then relaxed: a point is always returned.
        """
        best: tuple[float, XY, int] | None = None
        for attempt in range(40):
            index, along = self.locate(rng.uniform(0.0, self.street_length))
            point = self.lines[index].interpolate(along)
            xy = (float(point.x), float(point.y))
            score = 0.0
            if within is not None:
                score += max(0.0, math.dist(xy, self.anchor) - within)
            if main is not None and self.line_main[index] is not main and attempt < 30:
                score += 1e6
            if region is not None and not shapely.contains_xy(region, *xy):
                score += 1e9
            if score == 0.0:
                return xy, index
            if best is None or score < best[0]:
                best = (score, xy, index)
        assert best is not None
        return best[1], best[2]

    def near(self, rng: random.Random, origin: XY, low: float, high: float, region: Any) -> XY:
        """A point a few metres from ``origin`` (a mast beside a junction), inside ``region``."""
        for _ in range(16):
            angle = rng.uniform(0.0, math.tau)
            radius = rng.uniform(low, high)
            xy = (origin[0] + radius * math.cos(angle), origin[1] + radius * math.sin(angle))
            if shapely.contains_xy(region, *xy):
                return xy
        return origin

    def setback(self, rng: random.Random, xy: XY, index: int, distance: float) -> XY:
        """A point beside the street (a building's door is not in the roadway)."""
        line = self.lines[index]
        along = float(line.project(Point(xy)))
        ahead = line.interpolate(min(along + 1.0, float(line.length)))
        behind = line.interpolate(max(along - 1.0, 0.0))
        dx, dy = float(ahead.x - behind.x), float(ahead.y - behind.y)
        norm = math.hypot(dx, dy) or 1.0
        side = rng.choice((-1.0, 1.0))
        for sign in (side, -side):
            candidate = (xy[0] - sign * dy / norm * distance, xy[1] + sign * dx / norm * distance)
            if shapely.contains_xy(self.inner, *candidate):
                return candidate
        return xy


def town_radius(population: int) -> float:
    """How far the built-up area reaches: a village is a few hundred metres, Dijon kilometres."""
    return 200.0 + 9.0 * math.sqrt(max(population, 0))
