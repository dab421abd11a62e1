"""Lighting energy against hand-computed fixtures: the expected dusk and dawn come from astral's own
sunset and sunrise at the lamp, the dimming integral is worked out by hand in each test. No database.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral import sun as astral_sun

from metropilot.contracts.energy import (
    DimmingProgram,
    EnergyModel,
    Lamp,
    NightDefinition,
    Plan,
    Tariff,
    burning_intervals,
    energy,
    level_at,
    money_and_carbon,
    saving_pct,
    target_trajectory,
    what_if,
)
from metropilot.shared.errors import InvalidInput

PARIS = ZoneInfo("Europe/Paris")
LON, LAT = 5.04, 47.32  # Dijon; on the 0.01° grid, so the model's cell is the lamp itself
OBSERVER = Observer(latitude=LAT, longitude=LON)

STANDARD = DimmingProgram.from_dict(
    {
        "name": "standard",
        "steps": [
            {"from": "dusk", "to": "23:00", "level": 100},
            {"from": "23:00", "to": "05:00", "level": 50},
            {"from": "05:00", "to": "dawn", "level": 100},
        ],
    }
)
LIGHTS_OFF = DimmingProgram.from_dict(
    {
        "name": "off 01-05",
        "steps": [
            {"from": "dusk", "to": "01:00", "level": 100},
            {"from": "01:00", "to": "05:00", "level": 0},
            {"from": "05:00", "to": "dawn", "level": 100},
        ],
    }
)
ALL_NIGHT = DimmingProgram.from_dict(
    {"name": "full", "steps": [{"from": "dusk", "to": "dawn", "level": 100}]}
)


def lamp(program: DimmingProgram = STANDARD, **changes: Any) -> Lamp:
    facts: dict[str, Any] = {
        "ref": "L1",
        "lon": LON,
        "lat": LAT,
        "power_w": 50.0,
        "baseline_power_w": 150.0,
        "program": program,
        "technology": "led",
        "commune": "21231",
    }
    facts.update(changes)
    return Lamp(**facts)


def at(y: int, m: int, d: int, h: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=PARIS)


def hours(a: datetime, b: datetime) -> float:
    """Real elapsed hours (subtracting aware datetimes of one zone would give wall-clock hours)."""
    return (b.timestamp() - a.timestamp()) / 3600


def night(day: date) -> tuple[datetime, datetime]:
    """Astral's sunset on ``day`` and sunrise the next morning, at the lamp."""
    return (
        astral_sun.sunset(OBSERVER, day, tzinfo=PARIS),
        astral_sun.sunrise(OBSERVER, day + timedelta(days=1), tzinfo=PARIS),
    )


def test_one_night_with_the_standard_program() -> None:
    dusk, dawn = night(date(2026, 1, 15))
    # ∫ level = (23:00 − dusk) × 100% + 6 h × 50% + (dawn − 05:00) × 100%
    level_h = hours(dusk, at(2026, 1, 15, 23)) + 6 * 0.5 + hours(at(2026, 1, 16, 5), dawn)
    night_h = hours(dusk, dawn)  # about 15.3 h in mid-January

    figures = energy(lamp(), at(2026, 1, 15, 12), at(2026, 1, 16, 12))

    assert 15 < night_h < 16
    assert figures.burning_hours == pytest.approx(night_h, abs=1e-6)
    assert figures.current_kwh == pytest.approx(50 * level_h / 1000, abs=1e-6)
    assert figures.baseline_kwh == pytest.approx(150 * night_h / 1000, abs=1e-6)
    # e.g. 50 W × (15.3 − 3) h = 0.615 kWh against 150 W × 15.3 h = 2.295 kWh: 73% saved
    saved = 100 * (150 * night_h - 50 * level_h) / (150 * night_h)
    assert saving_pct(figures.baseline_kwh, figures.current_kwh) == pytest.approx(saved, abs=1e-6)


