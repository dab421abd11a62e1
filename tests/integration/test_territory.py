"""Importing real commune boundaries."""

from __future__ import annotations

import pytest

from metropilot.bootstrap import Platform
from metropilot.shared.errors import InvalidInput
from metropilot.territory import services
from tests.conftest import TEST_ACTOR


def square(lon: float, lat: float, size: float = 0.1) -> dict[str, object]:
    return {
        "type": "Polygon",
        "coordinates": [
            [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
        ],
    }


def feature(props: dict[str, object], geometry: object) -> dict[str, object]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def test_boundaries_import_creates_then_updates(platform: Platform) -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature(
                {"code_insee": "21001", "nom": "Ouestville", "population": 10}, square(5.0, 47.3)
            ),
            feature({"insee": "21002", "name": "Estville", "population": 20}, square(5.1, 47.3)),
        ],
    }
    with platform.uow_factory() as uow:
        assert services.import_commune_boundaries(uow, collection, TEST_ACTOR) == (2, 0)
        uow.commit()
    moved = {
        "type": "FeatureCollection",
        "features": [feature({"insee": "21002"}, square(5.1, 47.3, 0.2))],
    }
    with platform.uow_factory() as uow:
        assert services.import_commune_boundaries(uow, moved, TEST_ACTOR) == (0, 1)
        uow.commit()
        communes = {c.insee: c for c in services.list_communes(uow)}
    assert communes["21001"].name == "Ouestville"
    assert communes["21002"].population == 20  # kept when the file does not say
    assert communes["21002"].area_km2 == pytest.approx(4 * 83.8, rel=0.02)
    with platform.uow_factory() as uow:
        assert services.locator(uow).locate(5.25, 47.45) == "21002"


def test_boundaries_import_is_all_or_nothing(platform: Platform) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[5, 47], [5.1, 47.1], [5.1, 47], [5, 47.1], [5, 47]]],
    }
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature({"insee": "21001", "name": "Good", "population": 1}, square(5.0, 47.3)),
            feature({"insee": "21002", "name": "Bowtie", "population": 1}, bowtie),
            feature({"insee": "21001", "name": "Again", "population": 1}, square(5.0, 47.3)),
            feature({"insee": "123", "name": "Short", "population": 1}, square(5.0, 47.3)),
        ],
    }
    with platform.uow_factory() as uow, pytest.raises(InvalidInput) as caught:
        services.import_commune_boundaries(uow, collection, TEST_ACTOR, source="communes.geojson")
    messages = [p["message"] for p in caught.value.details]
    assert "Self-intersection" in messages[0]
    assert "appears twice" in messages[1]
    assert "INSEE code" in messages[2]
    assert [p["loc"] for p in caught.value.details] == [
        "communes.geojson feature 1",
        "communes.geojson feature 2",
        "communes.geojson feature 3",
    ]
    with platform.uow_factory() as uow:
        assert services.list_communes(uow) == []


def test_districts_import_checks_their_commune(platform: Platform) -> None:
    communes = {
        "type": "FeatureCollection",
        "features": [
            feature({"insee": "21001", "name": "Ouestville", "population": 10}, square(5.0, 47.3))
        ],
    }
    with platform.uow_factory() as uow:
        services.import_commune_boundaries(uow, communes, TEST_ACTOR)
        uow.commit()
    districts = {
        "type": "FeatureCollection",
        "features": [
            feature(
                {"code": "OV-CENTRE", "name": "Centre", "commune": "21001"},
                square(5.02, 47.32, 0.02),
            ),
            feature(
                {"code": "OV-OUT", "name": "Outside", "commune": "21001"}, square(5.09, 47.32, 0.05)
            ),
            feature(
                {"code": "OV-X", "name": "Nowhere", "commune": "21999"}, square(5.02, 47.32, 0.01)
            ),
        ],
    }
    with platform.uow_factory() as uow, pytest.raises(InvalidInput) as caught:
        services.import_districts(uow, districts, TEST_ACTOR, source="d.geojson")
    messages = [p["message"] for p in caught.value.details]
    assert "80% of the district lies outside its commune Ouestville" in messages[0]
    assert "unknown commune '21999'" in messages[1]
    districts["features"] = districts["features"][:1]
    with platform.uow_factory() as uow:
        assert services.import_districts(uow, districts, TEST_ACTOR) == 1
        uow.commit()
        (district,) = services.list_districts(uow, "21001")
    assert (district.code, district.name) == ("OV-CENTRE", "Centre")
