from datetime import UTC, datetime

import pytest

from metropilot.assets.model import (
    Asset,
    AssetKind,
    AssetStatus,
    diff_assets,
    validate_attributes,
    validate_draft_shape,
)
from metropilot.shared.errors import InvalidInput
from tests.factories import light


def test_streetlight_attributes_are_normalised() -> None:
    clean = validate_attributes(
        AssetKind.STREETLIGHT,
        None,
        {"lamp_technology": "LED", "nominal_power_w": "42.5", "install_date": "2021-03-04"},
        "line 2",
    )
    assert clean == {
        "lamp_technology": "LED",
        "nominal_power_w": 42.5,
        "install_date": "2021-03-04",
        "dimmable": False,
    }


@pytest.mark.parametrize(
    ("kind", "subtype", "attributes", "loc"),
    [
        (
            AssetKind.STREETLIGHT,
            None,
            {"lamp_technology": "LED", "nominal_power_w": "lots"},
            "line 2.attributes.nominal_power_w",
        ),
        (
            AssetKind.STREETLIGHT,
            None,
            {"lamp_technology": "candle", "nominal_power_w": 40},
            "line 2.attributes.lamp_technology",
        ),
        (AssetKind.STREETLIGHT, None, {"nominal_power_w": 40}, "line 2.attributes.lamp_technology"),
        (AssetKind.CAMERA, None, {"camera_type": "fixed", "zoom": 3}, "line 2.attributes.zoom"),
        (
            AssetKind.TRAFFIC_JUNCTION,
            None,
            {"controller_model": "X", "signal_heads": -1},
            "line 2.attributes.signal_heads",
        ),
        (AssetKind.SENSOR, "parking", {"bay_count": "many"}, "line 2.attributes.bay_count"),
    ],
)
def test_wrong_attributes_name_the_field(
    kind: AssetKind, subtype: str | None, attributes: dict[str, object], loc: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_attributes(kind, subtype, attributes, "line 2")
    assert loc in [p["loc"] for p in caught.value.details]
    assert caught.value.code == "invalid_attributes"


def test_only_sensors_have_subtypes() -> None:
    with pytest.raises(InvalidInput, match="needs a subtype"):
        validate_attributes(AssetKind.SENSOR, None, {}, "x")
    with pytest.raises(InvalidInput, match="only sensors have a subtype"):
        validate_attributes(AssetKind.CAMERA, "ptz", {"camera_type": "ptz"}, "x")
    assert validate_attributes(AssetKind.SENSOR, "ev_charger", {"max_power_kw": 22}, "x") == {
        "max_power_kw": 22.0
    }


def test_draft_shape_refuses_a_parent_on_a_kind_without_one() -> None:
    draft = light("SL-1")
    draft.kind = AssetKind.VEHICLE
    draft.attributes = {"vehicle_type": "van"}
    draft.parent_ref = "CAB-1"
    with pytest.raises(InvalidInput, match="cannot have a parent"):
        validate_draft_shape(draft)


def test_draft_shape_refuses_non_wgs84_coordinates() -> None:
    with pytest.raises(InvalidInput, match="not WGS 84"):
        validate_draft_shape(light("SL-1", lon=650_000.0, lat=6_860_000.0))


def _asset(**changes: object) -> Asset:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    base = {
        "id": 1,
        "external_ref": "SL-1",
        "kind": AssetKind.STREETLIGHT,
        "lon": 5.0,
        "lat": 47.0,
        "commune_insee": "21231",
        "status": AssetStatus.OK,
        "attributes": {"lamp_technology": "HPS", "nominal_power_w": 150.0},
        "created_at": now,
        "updated_at": now,
    }
    base.update(changes)
    return Asset(**base)  # type: ignore[arg-type]


def test_diff_lists_each_changed_attribute_with_before_and_after() -> None:
    before = _asset()
    after = _asset(
        attributes={"lamp_technology": "LED", "nominal_power_w": 150.0, "dimmable": True},
        status=AssetStatus.FAULT,
    )
    assert diff_assets(before, after) == {
        "status": ["ok", "fault"],
        "attributes.dimmable": [None, True],
        "attributes.lamp_technology": ["HPS", "LED"],
    }
    assert diff_assets(before, _asset()) == {}


def test_diff_on_creation_lists_every_field() -> None:
    changes = diff_assets(None, _asset())
    assert changes["kind"] == [None, "streetlight"]
    assert changes["attributes"][1]["lamp_technology"] == "HPS"
