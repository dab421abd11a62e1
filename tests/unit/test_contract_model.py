"""The contract model: parsing from plain dicts with precise errors, periods in Paris time,
versioned amendments that never rewrite the past. No database."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from metropilot.contracts.model import (
    ClockKind,
    Direction,
    LotCode,
    PenaltyKind,
    Period,
    PeriodKind,
    SlaStage,
    Versioned,
    parse_contract,
    parse_period,
    parse_periods,
)
from metropilot.shared.errors import Conflict, InvalidInput

CONTRACT: dict[str, Any] = {
    "code": "MPE-2026",
    "parties": ["Métropole", "Consortium Lumière"],
    "start": "2026-01-01",
    "lots": [
        {
            "code": "lighting",
            "contractor": "lumen",
            "sla": [
                {
                    "targets": {
                        "P1": {"response_hours": 1, "resolution_hours": 4},
                        "P3": {"response_hours": 8, "resolution_hours": 40, "clock": "business"},
                    }
                }
            ],
            "kpis": [
                {
                    "code": "availability",
                    "name": "Lighting availability",
                    "unit": "%",
                    "period": "month",
                    "direction": "higher-is-better",
                    "versions": [
                        {"target": 98},
                        {"effective_from": "2026-07-01", "target": 99},
                    ],
                }
            ],
            "penalties": [
                {
                    "cap_eur": 10000,
                    "rules": [
                        {"code": "late", "kind": "delay", "eur_per_hour": 100, "cap_eur": 3000},
                        {
                            "code": "dark",
                            "kind": "shortfall",
                            "kpi": "availability",
                            "eur_per_point": 500,
                        },
                    ],
                    "bonuses": [{"code": "bright", "kpi": "availability", "eur_per_point": 200}],
                },
                {
                    "effective_from": "2027-01-01",
                    "cap_eur": 12000,
                    "rules": [
                        {
                            "code": "late",
                            "kind": "delay",
                            "eur_per_hour": 150,
                            "stage": "response",
                            "priorities": ["P1"],
                        }
                    ],
                },
            ],
        },
        {
            "code": "it",
            "contractor": "datacorp",
            "sla": [{"targets": {"P1": {"response_hours": 0.5, "resolution_hours": 2}}}],
            "kpis": [
                {
                    "code": "uptime",
                    "unit": "%",
                    "period": "quarter",
                    "direction": "higher-is-better",
                    "target": 99,
                }
            ],
        },
    ],
}


def test_parses_the_contract() -> None:
    contract = parse_contract(CONTRACT)
    assert contract.parties == ("Métropole", "Consortium Lumière")
    assert contract.term_years == 12
    assert contract.end == date(2038, 1, 1)  # 2026 + 12 years
    lighting = contract.lot("lighting")
    assert lighting.code is LotCode.LIGHTING
    assert lighting.contractor == "lumen"
    table = lighting.sla.value_as_of(date(2026, 5, 1))
    assert table.for_priority("P1").response == timedelta(hours=1)
    assert table.for_priority("P3").clock is ClockKind.BUSINESS
    assert table.for_priority("P3").resolution == timedelta(hours=40)
    kpi = lighting.kpis["availability"].value_as_of(date(2026, 1, 1))
    assert (kpi.period, kpi.direction, kpi.target) == (
        PeriodKind.MONTH,
        Direction.HIGHER_IS_BETTER,
        98.0,
    )
    schedule = lighting.penalties.value_as_of(date(2026, 12, 31))
    assert schedule.cap_eur == Decimal(10000)
    late, dark = schedule.rules
    assert (late.kind, late.eur_per_unit, late.stage, late.cap_eur) == (
        PenaltyKind.DELAY,
        Decimal(100),
        SlaStage.RESOLUTION,
        Decimal(3000),
    )
    assert late.applies_to("P4")  # no priorities listed: every priority
    assert (dark.kind, dark.kpi) == (PenaltyKind.SHORTFALL, "availability")
    assert schedule.bonuses[0].eur_per_point == Decimal(200)
    it = contract.lot("it")
    assert it.penalties.current.rules == ()  # no penalties declared
    assert it.kpis["uptime"].current.name == "uptime"  # the name defaults to the code


def test_amendments_apply_from_their_date_and_never_reach_back() -> None:
    lighting = parse_contract(CONTRACT).lot("lighting")
    targets = {
        p.label: lighting.kpis_for(p)["availability"].target
        for p in Period.whole_year(2026).months()
    }
    assert targets == {f"2026-{m:02d}": (98.0 if m < 7 else 99.0) for m in range(1, 13)}
    # 2027: the penalty schedule's amendment takes over.
    rule = lighting.penalties.for_period(Period.month(2027, 1)).rules[0]
    assert (rule.eur_per_unit, rule.stage, rule.priorities) == (
        Decimal(150),
        SlaStage.RESPONSE,
        frozenset({"P1"}),
    )
    assert lighting.penalties.for_period(Period.month(2026, 12)).rules[0].eur_per_unit == 100


def test_an_amendment_must_take_effect_after_every_version() -> None:
    versions = Versioned.single(date(2026, 1, 1), 98.0).amended(date(2026, 7, 1), 99.0)
    assert versions.value_as_of(date(2026, 6, 30)) == 98.0
    assert versions.value_as_of(date(2026, 7, 1)) == 99.0
    with pytest.raises(Conflict, match="rewrite"):
        versions.amended(date(2026, 3, 1), 97.0)
    with pytest.raises(Conflict):
        versions.amended(date(2026, 7, 1), 97.0)
    with pytest.raises(InvalidInput, match="nothing was in force on 2025-12-31"):
        versions.value_as_of(date(2025, 12, 31))


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(CONTRACT)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["lots", 0, "contractor"], KeyError, "lots[0].contractor: is required"),
        (["lots", 0, "code"], "water", "lots[0].code: 'water' is not one of lighting"),
        (["parties"], ["alone"], "parties: a contract needs at least two parties"),
        (["start"], "2026-02-30", "start: must be a date YYYY-MM-DD"),
        (["term_years"], 0, "term_years: must be a positive whole number"),
        (
            ["lots", 0, "sla", 0, "targets", "P9"],
            {"response_hours": 1, "resolution_hours": 2},
            "lots[0].sla[0].targets.P9: 'P9' is not a priority",
        ),
        (
            ["lots", 0, "sla", 0, "targets", "P1", "resolution_hours"],
            0.5,
            "lots[0].sla[0].targets.P1.resolution_hours: must not be shorter than response_hours",
        ),
        (
            ["lots", 0, "sla", 0, "targets", "P1", "clock"],
            "lunar",
            "lots[0].sla[0].targets.P1.clock: 'lunar' is not one of calendar, business",
        ),
        (
            ["lots", 0, "kpis", 0, "versions", 1, "effective_from"],
            "2025-12-01",
            "lots[0].kpis[0].versions[1].effective_from: 2025-12-01 is not after the previous",
        ),
        (
            ["lots", 0, "kpis", 0, "versions", 0, "effective_from"],
            "2026-02-01",
            "lots[0].kpis[0].versions[0].effective_from: the first version must be in force",
        ),
        (
            ["lots", 0, "kpis", 0, "versions", 1, "target"],
            "high",
            "lots[0].kpis[0].versions[1].target: must be a number",
        ),
        (
            ["lots", 0, "kpis", 0, "direction"],
            "up",
            "lots[0].kpis[0].direction: 'up' is not one of higher-is-better, lower-is-better",
        ),
        (
            ["lots", 0, "penalties", 0, "rules", 1, "kpi"],
            "energy",
            "lots[0].penalties[0].rules[1].kpi: the lot defines no KPI 'energy'",
        ),
        (
            ["lots", 0, "penalties", 0, "rules", 0, "eur_per_hour"],
            -5,
            "lots[0].penalties[0].rules[0].eur_per_hour: must be a finite amount, zero or more",
        ),
        (
            ["lots", 0, "penalties", 0, "rules", 1, "code"],
            "late",
            "lots[0].penalties[0].rules[1].code: 'late' appears twice",
        ),
        (
            ["lots", 1, "code"],
            "lighting",
            "lots[1].code: the lot 'lighting' appears twice",
        ),
    ],
)
def test_parse_errors_are_precise(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_contract(_broken(path, value))
    assert caught.value.message.startswith(message)
    assert caught.value.details[0]["loc"] == message.split(":")[0]


def test_unknown_lot_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no lot 'video'"):
        parse_contract(CONTRACT).lot("video")


# --- periods --------------------------------------------------------------------------------


def test_periods_parse_and_bound_in_paris_time() -> None:
    march = parse_period("2026-03")
    assert march == Period.month(2026, 3)
    # Paris is UTC+1 in winter and UTC+2 in summer: March starts at 23:00 UTC on 28 February
    # and ends at 22:00 UTC on 31 March, so it lasts 31 × 24 − 1 = 743 hours.
    assert march.start == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert march.end == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert march.duration == timedelta(hours=31 * 24 - 1)
    q2 = parse_period("2026-q2")
    assert (q2.label, q2.first_day, q2.last_day) == ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30))
    assert [m.label for m in q2.months()] == ["2026-04", "2026-05", "2026-06"]
    year = parse_period(" 2028 ")
    assert year.duration == timedelta(days=366)  # leap year; both clock changes cancel out
    assert parse_period("2028-02").duration == timedelta(days=29)
    assert Period.quarter(2026, 4).next() == Period.quarter(2027, 1)
    assert march.contains(datetime(2026, 3, 31, 21, 30, tzinfo=UTC))  # 23:30 Paris
    assert not march.contains(datetime(2026, 3, 31, 22, tzinfo=UTC))  # 1 April 00:00 Paris


def test_period_ranges() -> None:
    assert [p.label for p in parse_periods("2026-11..2027-02")] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]
    assert [p.label for p in parse_periods("2026-Q4/2027-Q1")] == ["2026-Q4", "2027-Q1"]
    assert parse_periods("2026") == (Period.whole_year(2026),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "month 13"),
        ("2026-Q5", "is not a year"),
        ("March", "is not a year"),
        ("2026-01..2026-Q2", "are a month and a quarter"),
        ("2026-05..2026-02", "ends before it starts"),
        ("2026..2027..2028", "is not a period or a range"),
    ],
)
def test_bad_periods(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_periods(text)
