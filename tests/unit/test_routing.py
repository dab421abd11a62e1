"""Routing rules: validation, the first matching enabled rule (checked by brute force), the
explanation, and local time (midnight windows, daylight saving). No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metropilot.cases.routing import (
    DEFAULT_QUEUE_TEAM,
    CaseFacts,
    Criterion,
    RoutingRule,
    explain,
    parse_routing_rule,
    route,
)
from metropilot.shared.errors import InvalidInput

PARIS = ZoneInfo("Europe/Paris")
LIGHT = CaseFacts(category="streetlight_out", asset_kind="streetlight", commune_insee="21231")


def rule(order: int = 1, **spec: Any) -> RoutingRule:
    return parse_routing_rule({"order": order, "name": f"rule {order}", "team": "crew-a", **spec})


def paris(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "where", "says"),
    [
        ({"communes": ["2123"]}, "communes", "not an INSEE commune code"),
        ({"time_windows": [{"start": "25:00", "end": "06:00"}]}, "time_windows.0.start", "HH:MM"),
        ({"time_windows": ["20:00-20:00"]}, "time_windows.0", "empty or the whole day"),
        ({"time_windows": ["20:00"]}, "time_windows", "write 20:00-06:00"),
        ({"days": ["funday"]}, "days", "not a day; use mon, tue"),
        ({"team": "Crew A"}, "team", "not a team code"),
        ({"categories": ["Street Light"]}, "categories", "not a code"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"order": -1}, "order", "greater than or equal to 0"),
    ],
)
def test_invalid_specs_say_where_and_why(spec: dict[str, Any], where: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rule(**spec)
    assert caught.value.code == "invalid_routing_rule"
    problems = caught.value.details
    assert any(p["loc"] == where and says in p["message"] for p in problems), problems


def test_a_missing_name_and_team_are_both_reported() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_routing_rule({"order": 1})
    assert {p["loc"] for p in caught.value.details} == {"name", "team"}


def test_specs_are_normalised_and_round_trip() -> None:
    parsed = rule(
        days=["Friday", "mon", "fri"],
        time_windows=["20:00–06:00", {"start": "12:00", "end": "24:00"}],
        communes=["21231", "21231", "2A004"],
    )
    assert parsed.days == ("mon", "fri")
    assert parsed.communes == ("21231", "2A004")
    assert parsed.time_windows[0].spans_midnight
    assert parse_routing_rule(parsed.spec_dict()) == parsed
    assert parse_routing_rule(parsed.spec_dict(), rule_id=5).id == 5


# --- local time ---------------------------------------------------------------------------------


def test_a_window_spanning_midnight() -> None:
    night = [rule(time_windows=["20:00-06:00"])]
    assert route(night, LIGHT, paris(2026, 3, 4, 23, 30)).team == "crew-a"
    assert route(night, LIGHT, paris(2026, 3, 4, 5, 0)).team == "crew-a"
    assert route(night, LIGHT, paris(2026, 3, 4, 6, 0)).team == DEFAULT_QUEUE_TEAM  # end excluded
    assert route(night, LIGHT, paris(2026, 3, 4, 20, 0)).team == "crew-a"  # start included
    noon = route(night, LIGHT, paris(2026, 3, 4, 12, 0))
    assert noon.default
    assert noon.team == DEFAULT_QUEUE_TEAM


def test_a_night_belongs_to_the_day_it_starts() -> None:
    friday_night = [rule(time_windows=["20:00-06:00"], days=["fri"])]
    # 2026-03-06 is a Friday.
    assert route(friday_night, LIGHT, paris(2026, 3, 6, 3, 0)).default  # Thursday's night
    assert route(friday_night, LIGHT, paris(2026, 3, 6, 21, 0)).team == "crew-a"
    assert route(friday_night, LIGHT, paris(2026, 3, 7, 3, 0)).team == "crew-a"  # Saturday 03:00
    assert route(friday_night, LIGHT, paris(2026, 3, 7, 21, 0)).default
    verdict = explain(friday_night, LIGHT, paris(2026, 3, 7, 21, 0)).verdicts[0]
    assert [f.criterion for f in verdict.failures] == [Criterion.DAYS]
    assert "window started on sat" in verdict.failures[0].message


def test_the_day_alone_is_the_local_calendar_day() -> None:
    weekend = [rule(days=["sat", "sun"])]
    # Friday 23:30 UTC is already Saturday 00:30 in Paris.
    assert route(weekend, LIGHT, datetime(2026, 3, 6, 23, 30, tzinfo=UTC)).team == "crew-a"
    assert route(weekend, LIGHT, datetime(2026, 3, 6, 22, 30, tzinfo=UTC)).default


@pytest.mark.parametrize(
    ("utc", "office_hours"),
    [
        # 2026-03-29: clocks go forward at 02:00 (UTC+1 → UTC+2).
        (datetime(2026, 3, 29, 6, 30, tzinfo=UTC), True),  # 08:30 CEST
        (datetime(2026, 3, 28, 6, 30, tzinfo=UTC), False),  # 07:30 CET, the day before
        (datetime(2026, 3, 29, 16, 30, tzinfo=UTC), False),  # 18:30 CEST
        # 2026-10-25: clocks go back at 03:00 (UTC+2 → UTC+1).
        (datetime(2026, 10, 25, 7, 30, tzinfo=UTC), True),  # 08:30 CET
        (datetime(2026, 10, 24, 6, 30, tzinfo=UTC), True),  # 08:30 CEST, the day before
        (datetime(2026, 10, 25, 6, 30, tzinfo=UTC), False),  # 07:30 CET
    ],
)
def test_windows_follow_the_paris_clock_across_daylight_saving(
    utc: datetime, office_hours: bool
) -> None:
    rules = [rule(time_windows=["08:00-18:00"])]
    assert (not route(rules, LIGHT, utc).default) is office_hours


def test_the_repeated_hour_of_autumn_matches_both_times() -> None:
    rules = [rule(time_windows=["02:00-03:00"])]
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = first + timedelta(hours=1)  # 02:30 CET
    assert not route(rules, LIGHT, first).default
    assert not route(rules, LIGHT, second).default


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        route([rule()], LIGHT, datetime(2026, 3, 4, 12, 0))
    assert caught.value.code == "naive_datetime"


# --- deciding and explaining --------------------------------------------------------------------


def test_explain_names_each_failing_criterion() -> None:
    rules = [
        rule(1, categories=["pothole"], communes=["21054"], enabled=False),
        rule(2, asset_kinds=["camera"], team="video-team"),
        rule(3, categories=["streetlight_out"], team="lighting-lot"),
        rule(4, team="catch-all"),
    ]
    explanation = explain(rules, LIGHT, paris(2026, 3, 4, 12, 0))
    assert explanation.decision.team == "lighting-lot"
    assert "category streetlight_out" in explanation.decision.reason
    first, second, third, fourth = explanation.verdicts
    assert [f.criterion for f in first.failures] == [
        Criterion.ENABLED,
        Criterion.CATEGORIES,
        Criterion.COMMUNES,
    ]
    assert "commune 21231, not one of 21054" in first.failures[2].message
    assert [f.criterion for f in second.failures] == [Criterion.ASSET_KINDS]
    assert (third.matches, third.chosen, third.failures) == (True, True, ())
    assert (fourth.matches, fourth.chosen) == (True, False)
    no_asset = explain(rules[1:2], CaseFacts(category="graffiti"), paris(2026, 3, 4, 12, 0))
    assert "the case has no asset" in no_asset.verdicts[0].failures[0].message
    assert no_asset.decision.default


def test_rules_are_tried_by_order_then_as_given() -> None:
    rules = [rule(5, team="later"), rule(2, team="first"), rule(2, team="second")]
    assert route(rules, LIGHT, paris(2026, 3, 4, 12, 0)).team == "first"
    assert route([], LIGHT, paris(2026, 3, 4, 12, 0), default_team="triage-desk").team == (
        "triage-desk"
    )


# --- brute force --------------------------------------------------------------------------------

CATEGORIES = ("streetlight_out", "pothole", "graffiti")
KINDS = ("streetlight", "camera")
COMMUNES = ("21231", "21054", "21166")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
hours = st.integers(min_value=0, max_value=23).map(lambda h: f"{h:02d}:00")


@st.composite
def rule_specs(draw: st.DrawFn) -> dict[str, Any]:
    windows = draw(st.lists(st.tuples(hours, hours).filter(lambda w: w[0] != w[1]), max_size=2))
    return {
        "order": draw(st.integers(min_value=0, max_value=5)),
        "name": "r",
        "team": draw(st.sampled_from(["crew-a", "crew-b", "crew-c"])),
        "enabled": draw(st.booleans()),
        "categories": draw(st.lists(st.sampled_from(CATEGORIES), max_size=2)),
        "asset_kinds": draw(st.lists(st.sampled_from(KINDS), max_size=1)),
        "communes": draw(st.lists(st.sampled_from(COMMUNES), max_size=2)),
        "days": draw(st.lists(st.sampled_from(DAY_NAMES), max_size=3)),
        "time_windows": [{"start": s, "end": e} for s, e in windows],
    }


facts = st.builds(
    CaseFacts,
    category=st.sampled_from(CATEGORIES),
    asset_kind=st.sampled_from([None, *KINDS]),
    commune_insee=st.sampled_from([None, *COMMUNES]),
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


def covers(spec: dict[str, Any], local: datetime) -> bool:
    """The time criteria, computed another way: each window is a stretch of wall-clock time
    starting on an allowed day (today or yesterday), and the local time falls inside it."""
    wall = local.replace(tzinfo=None)
    days = spec["days"] or DAY_NAMES
    if not spec["time_windows"]:
        return DAY_NAMES[wall.weekday()] in days
    for window in spec["time_windows"]:
        start_h, end_h = int(window["start"][:2]), int(window["end"][:2])
        length = timedelta(hours=(end_h - start_h) % 24)
        for back in (0, 1):
            day = (wall - timedelta(days=back)).replace(hour=start_h, minute=0, second=0)
            day = day.replace(microsecond=0)
            if DAY_NAMES[day.weekday()] in days and day <= wall < day + length:
                return True
    return False


def matches(spec: dict[str, Any], case: CaseFacts, local: datetime) -> bool:
    return (
        (not spec["categories"] or case.category in spec["categories"])
        and (not spec["asset_kinds"] or case.asset_kind in spec["asset_kinds"])
        and (not spec["communes"] or case.commune_insee in spec["communes"])
        and covers(spec, local)
    )


@settings(max_examples=400)
@given(st.lists(rule_specs(), max_size=6), facts, instants)
def test_the_decision_is_the_first_matching_enabled_rule(
    specs: list[dict[str, Any]], case: CaseFacts, at: datetime
) -> None:
    rules = [parse_routing_rule(spec, rule_id=n) for n, spec in enumerate(specs)]
    local = at.astimezone(PARIS)
    by_order = sorted(enumerate(specs), key=lambda pair: pair[1]["order"])
    expected = next(
        (n for n, spec in by_order if spec["enabled"] and matches(spec, case, local)), None
    )
    decision = route(rules, case, at)
    if expected is None:
        assert decision.rule is None
        assert decision.team == DEFAULT_QUEUE_TEAM
    else:
        assert decision.rule is not None
        assert decision.rule.id == expected
        assert decision.team == specs[expected]["team"]
        assert decision.rule.enabled  # a disabled rule is never chosen

    explanation = explain(rules, case, at)
    assert explanation.decision == decision
    chosen = [v for v in explanation.verdicts if v.chosen]
    assert len(chosen) == (0 if decision.rule is None else 1)
    for verdict in explanation.verdicts:
        spec = specs[verdict.rule.id or 0]
        assert verdict.matches is matches(spec, case, local)
        assert verdict.matches is not any(
            f.criterion is not Criterion.ENABLED for f in verdict.failures
        )
        assert (Criterion.ENABLED in {f.criterion for f in verdict.failures}) is not spec["enabled"]
        if verdict.chosen:
            break
        assert not (verdict.matches and verdict.rule.enabled)
