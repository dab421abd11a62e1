"""The rules engine's pure half: verdicts, the hysteresis state machine, the rule index, and the
validation of rule definitions. No database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metropilot.alarms.model import (
    Alarm,
    AlarmState,
    Rule,
    RuleType,
    Severity,
    ThresholdParams,
    parse_params,
    parse_rule_spec,
)
from metropilot.alarms.rules import (
    Change,
    RuleSet,
    condition_from_twin,
    hysteresis_step,
    rising_edges,
    threshold_verdict,
)
from metropilot.shared.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class FakeAsset:
    id: int
    kind: str = "streetlight"
    commune: str = "21231"
    maintainer_id: int | None = 1
    parent_id: int | None = None
    status: str = "ok"


def change_of(
    asset: FakeAsset,
    ts_ms: int = 1_000,
    values: dict[str, float] | None = None,
    previous: dict[str, float] | None = None,
    events: tuple[str, ...] = (),
) -> Change:
    """What the ingest pipeline hands the engine for one asset of a batch."""
    return (asset, ts_ms, values or {}, previous or {}, "ok", "ok", events)


def make_rule(rule_id: int, rule_type: str, params: dict[str, Any], **extra: Any) -> Rule:
    kind = RuleType(rule_type)
    return Rule(
        id=rule_id,
        code=None,
        name=f"rule {rule_id}",
        type=kind,
        severity=Severity(extra.pop("severity", "major")),
        params=parse_params(kind, params),
        **extra,
    )


# --- the hysteresis state machine ----------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def bands(draw: st.DrawFn) -> ThresholdParams:
    direction = draw(st.sampled_from(["above", "below"]))
    raise_at = draw(finite)
    width = draw(st.floats(min_value=0, max_value=1e3, allow_nan=False))
    clear_at = raise_at - width if direction == "above" else raise_at + width
    return ThresholdParams(metric="pm10", direction=direction, raise_at=raise_at, clear_at=clear_at)


def run(params: ThresholdParams, values: list[float], active: bool = False) -> list[bool]:
    states = []
    for value in values:
        active = hysteresis_step(active, params, value)
        states.append(active)
    return states


@given(bands(), st.lists(finite, max_size=60), st.booleans())
def test_the_state_only_changes_on_a_value_beyond_the_limit_it_crosses(
    params: ThresholdParams, values: list[float], start: bool
) -> None:
    previous = start
    for value, state in zip(values, run(params, values, start), strict=True):
        if state != previous:
            beyond_raise = (
                value > params.raise_at if params.direction == "above" else value < params.raise_at
            )
            beyond_clear = (
                value < params.clear_level
                if params.direction == "above"
                else value > params.clear_level
            )
            assert beyond_raise if state else beyond_clear
        previous = state


@given(bands(), st.lists(st.floats(0, 1), max_size=60), st.booleans())
def test_values_inside_the_band_never_change_the_state(
    params: ThresholdParams, fractions: list[float], start: bool
) -> None:
    low, high = sorted((params.raise_at, params.clear_level))
    # Clamped: low + (high - low) * 1.0 can round to just past high.
    values = [min(max(low + (high - low) * f, low), high) for f in fractions]
    assert run(params, values, start) == [start] * len(values)


@given(bands(), st.lists(finite, max_size=60))
def test_hysteresis_never_chatters_more_than_a_bare_threshold(
    params: ThresholdParams, values: list[float]
) -> None:
    def transitions(states: list[bool]) -> int:
        return sum(1 for a, b in zip([False, *states], states, strict=False) if a != b)

    bare = ThresholdParams(metric="pm10", direction=params.direction, raise_at=params.raise_at)
    assert transitions(run(params, values)) <= transitions(run(bare, values))


@given(bands(), finite)
def test_below_is_the_mirror_of_above(params: ThresholdParams, value: float) -> None:
    mirrored = ThresholdParams(
        metric="pm10",
        direction="below" if params.direction == "above" else "above",
        raise_at=-params.raise_at,
        clear_at=-params.clear_level,
    )
    assert threshold_verdict(params, value) == threshold_verdict(mirrored, -value)


def test_pm10_around_fifty_raises_once() -> None:
    params = ThresholdParams(metric="pm10", raise_at=50, clear_at=40)
    values = [45, 50, 51, 49, 50.5, 42, 50, 41, 39.9, 45, 55]
    assert run(params, values) == [
        False,
        False,
        True,
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        True,
    ]


@given(st.one_of(st.none(), st.sampled_from([0.0, 1.0])), st.lists(st.sampled_from([0.0, 1.0])))
def test_rising_edges_count_turns_to_true(before: float | None, values: list[float]) -> None:
    expected = sum(
        1
        for prev, value in zip([before, *values], values, strict=False)
        if value == 1 and prev != 1
    )
    assert rising_edges(before, values) == expected


# --- the rule index ------------------------------------------------------------------------------


def test_rules_are_indexed_by_kind_and_metric() -> None:
    lamp = make_rule(1, "state", {"metric": "lamp_failure"}, kinds=("streetlight",))
    pm10 = make_rule(2, "threshold", {"metric": "pm10", "raise_at": 50}, kinds=("sensor",))
    rules = RuleSet([lamp, pm10])
    light = FakeAsset(1)
    camera = FakeAsset(2, kind="camera")
    result = rules.evaluate(
        [
            change_of(light, values={"lamp_failure": 1.0, "power_w": 0.0}),
            change_of(camera, values={"lamp_failure": 1.0, "pm10": 90.0}),
            change_of(FakeAsset(3), values={"power_w": 40.0}),
        ]
    )
    assert [(f.asset.id, f.rule.id, f.raised, f.value) for f in result.findings] == [
        (1, 1, True, 1.0)
    ]
    assert rules.for_kind("camera").empty
    assert len(rules.for_kind("streetlight").metric_rules) == 1


def test_rules_without_kinds_watch_every_kind_and_scopes_narrow() -> None:
    anywhere = make_rule(1, "state", {"metric": "online", "equals": 0})
    east = make_rule(2, "state", {"metric": "online", "equals": 0}, communes=("21002",))
    one = make_rule(3, "state", {"metric": "online", "equals": 0}, asset_ids=(7,))
    rules = RuleSet([anywhere, east, one])
    changes = [
        change_of(FakeAsset(7, kind="camera", commune="21001"), values={"online": 0.0}),
        change_of(FakeAsset(8, kind="bollard", commune="21002"), values={"online": 1.0}),
    ]
    found = {(f.asset.id, f.rule.id, f.raised) for f in rules.evaluate(changes).findings}
    # (8 reports online for the first time: its first normal value is looked at once)
    assert found == {(7, 1, True), (7, 3, True), (8, 1, False), (8, 2, False)}


def test_disabled_and_deleted_rules_are_not_evaluated() -> None:
    off = make_rule(1, "state", {"metric": "fire"}, enabled=False)
    gone = make_rule(2, "state", {"metric": "fire"}, deleted_at=datetime(2026, 1, 1, tzinfo=UTC))
    rules = RuleSet([off, gone])
    assert len(rules) == 0
    assert rules.evaluate([change_of(FakeAsset(1), values={"fire": 1.0})]).findings == []
    assert set(rules.rules) == {1, 2}


def test_any_reading_clears_silence_and_events_decide_in_order() -> None:
    silent = make_rule(1, "heartbeat", {"interval_s": 60}, kinds=("camera",))
    door = make_rule(
        2, "state", {"code": "door_forced", "clear_code": "door_secured"}, kinds=("camera",)
    )
    count = make_rule(3, "count", {"code": "tamper", "count": 3, "window_s": 60})
    rules = RuleSet([silent, door, count])
    camera = FakeAsset(5, kind="camera")
    result = rules.evaluate(
        [change_of(camera, events=("door_forced", "tamper", "door_secured", "tamper"))]
    )
    assert [(f.rule.id, f.raised) for f in result.findings] == [(1, False), (2, False)]
    assert [(t.rule.id, t.asset.id) for t in result.counts] == [(3, 5)]  # once per batch


def test_count_of_a_metric_triggers_on_a_rising_edge_only() -> None:
    doors = make_rule(1, "count", {"metric": "door_open", "count": 3, "window_s": 600})
    rules = RuleSet([doors])
    building = FakeAsset(9, kind="building")
    opened = change_of(building, values={"door_open": 1.0}, previous={"door_open": 0.0})
    again = change_of(building, values={"door_open": 1.0}, previous={"door_open": 1.0})
    first = change_of(building, values={"door_open": 1.0})
    assert len(rules.evaluate([opened, again, first]).counts) == 2


ZONE = {
    "type": "Polygon",
    "coordinates": [[[5.0, 47.3], [5.1, 47.3], [5.1, 47.4], [5.0, 47.4], [5.0, 47.3]]],
}


def test_geofence_judges_the_position() -> None:
    fence = make_rule(1, "geofence", {"zone": ZONE}, kinds=("vehicle",))
    rules = RuleSet([fence])
    van = FakeAsset(3, kind="vehicle")
    inside = {"position_lon": 5.05, "position_lat": 47.35}
    outside = {"position_lon": 5.25, "position_lat": 47.35}
    result = rules.evaluate(
        [
            change_of(van, values=inside),
            change_of(van, values=outside, previous=inside),
            change_of(van, values={"speed_kmh": 40.0}),
            change_of(van, values=inside, previous=outside),
            change_of(van, values=inside, previous=inside),
        ]
    )
    assert [f.raised for f in result.findings] == [False, True, False]


def test_correlation_index() -> None:
    lamp = make_rule(1, "state", {"metric": "lamp_failure"})
    silent = make_rule(2, "heartbeat", {"interval_s": 900}, kinds=("streetlight",))
    supply = make_rule(3, "state", {"metric": "supply_loss"}, suppresses=(1, 2))
    rules = RuleSet([lamp, silent, supply])
    assert rules.suppressors == {1: (3,), 2: (3,)}
    assert rules.suppressing == frozenset({3})


def test_condition_from_twin() -> None:
    pm10 = make_rule(1, "threshold", {"metric": "pm10", "raise_at": 50, "clear_at": 40})
    assert condition_from_twin(pm10, {"pm10": 45}, None, 0) is True  # in the band: still on
    assert condition_from_twin(pm10, {"pm10": 45}, None, 0, active=False) is False
    assert condition_from_twin(pm10, {"pm10": 30}, None, 0) is False
    assert condition_from_twin(pm10, {}, None, 0) is None
    silent = make_rule(2, "heartbeat", {"interval_s": 60, "missed": 2})
    assert condition_from_twin(silent, {}, 1_000, 200_000) is True
    assert condition_from_twin(silent, {}, 190_000, 200_000) is False
    fence = make_rule(3, "geofence", {"zone": ZONE})
    assert condition_from_twin(fence, {"position_lon": 6, "position_lat": 47.35}, 0, 0) is True
    event = make_rule(4, "state", {"code": "door_forced"})
    assert condition_from_twin(event, {}, 0, 0) is None


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(1, 20), st.sampled_from([0.0, 1.0])), max_size=200))
def test_a_fault_is_always_reported_and_its_end_only_at_the_edge(
    readings: list[tuple[int, float]],
) -> None:
    """Every reading of a fault makes a finding (the alarm must exist); a normal reading makes
    one only when the asset's previous value was not normal already (only then can an alarm be
    open), so steady normal traffic costs nothing downstream."""
    lamp = make_rule(1, "state", {"metric": "lamp_failure"}, kinds=("streetlight",))
    twin: dict[int, float] = {}
    changes = []
    for asset_id, value in readings:
        previous = {"lamp_failure": twin[asset_id]} if asset_id in twin else {}
        changes.append(
            change_of(FakeAsset(asset_id), values={"lamp_failure": value}, previous=previous)
        )
        twin[asset_id] = value
    findings = RuleSet([lamp]).evaluate(changes).findings
    expected = [
        (asset.id, values["lamp_failure"] == 1.0)
        for asset, _ts, values, previous, *_ in changes
        if values["lamp_failure"] == 1.0 or previous.get("lamp_failure") != 0.0
    ]
    assert [(f.asset.id, f.raised) for f in findings] == expected


def test_threshold_ends_are_reported_when_leaving_the_band_or_above() -> None:
    pm10 = make_rule(1, "threshold", {"metric": "pm10", "raise_at": 50, "clear_at": 40})
    rules = RuleSet([pm10])
    sensor = FakeAsset(1, kind="sensor")

    def found(value: float, before: float | None) -> list[bool]:
        previous = {} if before is None else {"pm10": before}
        change = change_of(sensor, values={"pm10": value}, previous=previous)
        return [f.raised for f in rules.evaluate([change]).findings]

    assert found(60, 60) == [True]
    assert found(45, 60) == []  # in the band: nothing changes
    assert found(30, 45) == [False]  # out of the band from inside it: the edge
    assert found(30, 60) == [False]
    assert found(30, 35) == []  # normal and normal before: nothing to clear
    assert found(30, None) == [False]  # first value seen: look once


def test_heartbeat_ends_are_reported_after_a_silence_only() -> None:
    silent = make_rule(1, "heartbeat", {"interval_s": 60, "missed": 2})  # 120 s timeout
    rules = RuleSet([silent])
    camera = FakeAsset(4, kind="camera")

    def found(ts_s: int) -> int:
        return len(rules.evaluate([change_of(camera, ts_ms=ts_s * 1000)]).findings)

    assert [found(t) for t in (1000, 1030, 1059, 1200, 1210, 1205)] == [1, 0, 0, 1, 0, 0]
    assert found(900_000) == 1  # asset ids beyond the array grow it


# --- rule definitions ----------------------------------------------------------------------------


def spec(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "PM10 high",
        "type": "threshold",
        "severity": "warning",
        "params": {"metric": "pm10", "raise_at": 50, "clear_at": 40},
    }
    base.update(changes)
    return base


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        parse_rule_spec(data)
    assert refused.value.code == "invalid_rule"
    return sorted(p["loc"] for p in refused.value.details)


def test_a_valid_rule_parses() -> None:
    parsed, params = parse_rule_spec(spec(scope={"kinds": ["sensor"]}, hold_s=30))
    assert isinstance(params, ThresholdParams)
    assert params.clear_level == 40
    assert parsed.flap_window_s == 300
    assert parsed.enabled
    assert parsed.scope.kinds == ["sensor"]


@pytest.mark.parametrize(
    ("data", "locs"),
    [
        ({"type": "threshold"}, ["name", "params", "severity"]),
        (spec(severity="catastrophic", code="No Spaces"), ["code", "severity"]),
        (spec(params={"metric": "pm10", "raise_at": 50, "clear_at": 60}), ["params"]),
        (spec(params={"metric": "pm10", "raise_at": "lots"}), ["params.raise_at"]),
        (spec(params={"metric": "pm10", "raise_at": 50, "extra": 1}), ["params.extra"]),
        (spec(type="state", params={"metric": "fire", "code": "fire"}), ["params"]),
        (spec(type="state", params={"code": "x", "equals": 1}), ["params"]),
        (spec(type="heartbeat", params={"interval_s": 5}), ["params.interval_s"]),
        (spec(type="heartbeat", params={"interval_s": 60}), ["scope.kinds"]),
        (
            spec(type="count", params={"code": "door_open", "count": 1, "window_s": 60}),
            ["params.count"],
        ),
        (spec(type="state", params={"code": "door_forced"}, hold_s=10), ["hold_s"]),
        (
            spec(type="geofence", params={"zone": {"type": "Polygon", "coordinates": []}}),
            ["params.zone"],
        ),
        (
            spec(
                type="geofence",
                params={
                    "zone": {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [0, 1], [0, 0]]]}
                },
            ),
            ["params.zone"],
        ),
        (
            spec(
                type="geofence",
                params={
                    "zone": {
                        "type": "Polygon",
                        "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],  # a bow tie
                    }
                },
            ),
            ["params.zone"],
        ),
    ],
)
def test_invalid_rules_name_each_field(data: dict[str, Any], locs: list[str]) -> None:
    assert problems(data) == locs


def test_alarm_lifecycle_guards() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    alarm = Alarm(
        id=1,
        rule_id=1,
        rule_name="r",
        asset_id=1,
        asset_ref="SL-1",
        kind="streetlight",
        commune="21231",
        maintainer_id=None,
        severity=Severity.MINOR,
        state=AlarmState.ACTIVE,
        raised_at=now,
    )
    alarm.check_acknowledge()
    alarm.check_clear()
    alarm.state = AlarmState.ACKNOWLEDGED
    with pytest.raises(Conflict):
        alarm.check_acknowledge()
    alarm.check_clear()
    alarm.state = AlarmState.CLEARED
    with pytest.raises(Conflict):
        alarm.check_clear()
    with pytest.raises(Conflict) as refused:
        alarm.check_acknowledge()
    assert refused.value.code == "alarm_cleared"
