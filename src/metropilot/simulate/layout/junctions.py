"""Signalised junctions where main roads cross, and the cameras on their masts and elsewhere."""

from __future__ import annotations

import math
import random
from typing import Any

import shapely

from metropilot.assets.model import AssetDraft, AssetKind
from metropilot.simulate.layout.common import LEAD_CONTRACTOR, XY, apportion, iso_day
from metropilot.simulate.layout.context import Build
from metropilot.simulate.layout.places import Place

CONTROLLER_MODELS = ("Signalis CX-400", "Signalis CX-600", "Feuvert MC-22", "Trafikon TK-8")
CAMERA_MODELS = ("Optiview D-210", "Optiview D-410", "Panora PTZ-32", "Vigicam V8")


def junctions(build: Build) -> list[AssetDraft]:
    """Signalised junctions where main roads cross streets, mostly in the city."""
    weights = [p.seed.population**1.2 for p in build.places]
    counts = apportion(build.counts[AssetKind.TRAFFIC_JUNCTION], weights)
    drafts: list[AssetDraft] = []
    for index, place in enumerate(build.places):
        if not counts[index]:
            continue
        rng = build.rng("junctions", place.insee)
        chosen = junction_sites(build, place, counts[index], rng)
        population = place.seed.population
        bus_share = 0.65 if index == build.city else 0.35 if population > 8000 else 0.1
        for xy, label, main_crossing in chosen:
            approaches = rng.choice((4, 4, 5)) if main_crossing else rng.choice((3, 4))
            crossings = approaches if rng.random() < 0.8 else approaches - 1
            attributes = {
                "controller_model": rng.choice(CONTROLLER_MODELS),
                "signal_heads": min(approaches * rng.randint(2, 3) + 2 * crossings, 200),
                "approaches": approaches,
                "pedestrian_crossings": crossings,
                "bus_priority": rng.random() < bus_share,
                "install_date": iso_day(rng, 1995, 2023),
            }
            drafts.append(
                build.draft(
                    f"JCT-{len(drafts) + 1:04d}",
                    AssetKind.TRAFFIC_JUNCTION,
                    xy,
                    attributes,
                    LEAD_CONTRACTOR,
                    name=f"Carrefour {label}",
                )
            )
    return drafts


def junction_sites(
    build: Build, place: Place, count: int, rng: random.Random
) -> list[tuple[XY, str, bool]]:
    """Crossings of a main road with another street, spread out, nearest the centre first."""
    main = [i for i, is_main in enumerate(place.line_main) if is_main]
    candidates: list[tuple[float, XY, str, bool]] = []
    if main:
        tree = shapely.STRtree(place.lines)
        left, right = tree.query([place.lines[i] for i in main], predicate="intersects")
        pairs = []
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            i = main[a]
            if b != i and not (place.line_main[b] and b < i):
                pairs.append((i, b))
        if pairs:
            hits = shapely.intersection(
                [place.lines[i] for i, _ in pairs], [place.lines[j] for _, j in pairs]
            )
            parts, owners = shapely.get_parts(hits, return_index=True)
            is_point = shapely.get_type_id(parts) == 0
            points = parts[is_point]
            owners = owners[is_point].tolist()
            coords = shapely.get_coordinates(points).tolist()
            inside = shapely.contains_xy(place.deep, *zip(*coords, strict=True)) if coords else []
            for (x, y), owner, ok in zip(coords, owners, list(inside), strict=True):
                if not ok:
                    continue
                i, j = pairs[owner]
                both_main = place.line_main[j]
                if place.line_names[i] == place.line_names[j]:
                    continue
                score = math.dist((x, y), place.anchor) * (0.5 if both_main else 1.0)
                score *= rng.uniform(0.7, 1.3)
                label = f"{place.line_names[i]} / {place.line_names[j]}"
                candidates.append((score, (x, y), label, both_main))
    candidates.sort(key=lambda c: c[0])
    chosen: list[tuple[XY, str, bool]] = []
    for separation in (150.0, 80.0, 30.0, 0.0):
        for _, xy, label, both_main in candidates:
            if len(chosen) >= count:
                break
            if all(math.dist(xy, c[0]) >= separation for c in chosen) and (
                separation > 0 or all(xy != c[0] for c in chosen)
            ):
                chosen.append((xy, label, both_main))
        if len(chosen) >= count:
            break
    while len(chosen) < count:
        xy, line = place.street_point(rng, within=0.5 * place.town_radius, region=place.deep)
        chosen.append((xy, place.line_names[line], False))
    return chosen


def cameras(
    build: Build, junctions: list[AssetDraft], buildings: list[AssetDraft]
) -> list[AssetDraft]:
    """Cameras on junction masts, at public buildings and over town centres."""
    weights = [float(p.seed.population) for p in build.places]
    counts = apportion(build.counts[AssetKind.CAMERA], weights)
    by_commune_j = build.group(junctions)
    by_commune_b = build.group(buildings)
    drafts: list[AssetDraft] = []
    for index, place in enumerate(build.places):
        rng = build.rng("cameras", place.insee)
        local_junctions = by_commune_j[index]
        local_buildings = by_commune_b[index]
        for _ in range(counts[index]):
            draw = rng.random()
            parent: AssetDraft | None = None
            if local_junctions and draw < 0.5:
                parent = rng.choice(local_junctions)
                camera_type = "ptz" if rng.random() < 0.45 else "fixed"
            elif local_buildings and draw < 0.65:
                parent = rng.choice(local_buildings)
                camera_type = "fixed"
            else:
                camera_type = "ptz" if rng.random() < 0.3 else "fixed"
            if parent is not None:
                origin = build.plane.to_xy(parent.lon, parent.lat)
                xy = place.near(rng, origin, 6.0, 15.0, place.inner)
                label = parent.name or parent.external_ref
            else:
                xy, line = place.street_point(rng, within=0.35 * place.town_radius)
                label = place.line_names[line]
            attributes: dict[str, Any] = {
                "camera_type": camera_type,
                "resolution": rng.choice(("1080p", "1080p", "4MP", "4K")),
                "night_vision": rng.random() < 0.85,
                "presets": rng.randint(8, 32) if camera_type == "ptz" else 0,
                "model_name": rng.choice(CAMERA_MODELS),
                "install_date": iso_day(rng, 2012, 2024),
            }
            drafts.append(
                build.draft(
                    f"CAM-{len(drafts) + 1:04d}",
                    AssetKind.CAMERA,
                    xy,
                    attributes,
                    LEAD_CONTRACTOR,
                    name=f"Caméra {label}",
                    parent=parent.external_ref if parent is not None else None,
                )
            )
    return drafts
