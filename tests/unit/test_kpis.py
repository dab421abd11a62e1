"""KPIs and penalties from recorded facts, against hand-computed figures whose arithmetic is
written here: on-time rates, MTTR, lighting availability (a failure across a month boundary, a
leap February, a night across the spring clock change), IT availability, penalties with caps and
a mid-year amendment, quarters in Paris time, and a frozen period unchanged by new facts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metropilot.contracts.kpis import (
    LampFault,
    LampWindow,
    UptimeInterval,
    WorkOrderFact,
    compute_statement,
    freeze,
    it_availability,
    lighting_availability,
    mean_time_to_repair,
    nightly_windows,
    on_time_rates,
    penalties,
    statement_for,
)
from metropilot.contracts.model import (
    Direction,
    KpiDefinition,
    Lot,
    PenaltyKind,
    PenaltyRule,
    PenaltySchedule,
    Period,
    PeriodKind,
    SlaStage,
    parse_contract,
)
from metropilot.shared.errors import Conflict, InvalidInput

PARIS = ZoneInfo("Europe/Paris")
MARCH = Period.month(2026, 3)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def order(
    oid: str,
    due: datetime,
    *,
    done_after: float | None = None,
    accepted_after: float | None = None,
    priority: str = "P2",
    commune: str = "Lyon",
    lot: str = "lighting",
    dispatched_hours_before: float = 24,
) -> WorkOrderFact:
    """An order whose response and resolution are both due at ``due``; the steps happen the
    given number of hours after it (negative: early; None: not yet)."""
    hours = timedelta(hours=1)
    return WorkOrderFact(
        order_id=oid,
        case_id=f"case-{oid}",
        lot=lot,
        priority=priority,
        commune=commune,
        dispatched_at=due - dispatched_hours_before * hours,
        response_due_at=due,
        resolution_due_at=due,
        accepted_at=None if accepted_after is None else due + accepted_after * hours,
        done_at=None if done_after is None else due + done_after * hours,
    )


def lighting_lot(
    *,
    rate: int = 100,
    rule_cap: int | None = None,
    lot_cap: int | None = None,
    amendment: bool = False,
) -> Lot:
    kpi: dict[str, object] = {
        "code": "availability",
        "unit": "%",
        "period": "month",
        "direction": "higher-is-better",
        "versions": [{"target": 98}]
        + ([{"effective_from": "2026-07-01", "target": 99}] if amendment else []),
    }
    return parse_contract(
        {
            "code": "MPE",
            "parties": ["Métropole", "Consortium"],
            "start": "2026-01-01",
            "lots": [
                {
                    "code": "lighting",
                    "contractor": "lumen",
                    "sla": [{"targets": {"P2": {"response_hours": 4, "resolution_hours": 24}}}],
                    "kpis": [kpi],
                    "penalties": [
                        {
                            "cap_eur": lot_cap,
                            "rules": [
                                {
                                    "code": "late",
                                    "kind": "delay",
                                    "eur_per_hour": rate,
                                    "cap_eur": rule_cap,
                                },
                                {
                                    "code": "dark",
                                    "kind": "shortfall",
                                    "kpi": "availability",
                                    "eur_per_point": 500,
                                },
                            ],
                            "bonuses": [
                                {
                                    "code": "bright",
                                    "kpi": "availability",
                                    "eur_per_point": 200,
                                    "cap_eur": 150,
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    ).lot("lighting")


# --- work-order KPIs ------------------------------------------------------------------------


def test_on_time_rates_per_lot_priority_and_commune() -> None:
    due = paris(2026, 3, 10, 12)
    orders = [
        order("a", due, accepted_after=-1, done_after=-2),  # on time on both
        order("b", due, accepted_after=0.5, done_after=2.5),  # late on both
        order("c", due, accepted_after=0, done_after=0, commune="Villeurbanne"),  # at the due
        order("d", due, accepted_after=-3, priority="P1"),  # never done: late at month's end
        order("e", paris(2026, 4, 2, 9), accepted_after=-1, done_after=-1),  # April: not here
    ]
    rates = on_time_rates(orders, MARCH, SlaStage.RESOLUTION, by=("lot",))
    # a, c on time; b, d late → 2 / 4
    assert rates[("lighting",)].rate == 2 / 4
    by_all = on_time_rates(orders, MARCH, SlaStage.RESPONSE, by=("lot", "priority", "commune"))
    assert {k: (r.on_time, r.late) for k, r in by_all.items()} == {
        ("lighting", "P1", "Lyon"): (1, 0),
        ("lighting", "P2", "Lyon"): (1, 1),  # a on time, b 30 min late
        ("lighting", "P2", "Villeurbanne"): (1, 0),
    }
    # Seen on 10 March at 13:00, d (due 12:00, not done) is already late; a deadline still
    # ahead would be pending, not counted.
    early = on_time_rates(
        [*orders, order("f", paris(2026, 3, 20, 12))],
        MARCH,
        SlaStage.RESOLUTION,
        by=(),
        as_of=paris(2026, 3, 10, 13),
    )[()]
    # b was done at 14:30, after the 13:00 cut-off: not yet done, 1 h late so far.
    assert (early.on_time, early.late, early.pending) == (2, 2, 1)


def test_quarters_are_bounded_in_paris_time() -> None:
    orders = [
        order("jan", paris(2026, 1, 15, 10), done_after=-1),
        order("mar-end", paris(2026, 3, 31, 23, 30), done_after=1),  # 21:30 UTC: still Q1
        order("apr-start", paris(2026, 4, 1, 0, 30), done_after=-1),  # 22:30 UTC on 31 March
    ]
    q1 = on_time_rates(orders, Period.quarter(2026, 1), SlaStage.RESOLUTION)[("lighting",)]
    q2 = on_time_rates(orders, Period.quarter(2026, 2), SlaStage.RESOLUTION)[("lighting",)]
    assert (q1.on_time, q1.late) == (1, 1)
    assert (q2.on_time, q2.late) == (1, 0)


def test_mean_time_to_repair() -> None:
    due = paris(2026, 3, 10, 12)
    orders = [
        order("a", due, done_after=0, dispatched_hours_before=2),  # 2 h
        order("b", due, done_after=1, dispatched_hours_before=3),  # 4 h
        order("c", due, done_after=None),  # not done: not counted
        order("d", due, done_after=0, dispatched_hours_before=9, lot="it"),  # 9 h, other lot
    ]
    assert mean_time_to_repair(orders, MARCH) == {
        ("it",): timedelta(hours=9),
        ("lighting",): timedelta(hours=(2 + 4) / 2),
    }


# --- lighting availability ------------------------------------------------------------------


def test_a_lamp_failure_across_a_month_boundary_is_split() -> None:
    # Lit every night 20:00 → 06:00 Paris: each calendar day holds 6 h of the previous night
    # and 4 h of its own, 10 lamp-hours a day.
    schedule = nightly_windows("L1", "Lyon", date(2025, 12, 31), date(2026, 2, 28))
    fault = LampFault("L1", paris(2026, 1, 31, 22), paris(2026, 2, 1, 4))
    jan = lighting_availability(schedule, [fault], Period.month(2026, 1))
    feb = lighting_availability(schedule, [fault], Period.month(2026, 2))
    # January: 31 × 10 = 310 h scheduled, 22:00 → 24:00 dark = 2 h lost.
    assert (jan.expected_hours, jan.available_hours) == (Decimal(310), Decimal(308))
    assert jan.ratio == pytest.approx(308 / 310)
    # February: 28 × 10 = 280 h scheduled, 00:00 → 04:00 dark = 4 h lost.
    assert (feb.expected_hours, feb.available_hours) == (Decimal(280), Decimal(276))


def test_leap_february_has_29_days_of_lamp_hours() -> None:
    schedule = [
        LampWindow("T1", "Lyon", paris(2028, 1, 1), paris(2029, 1, 1)),  # a tunnel lamp, 24/7
        *nightly_windows("L1", "Lyon", date(2028, 1, 31), date(2028, 2, 29)),
    ]
    feb = lighting_availability(schedule, [], Period.month(2028, 2))
    # 29 × 24 = 696 h for the tunnel lamp, 29 × 10 = 290 h for the street lamp.
    assert feb.expected_hours == 696 + 290
    assert feb.ratio == 1.0
    # A fault still open counts until the end of the period (29 Feb 24:00).
    open_fault = LampFault("T1", paris(2028, 2, 29, 12))
    feb = lighting_availability(schedule, [open_fault], Period.month(2028, 2))
    assert feb.available_hours == 696 + 290 - 12


def test_the_night_of_the_spring_clock_change_is_an_hour_shorter() -> None:
    schedule = nightly_windows("L1", "Lyon", date(2026, 2, 28), date(2026, 3, 31))
    march = lighting_availability(schedule, [], MARCH)
    # 31 × 10 h − the hour skipped at 02:00 on 29 March = 309 h.
    assert march.expected_hours == 31 * 10 - 1


def test_lighting_availability_per_commune() -> None:
    schedule = [
        *nightly_windows("L1", "Lyon", date(2026, 2, 28), date(2026, 3, 31)),
        *nightly_windows("V1", "Villeurbanne", date(2026, 2, 28), date(2026, 3, 31)),
    ]
    faults = [LampFault("V1", paris(2026, 3, 2, 20), paris(2026, 3, 3, 6))]  # one whole night
    assert lighting_availability(schedule, faults, MARCH, commune="Lyon").ratio == 1.0
    villeurbanne = lighting_availability(schedule, faults, MARCH, commune="Villeurbanne")
    assert villeurbanne.available_hours == 309 - 10


def test_it_availability_from_uptime_intervals() -> None:
    april = Period.month(2026, 4)  # 30 × 24 = 720 h
    uptime = [
        UptimeInterval("api", paris(2026, 3, 31, 12), paris(2026, 4, 10)),
        UptimeInterval("api", paris(2026, 4, 9), paris(2026, 4, 30, 16, 48)),  # overlaps
        UptimeInterval("gateway-7", paris(2026, 4, 1), paris(2026, 4, 30, 9, 36)),
    ]
    overall, each = it_availability(uptime, april, ["api", "gateway-7", "broker"])
    # api: down 16:48 → 24:00 on 30 April = 7.2 h → 712.8 / 720 = 99 %
    assert each["api"].available_hours == Decimal("712.8")
    assert each["api"].ratio == pytest.approx(0.99)
    # gateway-7: down from 09:36 = 14.4 h → 705.6 / 720 = 98 %; broker never seen: 0
    assert each["gateway-7"].ratio == pytest.approx(0.98)
    assert each["broker"].ratio == 0.0
    # overall: (712.8 + 705.6 + 0) / (3 × 720) = 1418.4 / 2160
    assert overall.ratio == pytest.approx(1418.4 / 2160)
    with pytest.raises(InvalidInput, match="monitored components"):
        it_availability(uptime, april, [])


# --- penalties ------------------------------------------------------------------------------


def test_one_order_two_and_a_half_hours_late_at_100_an_hour() -> None:
    due = paris(2026, 3, 10, 12)
    orders = [
        order("a", due, done_after=-1),
        order("b", due, done_after=2.5),
        order("c", due, done_after=0),
    ]
    statement = penalties(MARCH, lighting_lot(), orders, {"availability": 98.0})
    # b: 2.5 h × 100 €/h = 250 €; availability meets its 98 % target: nothing else.
    (item,) = statement.items
    assert (item.order_id, item.case_id, item.hours_late, item.amount) == (
        "b",
        "case-b",
        Decimal("2.5"),
        Decimal("250.00"),
    )
    assert statement.total == Decimal("250.00")
    assert statement.bonuses == ()
    assert statement.net == Decimal("250.00")


def test_caps_per_rule_and_per_lot() -> None:
    due = paris(2026, 3, 10, 12)
    orders = [order("a", due, done_after=2), order("b", due, done_after=3)]
    statement = penalties(
        MARCH, lighting_lot(rule_cap=300, lot_cap=400), orders, {"availability": 97.5}
    )
    late, dark = statement.rules
    # late: 2 h × 100 + 3 h × 100 = 500 €, capped at 300 €
    assert (late.gross, late.capped) == (Decimal("500.00"), Decimal(300))
    # dark: (98 − 97.5) = 0.5 point × 500 €/point = 250 €
    assert (dark.gross, dark.capped) == (Decimal("250.00"), Decimal("250.00"))
    # 300 + 250 = 550 €, capped at 400 € for the lot
    assert statement.gross == Decimal("550.00")
    assert statement.total == Decimal(400)
    assert [i.amount for i in statement.items] == [
        Decimal("200.00"),
        Decimal("300.00"),
        Decimal("250.00"),
    ]


def test_bonus_above_target_is_capped() -> None:
    statement = penalties(MARCH, lighting_lot(), [], {"availability": 99.5})
    # (99.5 − 98) = 1.5 points × 200 €/point = 300 €, capped at 150 €
    (bonus,) = statement.bonuses
    assert (bonus.points, bonus.amount) == (Decimal("1.5"), Decimal(150))
    assert statement.net == Decimal(-150)


def test_an_open_order_accrues_delay_until_the_period_ends() -> None:
    orders = [order("a", paris(2026, 3, 31, 20))]  # never done; March ends at 24:00
    statement = penalties(MARCH, lighting_lot(), orders, {"availability": 98.0})
    # 4 h × 100 €/h = 400 €
    assert statement.items[0].hours_late == 4
    assert statement.total == Decimal("400.00")


def test_a_mid_year_amendment_keeps_the_old_target_for_earlier_months() -> None:
    lot = lighting_lot(amendment=True)  # 98 % until June, 99 % from 1 July
    june = penalties(Period.month(2026, 6), lot, [], {"availability": 98.5})
    july = penalties(Period.month(2026, 7), lot, [], {"availability": 98.5})
    assert june.total == 0  # 98.5 ≥ 98
    # July: (99 − 98.5) = 0.5 point × 500 €/point = 250 €
    assert july.total == Decimal("250.00")
    assert july.items[0].target == 99.0


def test_missing_measurements_are_reported_not_guessed() -> None:
    statement = penalties(MARCH, lighting_lot(), [])
    assert statement.missing_kpis == ("availability",)
    assert statement.total == 0


def test_a_lower_is_better_kpi() -> None:
    kpi = KpiDefinition("mttr", "MTTR", 8.0, "h", PeriodKind.MONTH, Direction.LOWER_IS_BETTER)
    rule = PenaltyRule("slow", PenaltyKind.SHORTFALL, Decimal(50), kpi="mttr")
    statement = compute_statement(
        MARCH, "lighting", PenaltySchedule((rule,)), {"mttr": kpi}, [], {"mttr": 11.0}
    )
    # (11 − 8) = 3 points × 50 € = 150 €
    assert statement.total == Decimal("150.00")


# --- frozen periods -------------------------------------------------------------------------


def test_a_frozen_period_is_unchanged_after_new_facts() -> None:
    lot = lighting_lot()
    due = paris(2026, 3, 10, 12)
    facts = [order("a", due, done_after=1)]
    reviewed = statement_for(MARCH, lot, facts, {"availability": 98.0})
    assert reviewed.total == Decimal("100.00")  # 1 h × 100 €/h
    with pytest.raises(Conflict, match="before it ends"):
        freeze(reviewed, at=paris(2026, 3, 31, 18), by="supervisor")
    frozen = freeze(reviewed, at=paris(2026, 4, 2, 9), by="supervisor")

    # A late order of March is recorded after the freeze: the statement does not move.
    facts.append(order("late-news", due, done_after=5))
    assert penalties(MARCH, lot, facts, {"availability": 98.0}).total == Decimal("600.00")
    shown = statement_for(MARCH, lot, facts, {"availability": 90.0}, frozen=frozen)
    assert shown is reviewed
    assert shown.total == Decimal("100.00")
    with pytest.raises(Conflict, match="never recomputed"):
        statement_for(MARCH, lot, facts, frozen=frozen, recompute=True)
    with pytest.raises(Conflict, match="was frozen"):
        freeze(reviewed, at=paris(2026, 4, 3), by="supervisor", existing=frozen)
    with pytest.raises(InvalidInput, match="not lighting 2026-04"):
        statement_for(Period.month(2026, 4), lot, facts, frozen=frozen)


def test_a_statement_computed_mid_period_cannot_be_frozen() -> None:
    early = penalties(MARCH, lighting_lot(), [], as_of=paris(2026, 3, 15))
    with pytest.raises(Conflict, match="before it ends"):
        freeze(early, at=paris(2026, 4, 2), by="supervisor")


def test_naive_instants_are_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        order("x", datetime(2026, 3, 10, 12))


# --- properties -----------------------------------------------------------------------------

delays = st.lists(
    st.tuples(
        st.floats(min_value=-48, max_value=200, allow_nan=False),
        st.sampled_from(["P1", "P2", "P3"]),
        st.booleans(),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    facts=delays,
    rule_cap=st.integers(0, 2000),
    lot_cap=st.integers(0, 3000),
    measured=st.floats(0, 100),
)
def test_penalties_never_exceed_the_caps(
    facts: list[tuple[float, str, bool]], rule_cap: int, lot_cap: int, measured: float
) -> None:
    due = paris(2026, 3, 15, 12)
    orders = [
        order(f"o{i}", due, done_after=after if done else None, priority=priority)
        for i, (after, priority, done) in enumerate(facts)
    ]
    statement = penalties(
        MARCH, lighting_lot(rule_cap=rule_cap, lot_cap=lot_cap), orders, {"availability": measured}
    )
    assert Decimal(0) <= statement.total <= lot_cap
    assert statement.rules[0].capped <= rule_cap
    assert statement.total <= statement.gross
    assert all(item.amount >= 0 for item in statement.items)
    rates = on_time_rates(orders, MARCH, SlaStage.RESOLUTION, by=("priority",))
    for result in rates.values():
        assert result.rate is not None
        assert 0.0 <= result.rate <= 1.0
        assert result.on_time + result.late + result.pending > 0


@settings(max_examples=60, deadline=None)
@given(
    faults=st.lists(
        st.tuples(st.integers(0, 40 * 24), st.integers(0, 72)),
        max_size=6,
    )
)
def test_lighting_availability_is_a_share(faults: list[tuple[int, int]]) -> None:
    schedule = nightly_windows("L1", "Lyon", date(2026, 2, 20), date(2026, 4, 5))
    origin = datetime(2026, 2, 25, tzinfo=UTC)
    records = [
        LampFault("L1", origin + timedelta(hours=s), origin + timedelta(hours=s + d))
        for s, d in faults
    ]
    result = lighting_availability(schedule, records, MARCH)
    assert result.ratio is not None
    assert 0.0 <= result.ratio <= 1.0
    # Split across months, the lost hours of February, March and April add up to the lost
    # hours of the quarter-spanning whole.
    months = [Period.month(2026, m) for m in (2, 3, 4)]
    lost = sum(
        (
            r.expected_hours - r.available_hours
            for r in (lighting_availability(schedule, records, p) for p in months)
        ),
        Decimal(0),
    )
    whole = [
        lighting_availability(schedule, records, p)
        for p in (Period.quarter(2026, 1), Period.quarter(2026, 2))
    ]
    q_lost = sum((r.expected_hours - r.available_hours for r in whole), Decimal(0))
    assert lost == q_lost
