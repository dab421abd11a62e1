"""The fast road (msgspec, whole batch) and the general road (item by item) give one verdict.

The fast road may decline a batch it could have taken — the general road then judges it — but
it must never accept an item the general road refuses, nor decode one differently.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metropilot.telemetry.model import (
    METRICS,
    TALQ_NAMES,
    DecodedEvent,
    DecodedReading,
    InvalidItem,
    decode_batch,
    decode_item,
    json_items,
)
from metropilot.telemetry.mqtt import _reading as mqtt_reading

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
OLDEST_MS = NOW_MS - 30 * 86_400_000

awkward_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0, 1, 0.0, 1.0, -0.0, 100, 100.0000001, 5000, 1e308]),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)
metric_names = st.sampled_from([*METRICS, *TALQ_NAMES, "position", "unknown_metric"])
metric_value = st.one_of(
    awkward_numbers,
    st.lists(awkward_numbers, min_size=0, max_size=3),
)
timestamps = st.one_of(
    st.datetimes(
        min_value=datetime(2026, 10, 1),
        max_value=datetime(2026, 12, 1),
        timezones=st.sampled_from([UTC, None]),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-11-27T10:00:00Z", "2026-11-27 10:00:00+01:00", "yesterday", ""]),
    st.integers(-(2**40), 2**40),
)
assets = st.one_of(
    st.sampled_from(["SL-000001", " SL-000002 ", "", "   ", "x" * 101, "12"]),
    st.integers(-5, 10**6),
    st.booleans(),
    st.none(),
)
events = st.fixed_dictionaries(
    {"code": st.one_of(st.sampled_from(["door_open", " fire ", "", "x" * 65]), st.integers(-9, 9))},
    optional={
        "payload": st.one_of(st.dictionaries(st.text(max_size=3), st.integers(-9, 9)), st.none())
    },
)
items = st.fixed_dictionaries(
    {"asset": assets, "ts": timestamps},
    optional={
        "metrics": st.one_of(st.dictionaries(metric_names, metric_value, max_size=4), st.none()),
        "event": st.one_of(events, st.none()),
        "note": st.text(max_size=5),
    },
)


def general(item: Any) -> DecodedReading | DecodedEvent | str:
    try:
        return decode_item(item, NOW_MS, OLDEST_MS)
    except InvalidItem as exc:
        return exc.reason


@settings(max_examples=400, deadline=None)
@given(st.lists(items, min_size=1, max_size=5))
def test_the_fast_road_never_accepts_what_the_general_road_refuses(batch: list[Any]) -> None:
    fast = decode_batch(orjson.dumps(batch))
    if fast is None:
        return  # declined: the general road judges every item
    assert len(fast) == len(batch)
    for item, decoded in zip(batch, fast, strict=True):
        verdict = general(item)
        if isinstance(decoded, DecodedReading | DecodedEvent) and isinstance(verdict, str):
            # the window is checked by the pipeline for both roads, not by the decoder
            assert verdict in ("future_timestamp", "too_old"), (item, verdict)
            continue
        assert decoded == verdict, item


# What a device publishes on its own topic: the asset may be left out, or named again.
topic_items = st.fixed_dictionaries(
    {"ts": timestamps},
    optional={
        "asset": st.one_of(assets, st.sampled_from(["SL-000001", " SL-000001", "7", 7])),
        "metrics": st.one_of(st.dictionaries(metric_names, metric_value, max_size=4), st.none()),
        "event": st.one_of(events, st.none()),
    },
)


@settings(max_examples=400, deadline=None)
@given(st.lists(topic_items, min_size=1, max_size=4), st.sampled_from(["SL-000001", "7"]))
def test_on_an_mqtt_topic_the_fast_road_agrees_with_the_general_one(
    batch: list[Any], topic_asset: str
) -> None:
    fast = decode_batch(orjson.dumps(batch), topic_asset)
    if fast is None:
        return  # declined: the consumer shapes each item for the general road
    assert len(fast) == len(batch)
    for item, decoded in zip(batch, fast, strict=True):
        shaped = mqtt_reading(item, topic_asset)
        verdict = shaped.reason if isinstance(shaped, InvalidItem) else general(shaped)
        if isinstance(verdict, str):
            assert verdict in ("future_timestamp", "too_old"), (item, verdict)
            continue
        assert decoded == verdict, item


def test_a_well_formed_batch_takes_the_fast_road_with_the_same_values() -> None:
    batch = [
        {
            "asset": "SL-000001",
            "ts": (NOW - timedelta(seconds=n)).isoformat(),
            "metrics": {"power_w": 30 + n, "light_level_pct": 50.5, "lamp_failure": n % 2 == 0},
        }
        for n in range(3)
    ] + [
        {"asset": 42, "ts": "2026-11-27T10:00:00.250+01:00", "metrics": {"position": [5.04, 47.3]}},
        {"asset": "BL-1", "ts": "2026-11-27T09:00:00Z", "event": {"code": " intrusion "}},
    ]
    fast = decode_batch(orjson.dumps(batch))
    assert fast is not None
    assert fast == [general(item) for item in batch]
    assert fast[3] == DecodedReading(
        "42", NOW_MS - 3_600_000 + 250, {"position_lon": 5.04, "position_lat": 47.3}
    )
    assert all(
        type(v) is float for d in fast if isinstance(d, DecodedReading) for v in d.values.values()
    )


@pytest.mark.parametrize(
    "item",
    [
        {"asset": "SL-1", "ts": "2026-11-27T10:00:00", "metrics": {"power_w": 1}},  # no offset
        {"asset": "SL-1", "ts": "2026-11-27T10:00:00Z", "metrics": {"power_w": -1}},
        {"asset": "SL-1", "ts": "2026-11-27T10:00:00Z", "metrics": {"lampFailure": True}},
        {"asset": "SL-1", "ts": "2026-11-27T10:00:00Z", "metrics": {"lamp_failure": 1}},
        {"asset": "SL-1", "ts": "2026-11-27T10:00:00Z", "metrics": {}},
        {"asset": "SL-1", "ts": "2026-11-27T10:00:00Z", "metrics": {"power_w": None}},
        {"asset": "SL-1", "ts": "2026-11-27T10:00:00Z", "event": None, "metrics": {"power_w": 1}},
        {"device": "SL-1", "time": "2026-11-27T10:00:00Z", "data": {"activeEnergy": 2.5}},
    ],
)
def test_anything_unusual_takes_the_general_road(item: dict[str, Any]) -> None:
    assert decode_batch(orjson.dumps([item])) is None
    assert json_items(orjson.dumps([item])) == [item]


def test_a_body_that_is_not_a_batch_is_refused_whole() -> None:
    with pytest.raises(InvalidItem) as malformed:
        json_items(b"[{")
    assert malformed.value.reason == "malformed_json"
    with pytest.raises(InvalidItem) as not_a_batch:
        json_items(b"42")
    assert not_a_batch.value.reason == "bad_body"
    assert json_items(b'{"asset": "SL-1", "ts": "x"}') == [{"asset": "SL-1", "ts": "x"}]


def _near_valid_value(name: str) -> st.SearchStrategy[Any]:
    spec = METRICS[name]
    if spec.kind == "bool":
        return st.sampled_from([True, False, 0, 1, 1.0, 2])
    if spec.kind == "position":
        return st.sampled_from([[5.0, 47.3], [180, 90], [180.5, 0], [5.0], [True, 47.0]])
    low = spec.minimum if spec.minimum is not None else -1e9
    high = spec.maximum if spec.maximum is not None else 1e9
    return st.one_of(
        st.floats(low, high),
        st.integers(int(low), int(high)),
        st.sampled_from([low, high, low - 0.001, high + 0.001]),
    )


near_valid_items = st.builds(
    lambda asset, ts, metrics: {"asset": asset, "ts": ts, "metrics": metrics},
    st.sampled_from(["SL-000001", " SL-2", 7]),
    st.datetimes(
        min_value=datetime(2026, 11, 20), max_value=datetime(2026, 11, 28), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat()),
    st.lists(st.sampled_from(sorted(METRICS)), min_size=1, max_size=4, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({n: _near_valid_value(n) for n in names})
    ),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(near_valid_items, min_size=1, max_size=3))
def test_near_valid_batches_get_the_same_verdict_on_both_roads(batch: list[Any]) -> None:
    fast = decode_batch(orjson.dumps(batch))
    verdicts = [general(item) for item in batch]
    if fast is None:
        # declined only when the general road refuses something or it needs the general road
        assert any(isinstance(v, str) for v in verdicts) or any(
            (v == 0 or v == 1) and type(v) is not bool
            for item in batch
            for name, v in item["metrics"].items()
            if METRICS[name].kind == "bool"
        )
        return
    for decoded, verdict in zip(fast, verdicts, strict=True):
        if isinstance(verdict, str):
            assert verdict in ("future_timestamp", "too_old")
        else:
            assert decoded == verdict


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("energy_wh", 1.7e308),
        ("energy_wh", 1e12 + 1),
        ("operating_hours", 1.7e308),
        ("occupancy", 1e9),
        ("activeEnergy", 1e9 + 1),  # kWh: 1e12 Wh once multiplied
    ],
)
def test_every_number_has_a_range_on_both_roads(name: str, value: float) -> None:
    # Two energy_wh readings of 1.7e308 in an hour made the rollup's average null.
    item = {"asset": "SL-000001", "ts": "2026-11-27T10:00:00Z", "metrics": {name: value}}
    assert decode_batch(orjson.dumps([item])) is None
    with pytest.raises(InvalidItem, match=f"{name}=.* outside 0\\.\\.") as refused:
        decode_item(item, NOW_MS, OLDEST_MS)
    assert refused.value.reason == "out_of_range"


def test_every_number_metric_is_bounded_and_its_top_is_accepted() -> None:
    numbers = {name: spec for name, spec in METRICS.items() if spec.kind == "number"}
    assert all(spec.minimum is not None and spec.maximum is not None for spec in numbers.values())
    top = {name: spec.maximum for name, spec in numbers.items()}
    item = {"asset": "SL-000001", "ts": "2026-11-27T10:00:00Z", "metrics": top}
    [fast] = decode_batch(orjson.dumps([item])) or []
    assert fast == general(item)
    talq = {"asset": "SL-000001", "ts": "2026-11-27T10:00:00Z", "metrics": {"activeEnergy": 1e9}}
    assert general(talq) == DecodedReading("SL-000001", NOW_MS, {"energy_wh": 1e12})