def test_burning_intervals_are_astral_sunset_to_next_sunrise() -> None:
    nights = burning_intervals(LON, LAT, date(2026, 1, 15), date(2026, 1, 16))
    assert len(nights) == 2
    for (dusk, dawn), day in zip(nights, (date(2026, 1, 15), date(2026, 1, 16)), strict=True):
        expected_dusk, expected_dawn = night(day)
        assert abs((dusk - expected_dusk).total_seconds()) < 1e-3
        assert abs((dawn - expected_dawn).total_seconds()) < 1e-3
        assert dusk.tzinfo is not None


def test_civil_twilight_nights_are_longer() -> None:
    sunset_night = burning_intervals(LON, LAT, date(2026, 6, 21), date(2026, 6, 21))[0]
    civil_night = burning_intervals(
        LON, LAT, date(2026, 6, 21), date(2026, 6, 21), definition=NightDefinition.CIVIL_TWILIGHT
    )[0]
    assert civil_night[0] > sunset_night[0]  # dusk later
    assert civil_night[1] < sunset_night[1]  # dawn earlier


def test_spring_change_makes_the_23_to_05_window_five_hours() -> None:
    # 29 March 2026 at 02:00 CET the clocks jump to 03:00 CEST:
    # 23:00 CET = 22:00 UTC, 05:00 CEST = 03:00 UTC → 5 h of real time at 50%.
    day = date(2026, 3, 28)
    dusk, dawn = night(day)
    assert hours(at(2026, 3, 28, 23), at(2026, 3, 29, 5)) == 5
    level_h = hours(dusk, at(2026, 3, 28, 23)) + 5 * 0.5 + hours(at(2026, 3, 29, 5), dawn)

    figures = energy(lamp(), at(2026, 3, 28, 12), at(2026, 3, 29, 12))

    assert figures.current_kwh == pytest.approx(50 * level_h / 1000, abs=1e-6)
    assert figures.burning_hours == pytest.approx(hours(dusk, dawn), abs=1e-6)
    # With the lights off 01:00–05:00 local, they are off 01:00 CET → 05:00 CEST = 3 h.
    off = energy(lamp(LIGHTS_OFF), at(2026, 3, 28, 12), at(2026, 3, 29, 12))
    assert off.burning_hours == pytest.approx(hours(dusk, dawn) - 3, abs=1e-6)


def test_autumn_change_makes_the_23_to_05_window_seven_hours() -> None:
    # 25 October 2026 at 03:00 CEST the clocks go back to 02:00 CET:
    # 23:00 CEST = 21:00 UTC, 05:00 CET = 04:00 UTC → 7 h of real time at 50%.
    day = date(2026, 10, 24)
    dusk, dawn = night(day)
    assert hours(at(2026, 10, 24, 23), at(2026, 10, 25, 5)) == 7
    level_h = hours(dusk, at(2026, 10, 24, 23)) + 7 * 0.5 + hours(at(2026, 10, 25, 5), dawn)

    figures = energy(lamp(), at(2026, 10, 24, 12), at(2026, 10, 25, 12))

    assert figures.current_kwh == pytest.approx(50 * level_h / 1000, abs=1e-6)
    assert figures.baseline_kwh == pytest.approx(150 * hours(dusk, dawn) / 1000, abs=1e-6)


def test_lights_off_from_one_to_five() -> None:
    dusk, dawn = night(date(2026, 1, 15))
    # 100% dusk → 01:00, 0% for 4 h, 100% 05:00 → dawn: lit = night − 4 h
    lit_h = hours(dusk, dawn) - 4
    figures = energy(lamp(LIGHTS_OFF), at(2026, 1, 15, 12), at(2026, 1, 16, 12))
    assert figures.burning_hours == pytest.approx(lit_h, abs=1e-6)
    assert figures.current_kwh == pytest.approx(50 * lit_h / 1000, abs=1e-6)
    # the old lamps burned all night: the 4 dark hours count as saved
    assert figures.baseline_kwh == pytest.approx(150 * hours(dusk, dawn) / 1000, abs=1e-6)


