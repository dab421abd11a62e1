import json

import pytest

from metropilot.assets.model import AssetKind, AssetStatus
from metropilot.assets.transfer import read_csv, read_geojson
from metropilot.shared.errors import InvalidInput


def feature(props: dict[str, object], coords: object = (5.05, 47.35)) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(coords)},  # type: ignore[call-overload]
        "properties": props,
    }


def collection(*features: dict[str, object]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def test_geojson_properties_and_nested_attributes() -> None:
    drafts = read_geojson(
        collection(
            feature(
                {
                    "external_ref": "SL-1",
                    "kind": "streetlight",
                    "maintainer": "lumiere-sa",
                    "parent": "CAB-1",
                    "status": "fault",
                    "attributes": {"lamp_technology": "LED"},
                    "nominal_power_w": 30,
                }
            )
        )
    )
    assert len(drafts) == 1
    d = drafts[0]
    assert (d.external_ref, d.kind, d.parent_ref, d.status) == (
        "SL-1",
        AssetKind.STREETLIGHT,
        "CAB-1",
        AssetStatus.FAULT,
    )
    assert d.attributes == {"lamp_technology": "LED", "nominal_power_w": 30}
    assert d.where == "feature 0"


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(InvalidInput, match=r"lights.geojson: not valid JSON at line 3, column"):
        read_geojson('{"type": "FeatureCollection",\n "features": [\n  {,]}', "lights.geojson")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"type": "Feature"}', "expected a GeoJSON FeatureCollection, got 'Feature'"),
        ("[1, 2]", "got 'list'"),
        ('{"type": "FeatureCollection", "features": {}}', "'features' must be a list"),
    ],
)
def test_not_a_feature_collection(document: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        read_geojson(document)
    assert caught.value.code == "malformed_geojson"


def test_every_bad_feature_is_reported_with_its_index() -> None:
    bad_geometry = {"type": "Feature", "geometry": {"type": "LineString"}, "properties": {}}
    text = collection(
        feature({"external_ref": "A", "kind": "streetlight"}),
        bad_geometry,
        feature({"external_ref": "C", "kind": "teleporter"}),
        feature({"kind": "camera"}),
        feature({"external_ref": "E", "kind": "camera"}, coords=("x", 47)),
    )
    with pytest.raises(InvalidInput) as caught:
        read_geojson(text, "f.geojson")
    locs = [p["loc"] for p in caught.value.details]
    assert locs == [
        "feature 1.geometry",
        "feature 2.kind",
        "feature 3.external_ref",
        "feature 4.geometry.coordinates",
    ]
    assert "4 problem(s), nothing imported" in caught.value.message


def test_csv_reads_lines_with_numbers_and_lists() -> None:
    text = (
        "external_ref,kind,lon,lat,maintainer,supervision,floors,building_type,commune\n"
        "BLD-1,building,5.05,47.35,metro,fire|intrusion,2,school,99999\n"
    )
    (draft,) = read_csv(text)
    assert draft.where == "line 2"
    assert draft.attributes == {
        "supervision": ["fire", "intrusion"],
        "floors": "2",
        "building_type": "school",
    }


def test_csv_errors_name_the_line_and_field() -> None:
    text = (
        "external_ref,kind,lon,lat\n"
        "SL-1,streetlight,5.05,47.35\n"
        "SL-2,streetlight,five,47.35\n"
        "SL-3,streetlight,5.05,47.35,extra\n"
        "SL-4,lamp,5.05,47.35\n"
    )
    with pytest.raises(InvalidInput) as caught:
        read_csv(text, "lights.csv")
    locs = [p["loc"] for p in caught.value.details]
    assert locs == ["line 3.lon", "line 4", "line 5.kind"]
    assert caught.value.message.startswith("lights.csv: 3 problem(s)")


def test_csv_missing_columns() -> None:
    with pytest.raises(InvalidInput, match="line 1: missing column"):
        read_csv("ref,kind\nA,streetlight\n")
