"""The twin's column store and the asset directory: what goes in comes out, newer wins."""

from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from metropilot.telemetry.twin import NEVER, AssetDirectory, Twin


def test_values_come_back_per_asset_whatever_the_order_columns_and_rows_appear() -> None:
    twin = Twin()
    twin.reserve([(1, "streetlight"), (2, "streetlight")])
    twin.record(1, "streetlight", 1_000, {"power_w": 30.0})
    twin.record(7, "vehicle", 2_000, {"speed_kmh": 42.0})  # an asset the twin never reserved
    twin.record(2, "streetlight", 3_000, {"power_w": 31.0, "lamp_failure": 1.0})  # a new column
    twin.reserve([(3, "streetlight")])  # a row added after the columns exist
    twin.record(3, "streetlight", 4_000, {"lamp_failure": 0.0})
    assert twin.latest(1, "streetlight") == {}  # no status yet: not known
    for asset_id, when in ((1, 1_000), (2, 3_000), (3, 4_000), (7, 2_000)):
        twin.set_state(asset_id, when, "ok", "ok")
    assert twin.latest(1, "streetlight") == {"power_w": (1_000, 30.0)}
    assert twin.latest(2, "streetlight") == {"power_w": (3_000, 31.0), "lamp_failure": (3_000, 1.0)}
    assert twin.latest(3, "streetlight") == {"lamp_failure": (4_000, 0.0)}
    assert twin.latest(7, "vehicle") == {"speed_kmh": (2_000, 42.0)}
    view = twin.view(2, "streetlight")
    assert view.get("power_w") == 31.0
    assert view.get("online") is None
    assert dict(view) == {"power_w": 31.0, "lamp_failure": 1.0}
    assert len(twin.view(1, "streetlight")) == 1
    assert twin.time_of(1, "streetlight", "lamp_failure") == NEVER
    assert len(twin) == 4


def test_a_value_is_kept_only_if_newer_and_last_contact_never_goes_back() -> None:
    twin = Twin()
    assert twin.record_one(5, "camera", "online", 2_000, 1.0)
    assert not twin.record_one(5, "camera", "online", 1_000, 0.0)
    assert not twin.record_one(5, "camera", "online", 2_000, 0.0)
    twin.set_state(5, 2_000, "ok", "ok")
    twin.set_state(5, 1_500, "offline", "offline")
    assert twin.last_seen[5] == 2_000
    assert twin.status[5] == "offline"
    assert twin.latest(5, "camera") == {"online": (2_000, 1.0)}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 40),
            st.sampled_from(["streetlight", "camera"]),
            st.sampled_from(["power_w", "online", "lamp_failure"]),
            st.integers(0, 10_000),
            st.floats(allow_nan=False),
        ),
        max_size=80,
    )
)
def test_the_twin_agrees_with_a_plain_dictionary(
    writes: list[tuple[int, str, str, int, float]],
) -> None:
    twin = Twin()
    kinds: dict[int, str] = {}
    expected: dict[int, dict[str, tuple[int, float]]] = {}
    for asset_id, kind, metric, when, value in writes:
        kind = kinds.setdefault(asset_id, kind)  # an asset keeps its kind
        twin.record_one(asset_id, kind, metric, when, value)
        twin.set_state(asset_id, when, "ok", "ok")
        held = expected.setdefault(asset_id, {})
        if metric not in held or when > held[metric][0]:
            held[metric] = (when, value)
    for asset_id, values in expected.items():
        assert twin.latest(asset_id, kinds[asset_id]) == values


def test_the_directory_shares_what_assets_repeat() -> None:
    directory = AssetDirectory()
    first = directory.info(1, "SL-1", "street" + "light", "21231", 5000, 9000, "ok")
    second = directory.info(2, "SL-2", "".join(["street", "light"]), "21231", 5000, 9000, "ok")
    directory.replace_all([first, second])
    assert first.kind is second.kind is sys.intern("streetlight")
    assert first.maintainer_id is second.maintainer_id
    assert first.parent_id is second.parent_id
    assert directory.resolve("SL-2") is second
    assert directory.resolve("1") is first  # by id
    assert directory.resolve("3") is None
    assert directory.by_id(-1) is None
    directory.set_status(2, "fault")
    assert directory.resolve("SL-2").status == "fault"  # type: ignore[union-attr]
    assert len(directory) == 2
