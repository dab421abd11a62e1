"""The synthetic metropolis, stored through the registry's own services."""

from __future__ import annotations

import pytest
from shapely.geometry import Point

from metropilot.assets import services as asset_services
from metropilot.assets.services import AssetFilter
from metropilot.bootstrap import Platform
from metropilot.shared.errors import Conflict, InvalidInput
from metropilot.simulate.layout import build_metropolis, load_reference_communes, planned_counts
from metropilot.simulate.services import generate_metropolis
from metropilot.territory import services as territory_services
from tests.conftest import TEST_ACTOR, WORLD_SCALE


def test_the_world_has_the_planned_counts_and_everything_in_its_commune(world: Platform) -> None:
    with world.uow_factory() as uow:
        summary = asset_services.summary(uow, AssetFilter())
        locator = territory_services.locator(uow)
        assets = list(asset_services.iter_assets(uow, AssetFilter()))
    planned = planned_counts(WORLD_SCALE, 23)
    assert summary["by_kind"] == {kind.value: n for kind, n in planned.items()}
    located = locator.locate_many([(a.lon, a.lat) for a in assets])
    assert located == [a.commune_insee for a in assets]
    lights = [a for a in assets if a.kind.value == "streetlight"]
    assert all(a.parent_ref and a.parent_ref.startswith("CAB-") for a in lights)


def test_generation_refuses_to_overwrite_unless_asked(platform: Platform) -> None:
    with platform.uow_factory() as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=1)
        uow.commit()
    with platform.uow_factory() as uow, pytest.raises(Conflict, match="not empty"):
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=2)
    with platform.uow_factory() as uow:
        report = generate_metropolis(uow, TEST_ACTOR, scale=0.02, seed=2, replace=True)
        uow.commit()
        assert sum(asset_services.summary(uow, AssetFilter())["by_kind"].values()) == report.assets


def _import_boundaries(platform: Platform, insee_codes: set[str] | None = None) -> None:
    layout = build_metropolis(load_reference_communes(), scale=0.01, seed=99)
    features = [
        {
            "type": "Feature",
            "properties": {"insee": c.insee, "name": c.name, "population": c.population},
            "geometry": c.boundary_geojson(),
        }
        for c in layout.communes
        if insee_codes is None or c.insee in insee_codes
    ]
    with platform.uow_factory() as uow:
        territory_services.import_commune_boundaries(
            uow, {"type": "FeatureCollection", "features": features}, TEST_ACTOR
        )
        uow.commit()


def test_imported_boundaries_are_kept_and_equipment_laid_inside(platform: Platform) -> None:
    _import_boundaries(platform)
    with platform.uow_factory() as uow:
        before = {c.insee: c.boundary.wkt for c in territory_services.list_communes(uow)}
        report = generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=1)
        uow.commit()
        after = {c.insee: c.boundary.wkt for c in territory_services.list_communes(uow)}
    assert report.boundaries == "imported"
    assert after == before


def test_partial_boundaries_are_refused_with_the_missing_communes(platform: Platform) -> None:
    _import_boundaries(platform, {"21231", "21166"})
    with (
        platform.uow_factory() as uow,
        pytest.raises(InvalidInput, match="cover 2 of the 23") as caught,
    ):
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=1)
    assert "21003" in caught.value.message


def test_new_boundaries_move_assets_or_are_refused(platform: Platform) -> None:
    from metropilot.assets.services import relocate_all

    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=1)
        uow.commit()
    layout = build_metropolis(load_reference_communes(), scale=0.01, seed=1)
    cells = {c.insee: c for c in layout.communes}
    # Swap nothing but shrink Dijon to a sliver: its assets would stand nowhere.
    sliver = cells["21231"].boundary.buffer(-0.02)
    shrunk = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"insee": "21231"},
                "geometry": sliver.__geo_interface__,
            }
        ],
    }
    with platform.uow_factory(write=True) as uow:
        territory_services.import_commune_boundaries(uow, shrunk, TEST_ACTOR)
        with pytest.raises(InvalidInput, match="outside every commune"):
            relocate_all(uow, TEST_ACTOR)
    # Dijon takes all of Chenôve's cell but a small disc: Chenôve's assets move, each recorded.
    chenove = cells["21166"]
    assert chenove.centre is not None
    small = Point(chenove.centre).buffer(0.0005)
    dijon = cells["21231"].boundary.union(chenove.boundary).difference(small).buffer(0)
    features = [
        {"type": "Feature", "properties": {"insee": "21231"}, "geometry": dijon.__geo_interface__},
        {"type": "Feature", "properties": {"insee": "21166"}, "geometry": small.__geo_interface__},
    ]
    with platform.uow_factory(write=True) as uow:
        before = asset_services.summary(uow, AssetFilter())["by_commune"]
        territory_services.import_commune_boundaries(
            uow, {"type": "FeatureCollection", "features": features}, TEST_ACTOR
        )
        moved = relocate_all(uow, TEST_ACTOR)
        uow.commit()
        after = asset_services.summary(uow, AssetFilter())["by_commune"]
    assert moved > 0
    assert after["21231"] == before["21231"] + moved
    assert after.get("21166", 0) == before["21166"] - moved


def test_the_demo_routes_faults_to_the_lots_contractors(platform: Platform) -> None:
    from metropilot.cases import services as cases_services
    from metropilot.cases.routing import CaseFacts, route
    from metropilot.shared.clock import utcnow
    from metropilot.simulate.services import install_reference_routing

    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        assert install_reference_routing(uow, TEST_ACTOR) == 3
        assert install_reference_routing(uow, TEST_ACTOR) == 0  # never twice, never over a rule
        uow.commit()
    with platform.uow_factory() as uow:
        rules = cases_services.list_rules(uow)
    teams = {
        category: route(rules, CaseFacts(category, None, "21231"), utcnow()).team
        for category in ("lamp-failure", "junction-controller-fault", "road-clearance", "graffiti")
    }
    assert teams == {
        "lamp-failure": "lucerna-eclairage-field",
        "junction-controller-fault": "ordival-infrastructures-field",
        "road-clearance": "metropole-roads-field",
        "graffiti": "command-post",  # the command post's triage queue
    }
