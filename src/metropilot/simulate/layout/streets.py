"""The street network: roads between towns, the city's avenues, each town's local streets."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from metropilot.assets.model import AssetKind
from metropilot.simulate.layout.common import (
    LIGHT_SPACING_M,
    LIGHTS_POPULATION_SHARE,
    REFERENCE_COUNTS,
    ROUNDING,
    XY,
    SyntheticStreet,
    apportion,
)
from metropilot.simulate.layout.context import Build
from metropilot.simulate.layout.names import RADIAL_NAMES, RING_NAMES, StreetNamer, of_name
from metropilot.simulate.layout.places import Place


@dataclass(slots=True)
class LocalStreet:
    line: Any  # LineString on the plane, inside its quarter
    grid_line: int  # pieces of one grid line share a name
    outer: bool  # on the fringe of the town, where chemins and impasses are


def ladder(
    rng: random.Random, spacing: float, radius: float, low: float, high: float, across: float
) -> list[float]:
    """Positions from the town centre outward, wider apart away from it, covering low..high.

    ``across`` is the distance from the centre perpendicular to the ladder: the density follows
    the distance to the centre, so the core is denser than the fringe.
    """
    first = rng.uniform(-0.3, 0.3) * spacing
    ahead: list[float] = [first]
    behind: list[float] = []
    for sign, out in ((1.0, ahead), (-1.0, behind)):
        position = first
        while position < high if sign > 0 else position > low:
            step = spacing * (1.0 + 1.5 * math.hypot(across, position) / radius)
            position += sign * step * rng.uniform(0.78, 1.22)
            out.append(position)
    return [*reversed(behind), *ahead]


def street_grid(
    rng: random.Random,
    anchor: XY,
    radius: float,
    spacing: float,
    angle: float,
    region: Any,
    first_line: int,
) -> list[LocalStreet]:
    """A jittered grid of local streets over one quarter of a town, turned by ``angle``.

    Each grid line is cut into runs: segments drop out more often away from the centre, which
    leaves dead ends and irregular blocks instead of a chessboard.
    """
    ax0, ay0 = anchor
    corners = shapely.get_coordinates(region).tolist()
    coords: list[XY] = []
    owners: list[int] = []
    runs: list[tuple[int, bool]] = []
    grid_line = first_line
    for family in (angle, angle + math.pi / 2 + rng.uniform(-0.12, 0.12)):
        ux, uy = math.cos(family), math.sin(family)
        vx, vy = -uy, ux
        along = [(x - ax0) * ux + (y - ay0) * uy for x, y in corners]
        across = [(x - ax0) * vx + (y - ay0) * vy for x, y in corners]
        low, high = min(across), max(across)
        for offset in ladder(rng, spacing, radius, low, high, 0.0):
            if not low < offset < high:
                continue
            grid_line += 1
            tilt = family + rng.uniform(-0.04, 0.04)
            lx, ly = math.cos(tilt), math.sin(tilt)
            stations = ladder(rng, spacing, radius, min(along), max(along), offset)
            points = []
            for t in stations:
                local = spacing * (1.0 + 1.5 * math.hypot(offset, t) / radius)
                shift = offset + rng.uniform(-0.08, 0.08) * local
                points.append((ax0 + shift * vx + t * lx, ay0 + shift * vy + t * ly))
            run = [points[0]]
            for k in range(1, len(points)):
                middle = math.hypot(offset, (stations[k - 1] + stations[k]) / 2) / radius
                if rng.random() < 0.97 - 0.3 * min(middle, 1.0):
                    run.append(points[k])
                    continue
                if len(run) > 1:
                    coords += run
                    owners += [len(runs)] * len(run)
                    runs.append((grid_line, middle > 0.6))
                run = [points[k]]
            if len(run) > 1:
                coords += run
                owners += [len(runs)] * len(run)
                runs.append((grid_line, math.hypot(offset, stations[-1]) / radius > 0.6))
    if not runs:
        return []
    lines = shapely.linestrings(coords, indices=owners)
    parts, part_owners = line_parts(shapely.intersection(lines, region))
    return [LocalStreet(part, *runs[owner]) for part, owner in zip(parts, part_owners, strict=True)]


def quarters(rng: random.Random, anchor: XY, radius: float) -> list[tuple[Any, float]]:
    """A town's quarters, each with its own street orientation: (area, angle).

    A village is one quarter; a city is a patchwork, as towns grow by successive developments.
    The town's edge wobbles so that it does not end on a perfect circle.
    """
    x0, y0 = anchor
    phases = [rng.uniform(0.0, math.tau) for _ in range(3)]
    outline = []
    for step in range(72):
        a = step * math.tau / 72
        wave = sum(math.sin((k + 2) * a + p) / (k + 2) for k, p in enumerate(phases))
        r = radius * (1.0 + 0.15 * wave)
        outline.append((x0 + r * math.cos(a), y0 + r * math.sin(a)))
    town = Polygon(outline)
    count = 1 + int((radius / 1600.0) ** 2)
    centres = [anchor]
    for _ in range(200):
        if len(centres) >= count:
            break
        r = radius * 0.9 * math.sqrt(rng.random())
        a = rng.uniform(0.0, math.tau)
        candidate = (x0 + r * math.cos(a), y0 + r * math.sin(a))
        if all(math.dist(candidate, c) > 0.6 * radius / math.sqrt(count) for c in centres):
            centres.append(candidate)
    if len(centres) == 1:
        return [(town, rng.uniform(0.0, math.pi / 2))]
    cells = list(shapely.get_parts(shapely.voronoi_polygons(MultiPoint(centres), extend_to=town)))
    quarters = []
    for centre in centres:
        cell = next(c for c in cells if c.covers(Point(centre)))
        quarters.append((cell.intersection(town), rng.uniform(0.0, math.pi / 2)))
    return quarters


def curved_road(rng: random.Random, start: XY, end: XY) -> list[XY]:
    """A country road between two centres: a gentle bow with a little irregularity."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    bow = rng.uniform(-0.07, 0.07) * length
    points = [start]
    for k in range(1, 8):
        f = k / 8
        bend = bow * math.sin(math.pi * f) + rng.uniform(-0.01, 0.01) * length
        points.append((start[0] + f * dx + bend * nx, start[1] + f * dy + bend * ny))
    points.append(end)
    return points


