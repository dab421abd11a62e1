import math

import pytest

from metropilot.shared.geo import BBox, LocalPlane, parse_bbox, parse_lonlat


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def test_plane_distance_matches_great_circle_at_metropolis_scale() -> None:
    plane = LocalPlane(5.04, 47.32)
    for lon, lat in [(5.10, 47.35), (4.95, 47.25), (5.04, 47.40)]:
        exact = haversine_m(5.04, 47.32, lon, lat)
        assert plane.distance_m(5.04, 47.32, lon, lat) == pytest.approx(exact, rel=2e-3)


def test_plane_round_trip() -> None:
    plane = LocalPlane(5.04, 47.32)
    x, y = plane.to_xy(5.1, 47.3)
    assert plane.to_lonlat(x, y) == pytest.approx((5.1, 47.3))


def test_bbox_around_contains_the_disc() -> None:
    b = BBox.around(5.0, 47.3, 1000)
    plane = LocalPlane(5.0, 47.3)
    assert plane.distance_m(5.0, 47.3, b.max_lon, 47.3) == pytest.approx(1000, rel=1e-6)
    assert plane.distance_m(5.0, 47.3, 5.0, b.min_lat) == pytest.approx(1000, rel=1e-6)


def test_parse_bbox_accepts_spaces() -> None:
    assert parse_bbox(" 5.0, 47.2 ,5.1,47.3") == BBox(5.0, 47.2, 5.1, 47.3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5.0,47.2,5.1", "minlon,minlat,maxlon,maxlat"),
        ("a,b,c,d", "decimal numbers"),
        ("5.1,47.2,5.0,47.3", "min ≤ max"),
        ("5.0,47.2,5.1,95", "latitude 95.0"),
        ("nan,47.2,5.1,47.3", "finite"),
    ],
)
def test_parse_bbox_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_bbox(text)


def test_parse_lonlat() -> None:
    assert parse_lonlat("5.04,47.32") == (5.04, 47.32)
    with pytest.raises(ValueError, match="lon,lat"):
        parse_lonlat("5.04")
    with pytest.raises(ValueError, match="longitude 200"):
        parse_lonlat("200,47")
