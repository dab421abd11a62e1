"""The synthetic metropolis: its promises to the importer, the map and the benchmarks."""

from __future__ import annotations

import hashlib
import math
import os
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import pytest
import shapely
from shapely.geometry import box

from metropilot.accounts.model import OrganisationKind, Sector, validate_org_code
from metropilot.assets.model import (
    PARENT_KINDS,
    SENSOR_SUBTYPES,
    AssetKind,
    AssetStatus,
    validate_draft_shape,
)
from metropilot.shared.geo import METRES_PER_DEGREE_LAT, LocalPlane
from metropilot.simulate.layout import (
    IT_COMPANY,
    LEAD_CONTRACTOR,
    LIGHTING_COMPANY,
    OPERATOR_COMPANY,
    CommuneSeed,
    SyntheticMetropolis,
    build_metropolis,
    load_reference_communes,
    planned_counts,
)
from metropilot.territory.model import Commune, area_km2

SMALL_SCALE = 0.05
# round(reference × 0.05), at least one; lights and cabinets at least one per commune.
SMALL_COUNTS = {
    AssetKind.STREETLIGHT: 1700,
    AssetKind.LIGHTING_CABINET: 60,
    AssetKind.TRAFFIC_JUNCTION: 6,
    AssetKind.CAMERA: 13,
    AssetKind.BUILDING: 9,
    AssetKind.BOLLARD: 1,
    AssetKind.VEHICLE: 10,
    AssetKind.SENSOR: 15,
}
FULL_COUNTS = {
    AssetKind.STREETLIGHT: 34_000,
    AssetKind.LIGHTING_CABINET: 1_200,
    AssetKind.TRAFFIC_JUNCTION: 113,
    AssetKind.CAMERA: 269,
    AssetKind.BUILDING: 180,
    AssetKind.BOLLARD: 26,
    AssetKind.VEHICLE: 205,
    AssetKind.SENSOR: 300,
}
LIGHTING = (AssetKind.STREETLIGHT, AssetKind.LIGHTING_CABINET)
REF_WITH_COMMUNE = re.compile(r"^(?:SL|CAB|BLD)-(\d{5})-\d+$")


@pytest.fixture(scope="module")
def seeds() -> list[CommuneSeed]:
    return load_reference_communes()


@pytest.fixture(scope="module")
def small(seeds: list[CommuneSeed]) -> SyntheticMetropolis:
    return build_metropolis(seeds, scale=SMALL_SCALE, seed=7)


@dataclass
class Recorded:
    metropolis: SyntheticMetropolis
    progress: list[tuple[str, int, int]]


@pytest.fixture(scope="module")
def other_seed(seeds: list[CommuneSeed]) -> Recorded:
    calls: list[tuple[str, int, int]] = []
    metropolis = build_metropolis(
        seeds, scale=0.01, seed=2, progress=lambda *call: calls.append(call)
    )
    return Recorded(metropolis, calls)


@pytest.fixture(scope="module")
def full(seeds: list[CommuneSeed]) -> SyntheticMetropolis:
    return build_metropolis(seeds, scale=1.0)


def plane_of(metropolis: SyntheticMetropolis) -> LocalPlane:
    centres = [c.centre for c in metropolis.communes if c.centre is not None]
    return LocalPlane(
        statistics.fmean(c[0] for c in centres), statistics.fmean(c[1] for c in centres)
    )


def to_plane(geometry: Any, plane: LocalPlane) -> Any:
    mx, my = plane.metres_per_degree_lon, METRES_PER_DEGREE_LAT
    return shapely.transform(geometry, lambda c: (c - [plane.lon0, plane.lat0]) * [mx, my])


def commune_of_each_asset(metropolis: SyntheticMetropolis) -> list[list[str]]:
    """For every asset, the INSEE codes of the communes whose boundary contains it."""
    lons = [a.lon for a in metropolis.assets]
    lats = [a.lat for a in metropolis.assets]
    found: list[list[str]] = [[] for _ in metropolis.assets]
    for commune in metropolis.communes:
        inside = shapely.contains_xy(commune.boundary, lons, lats).tolist()
        for index, ok in enumerate(inside):
            if ok:
                found[index].append(commune.insee)
    return found


# --------------------------------------------------------------------------- reference data