def line_parts(geometries: Any) -> tuple[list[Any], list[int]]:
    """The LineString pieces of clipped lines, with the index of the line each came from."""
    parts, owners = shapely.get_parts(geometries, return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 1.0)
    return list(parts[keep]), owners[keep].tolist()


def lay_streets(build: Build) -> None:
    light_shares = light_weights(build)
    reference_lights = apportion(REFERENCE_COUNTS[AssetKind.STREETLIGHT], light_shares, 1)
    roads = main_roads(build)
    road_lines = [LineString(points) for points, _, _ in roads]
    total = len(build.places)
    for index, place in enumerate(build.places):
        build.report("Streets", index, total)
        namer = StreetNamer(build.rng("names", place.insee))
        main_lines: list[Any] = []
        main_names: list[str] = []
        if road_lines:
            for line, (_, a, b) in zip(road_lines, roads, strict=True):
                if place.cell.intersects(line):
                    main_lines.append(line)
                    main_names.append(road_name(build, index, a, b))
        if index == build.city:
            extra_lines, extra_names = city_avenues(build, place)
            main_lines += extra_lines
            main_names += extra_names
        add_streets(build, place, main_lines, main_names, main=True)
        target = reference_lights[index] * LIGHT_SPACING_M
        local_target = max(target - place.street_length, 0.3 * target)
        # Every piece of a grid line keeps the line's name, as an interrupted street does.
        line_names: dict[int, tuple[str, str]] = {}
        local_lines, local_names = [], []
        for street in local_grid(build, place, local_target):
            if street.grid_line not in line_names:
                line_names[street.grid_line] = namer.street(outer=street.outer)
            name, body = line_names[street.grid_line]
            if street.outer and float(street.line.length) < 150.0:
                name = f"Impasse {body}"
            local_lines.append(street.line)
            local_names.append(name)
        add_streets(build, place, local_lines, local_names, main=False)
        if not place.lines:
            add_fallback_street(build, place)
    build.report("Streets", total, total)


def add_streets(build: Build, place: Place, lines: list[Any], names: list[str], main: bool) -> None:
    """Clip raw streets to the commune (published) and to its inner margin (for equipment)."""
    if not lines:
        return
    category = "main" if main else "local"
    shown, owners = line_parts(shapely.intersection(lines, place.cell))
    for part, owner in zip(shown, owners, strict=True):
        coords = build.to_lonlat(part).coords
        line = tuple((round(x, ROUNDING), round(y, ROUNDING)) for x, y in coords)
        build.streets.append(SyntheticStreet(place.insee, names[owner], category, line))
    usable, owners = line_parts(shapely.intersection(lines, place.inner))
    place.add_lines(usable, [names[o] for o in owners], main)


def add_fallback_street(build: Build, place: Place) -> None:
    """A commune too small for a grid still gets one street through its centre."""
    x, y = place.anchor
    line = LineString([(x - 100.0, y), (x + 100.0, y)])
    add_streets(build, place, [line], ["Rue de la Mairie"], main=False)
    if not place.lines:
        raise ValueError(f"commune {place.insee} is too small to hold a street")


