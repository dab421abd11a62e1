"""Commune cells: the metropolis' outline cut into a power diagram with the communes' areas."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import MultiPoint, Point, Polygon

from metropilot.simulate.layout.common import WEIGHT_LIMIT, XY


def metropolis_outline(sites: Sequence[XY], target_area: float, rng: random.Random) -> Any:
    """The metropolis' outer edge: a buffered hull of the centres with a gentle, seeded wobble.

    The buffer distance is solved so the outline encloses ``target_area``; the wobble moves the
    edge by at most 45 % of that distance, so every centre stays well inside.
    """
    hull = MultiPoint(list(sites)).convex_hull
    cx, cy = (hull.centroid.x, hull.centroid.y) if hull.area > 0 else mean_xy(sites)
    harmonics = [(k, rng.uniform(0.4, 1.0) / k, rng.uniform(0.0, math.tau)) for k in range(2, 7)]
    norm = sum(a for _, a, _ in harmonics)

    def shaped(distance: float) -> Any:
        ring = shapely.segmentize(hull.buffer(distance, quad_segs=16), distance / 4)
        coords = list(ring.exterior.coords)[:-1]
        out = []
        for x, y in coords:
            dx, dy = x - cx, y - cy
            radius = math.hypot(dx, dy)
            angle = math.atan2(dy, dx)
            wave = sum(a * math.sin(k * angle + p) for k, a, p in harmonics) / norm
            wobble = 0.45 * distance * wave
            out.append((x + dx / radius * wobble, y + dy / radius * wobble))
        return Polygon(out)

    low, high = 200.0, 1000.0
    while shaped(high).area < target_area and high < 200_000:
        low, high = high, high * 2
    if shaped(low).area >= target_area:
        return shaped(low)
    for _ in range(30):
        middle = (low + high) / 2
        if shaped(middle).area < target_area:
            low = middle
        else:
            high = middle
    return shaped(high)


def mean_xy(points: Sequence[XY]) -> XY:
    return statistics.fmean(p[0] for p in points), statistics.fmean(p[1] for p in points)


def clip_half_plane(poly: list[XY], ax: float, ay: float, b: float) -> list[XY]:
    """Sutherland–Hodgman: keep the part of a convex polygon where ``ax·x + ay·y ≤ b``."""
    out: list[XY] = []
    count = len(poly)
    for k in range(count):
        px, py = poly[k]
        qx, qy = poly[(k + 1) % count]
        fp = ax * px + ay * py - b
        fq = ax * qx + ay * qy - b
        if fp <= 0:
            out.append((px, py))
        if (fp < 0 < fq) or (fq < 0 < fp):
            t = fp / (fp - fq)
            out.append((px + t * (qx - px), py + t * (qy - py)))
    return out


def power_cells(sites: Sequence[XY], targets: Sequence[float], outline: Any) -> list[Any]:
    """Cells of a power diagram whose weights are tuned so each cell gets its target area.

    A plain Voronoi diagram gives a big commune surrounded by close neighbours (Dijon) a small
    cell; a power diagram lets weights push borders outward. A weight difference stays below
    ``WEIGHT_LIMIT`` times the squared distance between two centres, which keeps every centre
    inside its own cell, at least ``(1 - WEIGHT_LIMIT) / 2`` of the way to its neighbour.
    """
    n = len(sites)
    if n == 1:
        return [outline]
    squared = [[(a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 for b in sites] for a in sites]
    for i in range(n):
        for j in range(i + 1, n):
            if squared[i][j] < 1.0:
                raise ValueError("two communes share the same centre; cells cannot separate them")
    min_x, min_y, max_x, max_y = outline.bounds
    pad = 1000.0
    box = [(min_x - pad, min_y - pad), (max_x + pad, min_y - pad)]
    box += [(max_x + pad, max_y + pad), (min_x - pad, max_y + pad)]
    weights = [0.0] * n
    cells: Any = None
    previous: list[float] = []
    for _ in range(30):
        polygons = []
        for i, (xi, yi) in enumerate(sites):
            poly = box
            for j, (xj, yj) in enumerate(sites):
                if j != i:
                    ax, ay = 2 * (xj - xi), 2 * (yj - yi)
                    b = xj * xj + yj * yj - xi * xi - yi * yi + weights[i] - weights[j]
                    poly = clip_half_plane(poly, ax, ay, b)
            polygons.append(Polygon(poly))
        cells = shapely.intersection(polygons, outline)
        areas = shapely.area(cells).tolist()
        if max(abs(a - t) / t for a, t in zip(areas, targets, strict=True)) < 0.02:
            break
        if previous and max(abs(a - b) / b for a, b in zip(areas, previous, strict=True)) < 0.002:
            break  # the weight limits bind: this is as close as the centres allow
        previous = areas
        weights = [w + 0.6 * (t - a) for w, t, a in zip(weights, targets, areas, strict=True)]
        for _ in range(n):  # difference constraints: relax like Bellman-Ford until all hold
            changed = False
            for i in range(n):
                for j in range(n):
                    limit = weights[i] + WEIGHT_LIMIT * squared[i][j]
                    if i != j and weights[j] > limit:
                        weights[j] = limit
                        changed = True
            if not changed:
                break
    return reattach_fragments(list(cells), sites)


def reattach_fragments(cells: list[Any], sites: Sequence[XY]) -> list[Any]:
    """Give a piece cut off from its cell by a dent of the outline to the neighbour it touches."""
    fragments: list[Any] = []
    kept: list[Any] = []
    for cell, site in zip(cells, sites, strict=True):
        parts = list(shapely.get_parts(cell))
        own = [p for p in parts if p.contains(Point(site))]
        kept.append(own[0] if own else cell)
        fragments.extend(p for p in parts if own and p is not own[0])
    for fragment in fragments:
        touching = [float(fragment.buffer(1.0).intersection(c).area) for c in kept]
        target = max(range(len(kept)), key=lambda i: (touching[i], -i))
        kept[target] = kept[target].union(fragment)
    # A common millimetre grid makes the vertices two neighbours share identical.
    return list(shapely.set_precision(kept, 0.001))