def test_reference_communes_are_the_23_of_dijon_metropole(seeds: list[CommuneSeed]) -> None:
    assert len(seeds) == 23
    assert len({s.insee for s in seeds}) == 23
    dijon = next(s for s in seeds if s.insee == "21231")
    assert dijon.name == "Dijon"
    assert dijon.population == 159_106
    assert dijon.area_km2 == pytest.approx(40.41)
    assert any(s.area_km2 is None for s in seeds)  # unknown areas stay unknown, not zero
    assert 240_000 < sum(s.population for s in seeds) < 265_000
    assert all(4.9 < s.lon < 5.2 and 47.2 < s.lat < 47.4 for s in seeds)


@pytest.mark.parametrize("scale", [0.0, -1.0, math.nan, math.inf])
def test_a_scale_that_is_not_positive_is_refused(seeds: list[CommuneSeed], scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        build_metropolis(seeds, scale=scale)


def test_no_commune_or_duplicated_communes_are_refused(seeds: list[CommuneSeed]) -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_metropolis([])
    with pytest.raises(ValueError, match="distinct"):
        build_metropolis([seeds[0], seeds[0]])


# --------------------------------------------------------------------------- determinism


def test_same_inputs_give_identical_metropolises(
    seeds: list[CommuneSeed], small: SyntheticMetropolis
) -> None:
    again = build_metropolis(seeds, scale=SMALL_SCALE, seed=7)
    assert again.assets == small.assets
    assert again.streets == small.streets
    assert again.organisations == small.organisations
    for a, b in zip(again.communes, small.communes, strict=True):
        assert shapely.to_wkb(a.boundary) == shapely.to_wkb(b.boundary)
        assert (a.insee, a.area_km2, a.centre) == (b.insee, b.area_km2, b.centre)


def test_another_seed_gives_another_metropolis(
    small: SyntheticMetropolis, other_seed: Recorded
) -> None:
    other = other_seed.metropolis
    assert other.streets != small.streets
    assert shapely.to_wkb(other.communes[0].boundary) != shapely.to_wkb(small.communes[0].boundary)


def test_the_street_network_does_not_depend_on_the_scale(
    seeds: list[CommuneSeed], small: SyntheticMetropolis
) -> None:
    other = build_metropolis(seeds, scale=0.02, seed=7)
    assert other.streets == small.streets
    assert len(other.assets) < len(small.assets)


DIGEST_SCRIPT = """
from metropilot.simulate.layout import build_metropolis, load_reference_communes
m = build_metropolis(load_reference_communes(), scale=0.01, seed=2)
print(repr([m.assets, m.streets, [c.boundary.wkt for c in m.communes]]))
"""


def digest(metropolis: SyntheticMetropolis) -> str:
    text = repr(
        [metropolis.assets, metropolis.streets, [c.boundary.wkt for c in metropolis.communes]]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_output_does_not_depend_on_string_hashing(other_seed: Recorded) -> None:
    """Another interpreter, with another hash seed, builds the very same metropolis."""
    hash_seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    done = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        capture_output=True,
        text=True,
        check=True,
    )
    assert hashlib.sha256(done.stdout.strip().encode()).hexdigest() == digest(other_seed.metropolis)


# --------------------------------------------------------------------------- counts


def test_counts_per_kind_follow_the_scale(small: SyntheticMetropolis) -> None:
    counts = Counter(asset.kind for asset in small.assets)
    assert counts == SMALL_COUNTS
    assert planned_counts(SMALL_SCALE, 23) == SMALL_COUNTS


def test_a_tiny_scale_still_lights_every_commune(seeds: list[CommuneSeed]) -> None:
    tiny = build_metropolis(seeds, scale=0.0001)
    counts = Counter(asset.kind for asset in tiny.assets)
    assert counts[AssetKind.STREETLIGHT] == 23
    assert counts[AssetKind.LIGHTING_CABINET] == 23
    assert all(counts[kind] == 1 for kind in FULL_COUNTS if kind not in LIGHTING)
    lit = {a.external_ref.split("-")[1] for a in tiny.assets if a.kind is AssetKind.STREETLIGHT}
    assert lit == {s.insee for s in seeds}


def test_scale_one_has_the_reference_counts(full: SyntheticMetropolis) -> None:
    assert Counter(asset.kind for asset in full.assets) == FULL_COUNTS
    assert len(full.communes) == 23


def test_lights_are_spread_by_population_and_area(full: SyntheticMetropolis) -> None:
    lights = Counter(
        a.external_ref.split("-")[1] for a in full.assets if a.kind is AssetKind.STREETLIGHT
    )
    assert set(lights) == {c.insee for c in full.communes}
    dijon, flavignerot = lights["21231"], lights["21270"]
    assert 14_000 < dijon < 20_000  # about half: 75 % population share, 25 % area share
    assert 20 < flavignerot < 500  # a village of 215 inhabitants, but 6 km² of roads
    assert lights["21166"] > lights["21003"]  # Chenôve (14,000 inh.) over Ahuy (1,600)


def test_lights_stand_about_thirty_metres_apart(full: SyntheticMetropolis) -> None:
    plane = plane_of(full)
    by_commune: dict[str, int] = Counter(
        a.external_ref.split("-")[1] for a in full.assets if a.kind is AssetKind.STREETLIGHT
    )
    street_length: dict[str, float] = defaultdict(float)
    for street in full.streets:
        street_length[street.commune_insee] += to_plane(
            shapely.LineString(street.line), plane
        ).length
    spacing = sum(street_length.values()) / sum(by_commune.values())
    assert 25.0 <= spacing <= 35.0
    assert by_commune["21231"] > 0
    assert 20.0 <= street_length["21231"] / by_commune["21231"] <= 40.0


def test_cabinets_carry_about_28_lights(full: SyntheticMetropolis) -> None:
    children = Counter(a.parent_ref for a in full.assets if a.kind is AssetKind.STREETLIGHT)
    cabinets = [a for a in full.assets if a.kind is AssetKind.LIGHTING_CABINET]
    assert statistics.fmean(children[c.external_ref] for c in cabinets) == pytest.approx(
        34_000 / 1_200
    )
    empty = sum(1 for c in cabinets if children[c.external_ref] == 0)
    assert empty <= len(cabinets) * 0.02
    assert max(children.values()) < 150


def test_lamp_attributes_are_plausible(full: SyntheticMetropolis) -> None:
    lights = [a.attributes for a in full.assets if a.kind is AssetKind.STREETLIGHT]
    technology = Counter(a["lamp_technology"] for a in lights)
    assert set(technology) == {"LED", "HPS", "MH"}
    assert 0.66 < technology["LED"] / len(lights) < 0.74
    for attributes in lights:
        power = attributes["nominal_power_w"]
        assert 4 <= attributes["mast_height_m"] <= 12
        if attributes["lamp_technology"] == "LED":
            assert 20 <= power <= 90
            assert attributes["baseline_power_w"] >= 70
            assert attributes["dimmable"] is True
            assert attributes["colour_temperature_k"] in (2700, 3000, 4000)
        elif attributes["lamp_technology"] == "HPS":
            assert 70 <= power <= 250
            assert "baseline_power_w" not in attributes
        else:
            assert 70 <= power <= 150
    led = [a for a in lights if a["lamp_technology"] == "LED"]
    saving = 1 - sum(a["nominal_power_w"] for a in led) / sum(a["baseline_power_w"] for a in led)
    assert 0.5 < saving < 0.75  # the contract aims at 65 % on the whole stock


def test_junctions_favour_the_city_and_many_have_bus_priority(full: SyntheticMetropolis) -> None:
    dijon = next(c for c in full.communes if c.insee == "21231")
    junctions = [a for a in full.assets if a.kind is AssetKind.TRAFFIC_JUNCTION]
    in_dijon = [j for j in junctions if shapely.contains_xy(dijon.boundary, j.lon, j.lat)]
    assert len(in_dijon) > len(junctions) * 0.6
    assert sum(j.attributes["bus_priority"] for j in in_dijon) > len(in_dijon) * 0.4
    cameras = [a for a in full.assets if a.kind is AssetKind.CAMERA]
    ptz = sum(1 for c in cameras if c.attributes["camera_type"] == "ptz")
    assert 0.2 < ptz / len(cameras) < 0.4
    assert any(c.parent_ref and c.parent_ref.startswith("JCT-") for c in cameras)


# --------------------------------------------------------------------------- geometry


def test_generated_cells_tile_about_240_km2(small: SyntheticMetropolis) -> None:
    plane = plane_of(small)
    cells = [to_plane(c.boundary, plane) for c in small.communes]
    assert all(shapely.is_valid(c) for c in cells)
    assert all(c.boundary.geom_type in ("Polygon", "MultiPolygon") for c in small.communes)
    for a, b in combinations(cells, 2):
        assert shapely.intersection(a, b).area < 1.0  # m²: neighbours share borders only
    union = shapely.union_all(cells)
    assert union.geom_type == "Polygon"  # one piece, no hole: the cells cover the hull
    assert len(union.interiors) == 0
    total_km2 = sum(c.area for c in cells) / 1e6
    assert 240 * 0.75 < total_km2 < 240 * 1.25
    assert union.area / 1e6 == pytest.approx(total_km2, rel=1e-6)
    for commune in small.communes:
        assert commune.area_km2 == area_km2(commune.boundary)


def test_each_cell_holds_its_own_centre(
    seeds: list[CommuneSeed], small: SyntheticMetropolis
) -> None:
    by_code = {s.insee: s for s in seeds}
    for commune in small.communes:
        seed = by_code[commune.insee]
        assert commune.centre == (seed.lon, seed.lat)
        assert commune.boundary.contains(shapely.Point(seed.lon, seed.lat))
        assert (commune.name, commune.population) == (seed.name, seed.population)


def test_big_communes_get_big_cells(small: SyntheticMetropolis) -> None:
    areas = {c.insee: c.area_km2 or 0.0 for c in small.communes}
    assert max(areas, key=lambda code: areas[code]) == "21231"
    assert all(area > 2 for area in areas.values())


def test_every_asset_stands_inside_exactly_one_commune(small: SyntheticMetropolis) -> None:
    found = commune_of_each_asset(small)
    for asset, codes in zip(small.assets, found, strict=True):
        assert len(codes) == 1, asset.external_ref
        match = REF_WITH_COMMUNE.match(asset.external_ref)
        if match:
            assert codes == [match.group(1)], asset.external_ref


def test_every_asset_keeps_a_metre_from_the_border(full: SyntheticMetropolis) -> None:
    plane = plane_of(full)
    points = shapely.points([plane.to_xy(a.lon, a.lat) for a in full.assets])
    total = 0
    for commune in full.communes:
        cell = to_plane(commune.boundary, plane)
        inside = shapely.contains(cell, points)
        edge = cell.boundary
        distances = shapely.distance(edge, points[inside])
        assert distances.size == 0 or float(distances.min()) >= 1.0, commune.insee
        total += int(inside.sum())
    assert total == len(full.assets)


def test_streets_are_named_categorised_and_inside_their_commune(
    small: SyntheticMetropolis,
) -> None:
    boundaries = {c.insee: c.boundary for c in small.communes}
    assert {s.commune_insee for s in small.streets} == set(boundaries)
    kinds = ("Rue", "Avenue", "Boulevard", "Chemin", "Allée", "Impasse", "Route")
    for street in small.streets:
        assert street.category in ("main", "local")
        assert street.name.split(" ")[0] in kinds, street.name
        assert len(street.line) >= 2
        line = shapely.LineString(street.line)
        assert boundaries[street.commune_insee].buffer(1e-7).covers(line)
    dijon_main = {
        s.name for s in small.streets if s.commune_insee == "21231" and s.category == "main"
    }
    assert sum(1 for n in dijon_main if n.startswith("Boulevard")) >= 4  # the ring
    assert any(n == "Avenue de Chenôve" for n in dijon_main)  # towards a neighbour
    assert any(s.name.startswith("Route d'Ahuy") for s in small.streets)  # elided "de"
    for code in boundaries:
        local = sum(1 for s in small.streets if s.commune_insee == code and s.category == "local")
        assert local > 0, code


def test_the_city_has_more_streets_than_a_village(small: SyntheticMetropolis) -> None:
    per_commune = Counter(s.commune_insee for s in small.streets)
    assert per_commune["21231"] > 10 * per_commune["21270"]


# --------------------------------------------------------------------------- drafts


def test_every_draft_passes_shape_validation(small: SyntheticMetropolis) -> None:
    refs = [a.external_ref for a in small.assets]
    assert len(set(refs)) == len(refs)
    for asset in small.assets:
        cleaned = validate_draft_shape(asset)
        assert cleaned.external_ref == asset.external_ref
        assert asset.status is AssetStatus.OK
        assert asset.where == asset.external_ref


def test_every_draft_at_scale_one_passes_shape_validation(full: SyntheticMetropolis) -> None:
    for asset in full.assets:
        validate_draft_shape(asset)


def test_references_are_readable(small: SyntheticMetropolis) -> None:
    patterns = {
        AssetKind.STREETLIGHT: r"SL-\d{5}-\d{5}",
        AssetKind.LIGHTING_CABINET: r"CAB-\d{5}-\d{4}",
        AssetKind.TRAFFIC_JUNCTION: r"JCT-\d{4}",
        AssetKind.CAMERA: r"CAM-\d{4}",
        AssetKind.BUILDING: r"BLD-\d{5}-\d{3}",
        AssetKind.BOLLARD: r"BOL-\d{3}",
        AssetKind.VEHICLE: r"VEH-\d{3}",
        AssetKind.SENSOR: r"SEN-[A-Z]+-\d{4}",
    }
    for asset in small.assets:
        assert re.fullmatch(patterns[asset.kind], asset.external_ref), asset.external_ref
    assert any(a.external_ref == "SL-21231-00001" for a in small.assets)
    assert any(a.external_ref == "BLD-21231-001" for a in small.assets)


def test_parents_come_first_and_lights_hang_off_their_nearest_cabinet(
    small: SyntheticMetropolis,
) -> None:
    seen: dict[str, AssetKind] = {}
    for asset in small.assets:
        if asset.parent_ref is not None:
            assert asset.parent_ref in seen, f"{asset.external_ref} before its parent"
            assert seen[asset.parent_ref] in PARENT_KINDS[asset.kind]
        seen[asset.external_ref] = asset.kind
    plane = plane_of(small)
    cabinets = [a for a in small.assets if a.kind is AssetKind.LIGHTING_CABINET]
    for light in (a for a in small.assets if a.kind is AssetKind.STREETLIGHT):
        assert light.parent_ref is not None
        commune = light.external_ref.split("-")[1]
        assert light.parent_ref.split("-")[1] == commune
        own = [c for c in cabinets if c.external_ref.split("-")[1] == commune]
        distance = {
            c.external_ref: plane.distance_m(light.lon, light.lat, c.lon, c.lat) for c in own
        }
        assert distance[light.parent_ref] <= min(distance.values()) + 0.05


def test_buildings_include_a_town_hall_per_commune(full: SyntheticMetropolis) -> None:
    buildings = [a for a in full.assets if a.kind is AssetKind.BUILDING]
    halls = [b for b in buildings if b.attributes["building_type"] == "town_hall"]
    assert sorted(b.external_ref.split("-")[1] for b in halls) == sorted(
        c.insee for c in full.communes
    )
    assert any(b.name == "Mairie de Chenôve" for b in halls)
    assert any(b.name == "Mairie d'Ahuy" for b in halls)
    assert all(
        b.name and b.attributes["address"] and b.attributes["supervision"] for b in buildings
    )
    kinds = Counter(b.attributes["building_type"] for b in buildings)
    assert kinds["school"] > kinds["museum"] > 0
    depots = {b.name for b in buildings if b.attributes["building_type"] == "depot"}
    assert "Centre technique métropolitain" in depots
    vehicles = [a for a in full.assets if a.kind is AssetKind.VEHICLE]
    assert {v.attributes["home_base"] for v in vehicles} <= depots


def test_vehicles_bollards_and_sensors_look_real(full: SyntheticMetropolis) -> None:
    vehicles = [a for a in full.assets if a.kind is AssetKind.VEHICLE]
    plates = [v.attributes["registration"] for v in vehicles if "registration" in v.attributes]
    assert len(set(plates)) == len(plates)
    assert all(re.fullmatch(r"[A-HJ-NP-TV-Z]{2}-\d{3}-[A-HJ-NP-TV-Z]{2}", p) for p in plates)
    bollards = [a for a in full.assets if a.kind is AssetKind.BOLLARD]
    dijon = next(c for c in full.communes if c.insee == "21231")
    in_dijon = sum(shapely.contains_xy(dijon.boundary, b.lon, b.lat) for b in bollards)
    assert in_dijon >= 0.7 * len(bollards)
    assert all(b.attributes["bollard_type"] == "retractable" for b in bollards)
    sensors = [a for a in full.assets if a.kind is AssetKind.SENSOR]
    assert {s.subtype for s in sensors} == set(SENSOR_SUBTYPES)
    for sensor in sensors:
        if sensor.subtype in ("parking", "delivery_bay"):
            assert sensor.attributes["bay_count"] >= 1
        if sensor.subtype == "air_quality":
            assert "no2" in sensor.attributes["pollutants"]
        if sensor.subtype == "ev_charger":
            assert sensor.attributes["connector_count"] >= 1
            assert sensor.attributes["max_power_kw"] > 0


# --------------------------------------------------------------------------- organisations


def test_organisations_are_valid_and_maintain_their_lots(small: SyntheticMetropolis) -> None:
    codes = [o.code for o in small.organisations]
    assert len(set(codes)) == len(codes)
    for organisation in small.organisations:
        assert validate_org_code(organisation.code) == organisation.code
        assert organisation.id is None
    communal = [o for o in small.organisations if o.kind is OrganisationKind.COMMUNE_SERVICE]
    assert sorted(o.commune_insee or "" for o in communal) == sorted(
        c.insee for c in small.communes
    )
    assert any(
        o.code == "commune-21231" and o.name == "Services techniques de Dijon" for o in communal
    )
    contractors = {o.code for o in small.organisations if o.kind is OrganisationKind.CONTRACTOR}
    assert contractors == {LEAD_CONTRACTOR, LIGHTING_COMPANY, OPERATOR_COMPANY, IT_COMPANY}
    assert all(
        o.sector is Sector.PRIVATE
        for o in small.organisations
        if o.kind is OrganisationKind.CONTRACTOR
    )
    for required in ("metropole-command-post", "metropole-roads", "metropole-buildings"):
        assert required in codes
    expected = {
        AssetKind.STREETLIGHT: {LIGHTING_COMPANY},
        AssetKind.LIGHTING_CABINET: {LIGHTING_COMPANY},
        AssetKind.TRAFFIC_JUNCTION: {LEAD_CONTRACTOR},
        AssetKind.CAMERA: {LEAD_CONTRACTOR},
        AssetKind.BOLLARD: {LEAD_CONTRACTOR},
        AssetKind.BUILDING: {"metropole-buildings"},
        AssetKind.VEHICLE: {"metropole-fleet"},
    }
    maintainers: dict[AssetKind, set[str]] = defaultdict(set)
    for asset in small.assets:
        assert asset.maintainer in codes
        maintainers[asset.kind].add(asset.maintainer)
    for kind, allowed in expected.items():
        assert maintainers[kind] == allowed


# --------------------------------------------------------------------------- real boundaries


def square(seed: CommuneSeed, half_m: float) -> Commune:
    plane = LocalPlane(seed.lon, seed.lat)
    min_lon, min_lat = plane.to_lonlat(-half_m, -half_m)
    max_lon, max_lat = plane.to_lonlat(half_m, half_m)
    return Commune(seed.insee, seed.name, seed.population, box(min_lon, min_lat, max_lon, max_lat))


def test_real_boundaries_are_used_as_given(seeds: list[CommuneSeed]) -> None:
    chosen = [s for s in seeds if s.insee in ("21231", "21106", "21485")]  # far apart
    given = [square(s, 2000.0) for s in chosen]
    extra = square(next(s for s in seeds if s.insee == "21003"), 500.0)  # not a seed: ignored
    metropolis = build_metropolis(chosen, scale=0.02, boundaries=[*reversed(given), extra])
    assert [c.insee for c in metropolis.communes] == [s.insee for s in chosen]
    for commune, original in zip(metropolis.communes, given, strict=True):
        assert commune.boundary is original.boundary
        assert commune.area_km2 == pytest.approx(16.0, rel=0.01)
    found = commune_of_each_asset(metropolis)
    assert all(len(codes) == 1 for codes in found)
    assert {s.commune_insee for s in metropolis.streets} == {s.insee for s in chosen}
    for asset in metropolis.assets:
        validate_draft_shape(asset)


def test_a_missing_real_boundary_is_refused(seeds: list[CommuneSeed]) -> None:
    with pytest.raises(ValueError, match="21231"):
        build_metropolis(seeds[:8], boundaries=[square(s, 1000.0) for s in seeds[:7]])


# --------------------------------------------------------------------------- progress


def test_progress_is_reported_stage_by_stage(other_seed: Recorded) -> None:
    calls = other_seed.progress
    stages = list(dict.fromkeys(label for label, _, _ in calls))
    assert len(stages) >= 3
    for label in stages:
        steps = [(done, total) for name, done, total in calls if name == label]
        assert all(0 <= done <= total for done, total in steps)
        assert steps[-1][0] == steps[-1][1]  # every stage ends complete