def test_leap_february_counts_29_nights_split_at_the_month_bounds() -> None:
    first, last = date(2024, 2, 1), date(2024, 2, 29)
    nights = burning_intervals(LON, LAT, first, last)
    assert len(nights) == 29
    assert nights[-1][0].date() == date(2024, 2, 29)
    # February = end of the night of 31 Jan (00:00 → sunrise 1 Feb)
    #          + 28 whole nights 1 Feb … 28 Feb
    #          + start of the night of 29 Feb (sunset → 00:00 on 1 March)
    whole = sum(hours(*night(date(2024, 2, d))) for d in range(1, 29))
    head = hours(at(2024, 2, 1), night(date(2024, 1, 31))[1])
    tail = hours(night(date(2024, 2, 29))[0], at(2024, 3, 1))
    expected_h = head + whole + tail

    figures = energy(lamp(ALL_NIGHT), at(2024, 2, 1), at(2024, 3, 1))

    assert figures.burning_hours == pytest.approx(expected_h, abs=1e-6)
    assert figures.current_kwh == pytest.approx(50 * expected_h / 1000, abs=1e-6)
    assert 390 < expected_h < 410  # ~13.7 h a night in February


def test_a_night_across_a_period_boundary_is_split() -> None:
    the_lamp = lamp()
    before = energy(the_lamp, at(2026, 1, 15, 12), at(2026, 1, 16))
    after = energy(the_lamp, at(2026, 1, 16), at(2026, 1, 16, 12))
    whole = energy(the_lamp, at(2026, 1, 15, 12), at(2026, 1, 16, 12))
    dusk, dawn = night(date(2026, 1, 15))
    # before midnight: 100% dusk → 23:00 then 1 h at 50%; after: 5 h at 50% then 100% to dawn
    assert before.current_kwh == pytest.approx(50 * (hours(dusk, at(2026, 1, 15, 23)) + 0.5) / 1000)
    assert after.current_kwh == pytest.approx(50 * (2.5 + hours(at(2026, 1, 16, 5), dawn)) / 1000)
    assert before.current_kwh + after.current_kwh == pytest.approx(whole.current_kwh)
    assert before.burning_hours + after.burning_hours == pytest.approx(whole.burning_hours)


def test_a_failure_across_a_period_boundary_is_charged_to_each_side() -> None:
    failed = lamp(failures=((at(2026, 1, 31, 22), at(2026, 2, 1, 3)),))
    healthy = lamp()
    january, february = (at(2026, 1, 1), at(2026, 2, 1)), (at(2026, 2, 1), at(2026, 3, 1))
    model = EnergyModel()

    jan_lost = [
        a - b
        for a, b in zip(
            vars_of(model.energy(healthy, *january)),
            vars_of(model.energy(failed, *january)),
            strict=True,
        )
    ]
    feb_lost = [
        a - b
        for a, b in zip(
            vars_of(model.energy(healthy, *february)),
            vars_of(model.energy(failed, *february)),
            strict=True,
        )
    ]
    # January loses 22:00–23:00 at 100% and 23:00–24:00 at 50%: 1.5 level-hours × 50 W
    # = 0.075 kWh; 2 h of baseline × 150 W = 0.3 kWh; 2 burning hours.
    assert jan_lost == pytest.approx([0.075, 0.3, 2.0])
    # February loses 00:00–03:00 at 50%: 1.5 level-hours → 0.075 kWh; 3 h × 150 W = 0.45 kWh.
    assert feb_lost == pytest.approx([0.075, 0.45, 3.0])


def vars_of(figures: Any) -> list[float]:
    return [figures.current_kwh, figures.baseline_kwh, figures.burning_hours]


def test_overlapping_failures_are_not_counted_twice() -> None:
    one = lamp(failures=((at(2026, 1, 15, 20), at(2026, 1, 15, 22)),))
    overlapping = lamp(
        failures=(
            (at(2026, 1, 15, 20), at(2026, 1, 15, 21, 30)),
            (at(2026, 1, 15, 21), at(2026, 1, 15, 22)),
        )
    )
    period = (at(2026, 1, 15, 12), at(2026, 1, 16, 12))
    assert energy(one, *period) == energy(overlapping, *period)


