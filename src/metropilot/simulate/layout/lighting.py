"""Street lights along every street and the cabinets that feed them."""

from __future__ import annotations

import math
import random
from typing import Any

import shapely

from metropilot.assets.model import AssetDraft, AssetKind, AssetStatus
from metropilot.simulate.layout.common import LIGHTING_COMPANY, ROUNDING, XY, apportion, iso_day
from metropilot.simulate.layout.context import Build
from metropilot.simulate.layout.places import Place
from metropilot.simulate.layout.streets import light_weights

CABINET_SIZES_KVA = (3, 6, 9, 12, 18, 24, 36, 48, 60, 90, 120, 250, 500, 1000)


def lighting(build: Build) -> list[AssetDraft]:
    """Lights evenly along every street, cabinets evenly among them, each light to the
    nearest cabinet of its commune (an STR-tree query, not a scan)."""
    light_counts = apportion(build.counts[AssetKind.STREETLIGHT], light_weights(build), 1)
    cabinet_counts = apportion(build.counts[AssetKind.LIGHTING_CABINET], light_counts, 1)
    cabinets: list[AssetDraft] = []
    lights: list[AssetDraft] = []
    total = len(build.places)
    for index, place in enumerate(build.places):
        build.report("Street lights", index, total)
        rng = build.rng("lights", place.insee)
        n_lights, n_cabinets = light_counts[index], cabinet_counts[index]
        length = place.street_length
        step = length / n_lights
        light_at = [(k + 0.5 + rng.uniform(-0.2, 0.2)) * step for k in range(n_lights)]
        cabinet_step = length / n_cabinets
        cabinet_at = [(k + 0.5) * cabinet_step for k in range(n_cabinets)]
        light_xy, light_line = along_streets(build, place, light_at)
        cabinet_xy, cabinet_line = along_streets(build, place, cabinet_at)
        tree = shapely.STRtree(shapely.points(cabinet_xy))
        found = tree.query_nearest(shapely.points(light_xy), all_matches=False)
        parent = [0] * n_lights
        for light, cabinet in zip(found[0].tolist(), found[1].tolist(), strict=True):
            parent[light] = cabinet
        cabinet_refs = [f"CAB-{place.insee}-{k + 1:04d}" for k in range(n_cabinets)]
        children = [0] * n_cabinets
        load_w = [0.0] * n_cabinets
        lon0, lat0, mx, my = build.plane.lon0, build.plane.lat0, build.mx, build.my
        for k, (x, y) in enumerate(light_xy):
            attributes = _light_attributes(rng, place.line_main[light_line[k]])
            cabinet = parent[k]
            children[cabinet] += 1
            load_w[cabinet] += attributes["nominal_power_w"]
            ref = f"SL-{place.insee}-{k + 1:05d}"
            lights.append(  # built inline rather than through draft(): 340,000 at scale 10
                AssetDraft(
                    external_ref=ref,
                    kind=AssetKind.STREETLIGHT,
                    lon=round(lon0 + x / mx, ROUNDING),
                    lat=round(lat0 + y / my, ROUNDING),
                    attributes=attributes,
                    maintainer=LIGHTING_COMPANY,
                    parent_ref=cabinet_refs[cabinet],
                    status=AssetStatus.OK,
                    where=ref,
                )
            )
        cabinet_rng = build.rng("cabinets", place.insee)
        for k in range(n_cabinets):
            need_kva = load_w[k] * 1.25 / 1000 / 0.9
            kva = next((s for s in CABINET_SIZES_KVA if s >= need_kva), 1000)
            attributes = {
                "circuit_count": min(max(math.ceil(children[k] / 12), 1), 64),
                "max_power_kva": float(kva),
                "remote_managed": cabinet_rng.random() < 0.93,
                "meter_ref": f"PDL-{cabinet_rng.randrange(10**13, 10**14)}",
                "install_date": iso_day(cabinet_rng, 2005, 2023),
            }
            street = place.line_names[cabinet_line[k]]
            cabinets.append(
                build.draft(
                    cabinet_refs[k],
                    AssetKind.LIGHTING_CABINET,
                    cabinet_xy[k],
                    attributes,
                    LIGHTING_COMPANY,
                    name=f"Armoire {street}",
                )
            )
    build.report("Street lights", total, total)
    return cabinets + lights


def along_streets(build: Build, place: Place, distances: list[float]) -> tuple[list[XY], list[int]]:
    """Points at distances along the commune's whole network, interpolated in one GEOS call."""
    lines: list[int] = []
    local: list[float] = []
    ends = place.ends
    index = 0
    for distance in distances:  # ascending, so one forward walk over the pieces suffices
        while index < len(ends) - 1 and distance > ends[index]:
            index += 1
        lines.append(index)
        local.append(distance - (ends[index - 1] if index else 0.0))
    geometries = [place.lines[i] for i in lines]
    points = shapely.line_interpolate_point(geometries, local)
    coords = shapely.get_coordinates(points).tolist()
    return [(c[0], c[1]) for c in coords], lines


LED_BASELINE_W = {True: (150, 250), False: (70, 100, 100, 150)}  # the lamps LED replaced
LED_COLOUR_K = {True: (4000, 3000), False: (3000, 3000, 2700)}
HPS_POWER_W = {True: (150, 250), False: (70, 100, 150)}
MH_POWER_W = {True: (100, 150), False: (70, 100)}


def _pick(rng: random.Random, options: tuple[int, ...]) -> int:
    return options[int(rng.random() * len(options))]


def _light_attributes(rng: random.Random, main: bool) -> dict[str, Any]:
    """A lamp as the contract found or left it: about 70 % already converted to LED.

    Drawn with plain ``random()`` calls: this runs 340,000 times at scale 10.
    """
    draw = rng.random()
    mast = round((8.0 if main else 4.0) + 4.0 * rng.random(), 1)
    if draw < 0.70:
        baseline = _pick(rng, LED_BASELINE_W[main])
        power = min(max(5 * round(baseline * (0.3 + 0.15 * rng.random()) / 5), 20), 90)
        return {
            "lamp_technology": "LED",
            "nominal_power_w": float(power),
            "baseline_power_w": float(baseline),
            "mast_height_m": mast,
            "dimmable": True,
            "colour_temperature_k": _pick(rng, LED_COLOUR_K[main]),
            "install_date": iso_day(rng, 2016, 2024),
        }
    technology, powers = ("HPS", HPS_POWER_W) if draw < 0.92 else ("MH", MH_POWER_W)
    return {
        "lamp_technology": technology,
        "nominal_power_w": float(_pick(rng, powers[main])),
        "mast_height_m": mast,
        "dimmable": False,
        "install_date": iso_day(rng, 1990, 2014),
    }