def light_weights(build: Build) -> list[float]:
    population = sum(p.seed.population for p in build.places) or 1
    area = sum(float(p.cell.area) for p in build.places) or 1.0
    share = LIGHTS_POPULATION_SHARE
    return [
        share * p.seed.population / population + (1 - share) * float(p.cell.area) / area
        for p in build.places
    ]


def main_roads(build: Build) -> list[tuple[list[XY], int, int]]:
    """Roads between neighbouring town centres, along the edges of a Delaunay triangulation.

    Edges much longer than usual run along the rim of the metropolis, where no such road
    exists; they are left out.
    """
    anchors = [p.anchor for p in build.places]
    if len(anchors) < 2:
        return []
    if len(anchors) == 2:
        pairs = [(0, 1)]
    else:
        edges = shapely.get_parts(shapely.delaunay_triangles(MultiPoint(anchors), 0, True))
        pairs = []
        for edge in edges:
            ends = list(edge.coords)
            ij = sorted(
                min(range(len(anchors)), key=lambda k: math.dist(e, anchors[k])) for e in ends
            )
            pairs.append((ij[0], ij[1]))
        pairs = sorted(set(pairs))
        lengths = [math.dist(anchors[i], anchors[j]) for i, j in pairs]
        limit = 2.0 * statistics.median(lengths)
        pairs = [pair for pair, length in zip(pairs, lengths, strict=True) if length <= limit]
    rng = build.rng("roads")
    return [(curved_road(rng, anchors[i], anchors[j]), i, j) for i, j in pairs]


def road_name(build: Build, here: int, a: int, b: int) -> str:
    kind = "Avenue" if here == build.city else "Route"
    names = [build.places[a].seed.name, build.places[b].seed.name]
    if here == a:
        return f"{kind} {of_name(names[1])}"
    if here == b:
        return f"{kind} {of_name(names[0])}"
    return f"Route {of_name(names[0])} à {names[1]}"


def city_avenues(build: Build, place: Place) -> tuple[list[Any], list[str]]:
    """The city's radial avenues and its ring of boulevards around the old town."""
    rng = build.rng("avenues")
    x0, y0 = place.anchor
    radius = place.town_radius
    lines: list[Any] = []
    names: list[str] = []
    radial_names = list(RADIAL_NAMES)
    rng.shuffle(radial_names)
    base = rng.uniform(0.0, math.tau)
    for k in range(8):
        angle = base + k * math.tau / 8 + rng.uniform(-0.15, 0.15)
        points = []
        for step in range(9):
            r = 250.0 + step * (1.4 * radius - 250.0) / 8
            bend = angle + rng.uniform(-0.03, 0.03)
            points.append((x0 + r * math.cos(bend), y0 + r * math.sin(bend)))
        lines.append(LineString(points))
        names.append(radial_names[k % len(radial_names)])
    ring_radius = 0.22 * radius
    ring = []
    for step in range(72):
        angle = step * math.tau / 72
        r = ring_radius * (1.0 + 0.08 * math.sin(3 * angle + base))
        ring.append((x0 + r * math.cos(angle), y0 + r * math.sin(angle)))
    ring_names = list(RING_NAMES)
    rng.shuffle(ring_names)
    for k in range(6):
        arc = ring[k * 12 : k * 12 + 13] if k < 5 else [*ring[60:], ring[0]]
        lines.append(LineString(arc))
        names.append(ring_names[k])
    return lines, names


def local_grid(build: Build, place: Place, target_length: float) -> list[LocalStreet]:
    """Local streets whose spacing is tuned so the usable length meets the target.

    The generator is reseeded at each try, so mostly the spacing changes between tries; a
    village's few streets make the length jumpy, so the closest try wins.
    """
    radius = place.town_radius
    disc = Point(place.anchor).buffer(radius, quad_segs=16).intersection(place.inner)
    area = max(float(disc.area), 1.0)
    spacing = min(max(2.0 * area / (1.8 * max(target_length, 1.0)), 35.0), 800.0)
    best: tuple[float, list[LocalStreet]] = (math.inf, [])
    for _ in range(4):
        rng = build.rng("grid", place.insee)
        streets: list[LocalStreet] = []
        for region, angle in quarters(rng, place.anchor, radius):
            first = streets[-1].grid_line + 1 if streets else 0
            streets += street_grid(rng, place.anchor, radius, spacing, angle, region, first)
        if not streets:
            break
        clipped = shapely.intersection([s.line for s in streets], place.inner)
        ratio = float(sum(shapely.length(clipped).tolist())) / max(target_length, 1.0)
        if abs(ratio - 1.0) < best[0]:
            best = (abs(ratio - 1.0), streets)
        new_spacing = min(max(spacing * ratio, 35.0), 800.0)
        if abs(ratio - 1.0) < 0.05 or ratio == 0.0 or new_spacing == spacing:
            break
        spacing = new_spacing
    return best[1]
