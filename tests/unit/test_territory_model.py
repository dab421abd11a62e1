import pytest
from shapely.geometry import box

from metropilot.shared.errors import InvalidInput
from metropilot.territory.model import (
    CommuneLocator,
    OutsideTerritory,
    area_km2,
    boundary_from_geojson,
    validate_insee,
)

LOCATOR = CommuneLocator(
    [("21001", box(5.0, 47.3, 5.1, 47.4)), ("21002", box(5.1, 47.3, 5.2, 47.4))]
)


def test_locates_points_in_their_commune() -> None:
    assert LOCATOR.locate(5.05, 47.35) == "21001"
    assert LOCATOR.locate(5.15, 47.35) == "21002"
    assert LOCATOR.locate_many([(5.05, 47.31), (5.3, 47.35), (5.19, 47.39)]) == [
        "21001",
        None,
        "21002",
    ]


def test_a_point_on_a_shared_border_goes_to_the_first_commune_every_time() -> None:
    assert LOCATOR.locate(5.1, 47.35) == "21001"


def test_outside_the_territory_is_refused_with_the_coordinates() -> None:
    with pytest.raises(OutsideTerritory, match=r"\(6\.000000, 47\.350000\) is outside"):
        LOCATOR.require(6.0, 47.35, "near")


def test_batch_location_is_fast_enough_for_a_large_import() -> None:
    points = [(5.0 + (i % 1000) * 0.0002, 47.3 + (i // 1000) * 0.0009) for i in range(100_000)]
    found = LOCATOR.locate_many(points)
    assert found.count(None) == 0
    assert found[0] == "21001"


def test_area() -> None:
    assert area_km2(box(5.0, 47.3, 5.1, 47.4)) == pytest.approx(83.8, rel=0.01)


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ("nope", "must be a GeoJSON object"),
        ({"type": "Point", "coordinates": [5, 47]}, "Polygon or MultiPolygon, got 'Point'"),
        ({"type": "Polygon", "coordinates": [[5, 47]]}, "malformed Polygon"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]},
            "Self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[500, 0], [501, 0], [501, 1], [500, 0]]]},
            "WGS 84",
        ),
    ],
)
def test_bad_boundaries_are_explained(geometry: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        boundary_from_geojson(geometry, "feature 0")


def test_insee_codes() -> None:
    assert validate_insee(" 21231 ") == "21231"
    assert validate_insee("2a004") == "2A004"
    with pytest.raises(InvalidInput, match="INSEE"):
        validate_insee("2123")