def test_money_carbon_saving_and_target() -> None:
    money = money_and_carbon(1000.0, 0.18, 0.052)
    assert money.eur == pytest.approx(180.0)  # 1000 kWh × 0.18 €/kWh
    assert money.co2_kg == pytest.approx(52.0)  # 1000 kWh × 0.052 kg/kWh
    assert saving_pct(100.0, 35.0) == pytest.approx(65.0)  # (100 − 35) / 100
    # 2026 → 2037 (12 years): 0% in 2026, 65% in 2037, 65 × 5 / 11 in 2031
    assert target_trajectory(2026, 2037, 65.0, 2026) == 0.0
    assert target_trajectory(2026, 2037, 65.0, 2031) == pytest.approx(65 * 5 / 11)
    assert target_trajectory(2026, 2037, 65.0, 2037) == pytest.approx(65.0)
    assert target_trajectory(2026, 2037, 65.0, 2040) == pytest.approx(65.0)
    with pytest.raises(InvalidInput):
        saving_pct(0.0, 0.0)
    with pytest.raises(InvalidInput):
        target_trajectory(2026, 2026, 65.0, 2026)


def test_what_if_lights_off_in_one_commune_and_a_conversion() -> None:
    dusk, dawn = night(date(2026, 1, 15))
    night_h = hours(dusk, dawn)
    standard_h = night_h - 3  # 6 h at 50% lose 3 level-hours
    lamps = [lamp(ref="A", commune="21231"), lamp(ref="B", commune="21054")]
    plan = Plan(programs_by_commune={"21231": LIGHTS_OFF}, power_w_by_lamp={"B": 30.0})
    result = what_if(
        lamps, plan, at(2026, 1, 15, 12), at(2026, 1, 16, 12), Tariff(0.20, 0.05), EnergyModel()
    )
    # now: 2 × 50 W × standard_h; then: A 50 W × (night − 4 h), B 30 W × standard_h
    current = 2 * 50 * standard_h / 1000
    candidate = (50 * (night_h - 4) + 30 * standard_h) / 1000
    assert result.current.kwh == pytest.approx(current)
    assert result.candidate.kwh == pytest.approx(candidate)
    assert result.current.eur == pytest.approx(current * 0.20)
    assert result.candidate.co2_kg == pytest.approx(candidate * 0.05)
    assert result.kwh_saved == pytest.approx(current - candidate)
    assert result.baseline_kwh == pytest.approx(2 * 150 * night_h / 1000)


def test_program_round_trips_and_steps_may_be_empty_on_short_nights() -> None:
    assert DimmingProgram.from_dict(STANDARD.to_dict()) == STANDARD
    # Midsummer: sunset ~21:50, so a step starting at 21:00 begins before dusk and holds at dusk;
    # the dusk → 21:00 step is empty and the whole night burns at 50%.
    early = DimmingProgram.from_dict(
        {
            "name": "early",
            "steps": [
                {"from": "dusk", "to": "21:00", "level": 100},
                {"from": "21:00", "to": "dawn", "level": 50},
            ],
        }
    )
    dusk, dawn = night(date(2026, 6, 21))
    assert dusk.hour >= 21
    figures = energy(lamp(early), at(2026, 6, 21, 12), at(2026, 6, 22, 12))
    assert figures.current_kwh == pytest.approx(50 * 0.5 * hours(dusk, dawn) / 1000)


@pytest.mark.parametrize(
    ("steps", "loc", "fragment"),
    [
        ([], "steps", "non-empty"),
        ([{"from": "22:00", "to": "dawn", "level": 100}], "steps[0].from", "dusk"),
        ([{"from": "dusk", "to": "23:00", "level": 100}], "steps[0].to", "dawn"),
        ([{"from": "dusk", "to": "dawn", "level": 150}], "steps[0].level", "0–100"),
        ([{"from": "dusk", "to": "dawn", "level": True}], "steps[0].level", "0–100"),
        ([{"from": "dusk", "to": "25:00", "level": 100}], "steps[0].to", "HH:MM"),
        (
            [
                {"from": "dusk", "to": "23:00", "level": 100},
                {"from": "23:30", "to": "dawn", "level": 50},
            ],
            "steps[1].from",
            "'23:00'",
        ),
        (
            [
                {"from": "dusk", "to": "05:00", "level": 100},
                {"from": "05:00", "to": "23:00", "level": 50},
                {"from": "23:00", "to": "dawn", "level": 100},
            ],
            "steps",
            "23:00 must come after 05:00",
        ),
        (
            [
                {"from": "dusk", "to": "dawn", "level": 100},
                {"from": "dawn", "to": "dawn", "level": 100},
            ],
            "steps[1].from",
            "only the first step",
        ),
    ],
)
def test_invalid_programs_say_precisely_what_is_wrong(
    steps: list[dict[str, Any]], loc: str, fragment: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        DimmingProgram.from_dict({"name": "bad", "steps": steps})
    problems = caught.value.details
    assert any(p["loc"] == loc and fragment in p["message"] for p in problems), problems


def test_invalid_lamps_and_periods_are_refused() -> None:
    with pytest.raises(InvalidInput):
        lamp(power_w=-1.0)
    with pytest.raises(InvalidInput):
        lamp(failures=((at(2026, 1, 2), at(2026, 1, 1)),))
    with pytest.raises(InvalidInput):
        energy(lamp(), datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(InvalidInput):
        energy(lamp(), at(2026, 1, 2), at(2026, 1, 1))
    with pytest.raises(InvalidInput):
        burning_intervals(LON, LAT, date(2026, 1, 2), date(2026, 1, 1), tz="Nowhere/City")


@pytest.mark.parametrize("program", [STANDARD, LIGHTS_OFF, ALL_NIGHT], ids=lambda p: p.name)
def test_the_hours_of_a_cell_give_each_of_its_lamps_energy(program: DimmingProgram) -> None:
    """What the services sum many lamps with: one look-up per cell and program, times each
    lamp's power, equals each lamp's own figures (lamps 300 m apart share the 0.01° cell)."""
    model = EnergyModel()
    start, end = at(2026, 3, 1), at(2026, 4, 1)  # across the spring clock change
    night_h, level_h, lit_h = model.hours(LON + 0.003, LAT, program, start, end)
    assert model.cell(LON + 0.003, LAT) == model.cell(LON, LAT)
    for power, baseline in ((50.0, 150.0), (18.5, 70.0)):
        own = model.energy(lamp(program, power_w=power, baseline_power_w=baseline), start, end)
        assert own.current_kwh == pytest.approx(power * level_h / 1000, rel=1e-12)
        assert own.baseline_kwh == pytest.approx(baseline * night_h / 1000, rel=1e-12)
        assert own.burning_hours == pytest.approx(lit_h, rel=1e-12)
        assert own.scheduled_hours == own.burning_hours  # no failure


def test_the_level_a_program_asks_for_at_an_instant() -> None:
    # The night of 15 January in Dijon: dusk about 17:15, dawn about 08:15 (Paris time).
    assert lamp().program is STANDARD
    assert level_at(STANDARD, LON, LAT, at(2026, 1, 15, 12, 0)) is None  # daytime: off
    assert level_at(STANDARD, LON, LAT, at(2026, 1, 15, 20, 0)) == 100.0
    assert level_at(STANDARD, LON, LAT, at(2026, 1, 15, 23, 30)) == 50.0
    assert level_at(STANDARD, LON, LAT, at(2026, 1, 16, 2, 0)) == 50.0  # after midnight
    assert level_at(STANDARD, LON, LAT, at(2026, 1, 16, 6, 0)) == 100.0
    assert level_at(LIGHTS_OFF, LON, LAT, at(2026, 1, 16, 3, 0)) == 0.0
    assert level_at(ALL_NIGHT, LON, LAT, at(2026, 6, 21, 23, 0)) == 100.0
