"""The performance contract on both databases: contracts stored and amended, KPIs, penalties and
lighting energy computed from recorded facts (work orders, lamp failures, meters, heartbeats),
periods frozen. Every expected figure is worked out by hand in the test."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select

from metropilot.alarms import services as alarms_services
from metropilot.alarms.repository import alarm_rules, alarms
from metropilot.assets import services as assets_services
from metropilot.bootstrap import Platform
from metropilot.cases.repository import cases, work_orders
from metropilot.contracts import repository, services
from metropilot.contracts.energy import burning_intervals
from metropilot.contracts.model import Period
from metropilot.shared.errors import Conflict, InvalidInput, NotFound
from metropilot.telemetry.model import METRICS
from metropilot.telemetry.repository import telemetry_raw
from tests.conftest import TEST_ACTOR
from tests.factories import cabinet, light, seed_territory

Z = UTC
MARCH = Period.month(2026, 3)  # 2026-02-28T23:00Z → 2026-03-31T22:00Z (CET, then CEST)
APRIL = Period.month(2026, 4)

CONTRACT: dict[str, Any] = {
    "code": "MPE-TEST",
    "parties": ["Métropole", "Lumière SA"],
    "start": "2026-01-01",
    "energy": {"final_target_pct": 65, "eur_per_kwh": 0.25, "kg_co2_per_kwh": 0.05},
    "it": {"components": ["api", "ingest"], "gateways": False},
    "lots": [
        {
            "code": "lighting",
            "contractor": "lumiere-sa",
            "sla": [
                {
                    "targets": {
                        "P1": {"response_hours": 1, "resolution_hours": 4},
                        "P3": {"response_hours": 2, "resolution_hours": 24},
                    }
                }
            ],
            "kpis": [
                {
                    "code": "response_on_time",
                    "unit": "%",
                    "period": "month",
                    "direction": "higher-is-better",
                    "target": 90,
                },
                {
                    "code": "resolution_on_time",
                    "unit": "%",
                    "period": "month",
                    "direction": "higher-is-better",
                    "target": 95,
                },
                {
                    "code": "mttr_hours",
                    "unit": "h",
                    "period": "month",
                    "direction": "lower-is-better",
                    "target": 4,
                },
                {
                    "code": "availability",
                    "measure": "lighting_availability",
                    "unit": "%",
                    "period": "month",
                    "direction": "higher-is-better",
                    "target": 98,
                },
            ],
            "penalties": [
                {
                    "cap_eur": 400,
                    "rules": [
                        {"code": "late", "kind": "delay", "eur_per_hour": 100},
                        {
                            "code": "slow",
                            "kind": "shortfall",
                            "kpi": "resolution_on_time",
                            "eur_per_point": 10,
                            "cap_eur": 300,
                        },
                    ],
                }
            ],
        },
        {
            "code": "it",
            "contractor": "roads",
            "sla": [{"targets": {"P1": {"response_hours": 0.5, "resolution_hours": 2}}}],
            "kpis": [
                {
                    "code": "uptime",
                    "measure": "it_availability",
                    "unit": "%",
                    "period": "month",
                    "direction": "higher-is-better",
                    "target": 99.9,
                }
            ],
        },
    ],
}


class ContractCity:
    """Two communes (West 21001, East 21002), a cabinet and two lamps, the contract imported."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        seed_territory(platform)
        with platform.uow_factory(write=True) as uow:
            assets_services.import_assets(
                uow,
                [
                    cabinet("CAB-1", 5.05, 47.35),
                    light(
                        "SL-1",
                        5.051,
                        47.35,
                        parent_ref="CAB-1",
                        attributes={"nominal_power_w": 40, "baseline_power_w": 150},
                    ),
                    light(
                        "SL-2",
                        5.151,
                        47.35,
                        attributes={"lamp_technology": "HPS", "nominal_power_w": 100},
                    ),
                ],
                TEST_ACTOR,
            )
            alarms_services.install_default_rules(uow, TEST_ACTOR)
            services.import_contract(uow, CONTRACT, TEST_ACTOR)
            uow.commit()
        with platform.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT external_ref, id FROM assets").all()
            self.ids = {str(ref): int(i) for ref, i in rows}
            rules = conn.execute(select(alarm_rules.c.code, alarm_rules.c.id)).all()
            self.rules = {str(code): int(i) for code, i in rules}

    def order(
        self,
        *,
        priority: str,
        commune: str,
        dispatched: datetime,
        response_due: datetime,
        resolution_due: datetime,
        accepted: datetime | None = None,
        done: datetime | None = None,
        organisation: str = "lumiere-sa",
        asset_kind: str = "streetlight",
        state: str = "accepted",
    ) -> int:
        with self.platform.uow_factory(write=True) as uow:
            conn = uow.connection
            case_id = conn.execute(
                insert(cases)
                .values(
                    origin="alarm",
                    category="streetlight_out",
                    priority=priority,
                    state="dispatched",
                    commune_insee=commune,
                    asset_kind=asset_kind,
                    organisation=organisation,
                    title="Lamp out",
                    description="",
                    opened_at=dispatched,
                    updated_at=dispatched,
                    reopened_count=0,
                )
                .returning(cases.c.id)
            ).scalar_one()
            order_id = conn.execute(
                insert(work_orders)
                .values(
                    case_id=case_id,
                    round=0,
                    state=state,
                    team=f"{organisation}-team",
                    organisation=organisation,
                    sector="private",
                    instructions="",
                    note="",
                    photos=[],
                    reason="",
                    created_at=dispatched,
                    updated_at=dispatched,
                    dispatched_at=dispatched,
                    accepted_at=accepted,
                    done_at=done,
                    response_due_at=response_due,
                    resolution_due_at=resolution_due,
                )
                .returning(work_orders.c.id)
            ).scalar_one()
            uow.commit()
        return int(order_id)

    def alarm(self, rule: str, ref: str, raised: datetime, cleared: datetime | None) -> None:
        with self.platform.uow_factory(write=True) as uow:
            uow.connection.execute(
                insert(alarms).values(
                    rule_id=self.rules[rule],
                    asset_id=self.ids[ref],
                    active_key=None if cleared else f"{self.ids[ref]}:{self.rules[rule]}",
                    state="cleared" if cleared else "raised",
                    severity="minor",
                    message="test",
                    raised_at=raised,
                    cleared_at=cleared,
                    flaps=0,
                    escalation_level=0,
                    updated_at=raised,
                )
            )
            uow.commit()

    def meter(self, ref: str, at: datetime, wh: float) -> None:
        with self.platform.uow_factory(write=True) as uow:
            uow.connection.execute(
                insert(telemetry_raw).values(
                    asset_id=self.ids[ref],
                    metric="energy_wh",
                    ts_ms=int(at.timestamp() * 1000),
                    value=wh,
                )
            )
            uow.commit()


@pytest.fixture
def city(platform: Platform) -> ContractCity:
    return ContractCity(platform)


def march_orders(city: ContractCity) -> None:
    """O1 P1 West: accepted on time, done 1.5 h late. O2 P1 East: accepted 1 h late, done on
    time. O3 P3 West: response due 23:30 Paris on 31 March, never accepted (late at the end of
    the month), resolution due in April. A refused order and the IT lot's order do not count
    for lighting."""
    city.order(
        priority="P1",
        commune="21001",
        dispatched=datetime(2026, 3, 2, 8, 0, tzinfo=Z),
        response_due=datetime(2026, 3, 2, 9, 0, tzinfo=Z),
        accepted=datetime(2026, 3, 2, 8, 30, tzinfo=Z),
        resolution_due=datetime(2026, 3, 2, 12, 0, tzinfo=Z),
        done=datetime(2026, 3, 2, 13, 30, tzinfo=Z),
        state="done",
    )
    city.order(
        priority="P1",
        commune="21002",
        dispatched=datetime(2026, 3, 3, 8, 0, tzinfo=Z),
        response_due=datetime(2026, 3, 3, 9, 0, tzinfo=Z),
        accepted=datetime(2026, 3, 3, 10, 0, tzinfo=Z),
        resolution_due=datetime(2026, 3, 3, 12, 0, tzinfo=Z),
        done=datetime(2026, 3, 3, 11, 0, tzinfo=Z),
        state="done",
    )
    city.order(
        priority="P3",
        commune="21001",
        dispatched=datetime(2026, 3, 31, 19, 30, tzinfo=Z),
        response_due=datetime(2026, 3, 31, 21, 30, tzinfo=Z),
        resolution_due=datetime(2026, 4, 1, 19, 30, tzinfo=Z),
        state="dispatched",
    )
    city.order(
        priority="P1",
        commune="21001",
        dispatched=datetime(2026, 3, 5, 8, 0, tzinfo=Z),
        response_due=datetime(2026, 3, 5, 9, 0, tzinfo=Z),
        resolution_due=datetime(2026, 3, 5, 12, 0, tzinfo=Z),
        state="refused",
    )
    city.order(
        priority="P1",
        commune="21001",
        dispatched=datetime(2026, 3, 6, 8, 0, tzinfo=Z),
        response_due=datetime(2026, 3, 6, 8, 30, tzinfo=Z),
        resolution_due=datetime(2026, 3, 6, 10, 0, tzinfo=Z),
        accepted=datetime(2026, 3, 6, 9, 30, tzinfo=Z),
        organisation="roads",
        asset_kind="camera",
    )


def kpis_of(report: dict[str, Any], lot: str) -> dict[str, dict[str, Any]]:
    (entry,) = [e for e in report["lots"] if e["lot"] == lot]
    return {k["code"]: k for k in entry["kpis"]}


def test_import_refuses_unknown_contractors_and_bad_extras(platform: Platform) -> None:
    seed_territory(platform)
    wrong = copy.deepcopy(CONTRACT)
    wrong["lots"][0]["contractor"] = "nobody"
    wrong["lots"][1]["kpis"][0]["measure"] = "happiness"
    with platform.uow_factory(write=True) as uow:
        with pytest.raises(InvalidInput) as refused:
            services.import_contract(uow, wrong, TEST_ACTOR)
        where = [problem["loc"] for problem in refused.value.details]
        assert where == ["lots.lighting.contractor", "lots[1].kpis[0].measure"]
        assert services.list_contracts(uow) == []  # all or nothing


def test_work_order_kpis_and_penalties_from_the_facts(city: ContractCity) -> None:
    march_orders(city)
    with city.platform.uow_factory() as uow:
        report = services.kpi_report(uow, MARCH)
        statements = {s["lot"]: s for s in services.penalty_statements(uow, MARCH)}
        west = services.kpi_report(uow, MARCH, lot="lighting", commune="21001")
    lighting = kpis_of(report, "lighting")
    # Responses due in March: O1 on time, O2 late, O3 late (not accepted by the month's end).
    assert lighting["response_on_time"]["basis"] == {
        "on_time": 1,
        "late": 2,
        "pending": 0,
        "rate": pytest.approx(1 / 3),
    }
    assert lighting["response_on_time"]["value"] == pytest.approx(33.333, abs=1e-3)
    # Resolutions due in March: O1 late, O2 on time (O3's is due in April) → 50%.
    assert lighting["resolution_on_time"]["value"] == 50.0
    assert lighting["resolution_on_time"]["met"] is False
    # Done in March: O1 after 5.5 h, O2 after 3 h → (5.5 + 3) / 2 = 4.25 h, target ≤ 4.
    assert lighting["mttr_hours"]["value"] == 4.25
    assert lighting["mttr_hours"]["met"] is False
    # The IT lot got the roads' camera order only: accepted 1 h after a 30-minute deadline.
    (it_entry,) = [e for e in report["lots"] if e["lot"] == "it"]
    assert it_entry["orders"] == 1
    # By priority: P1 response 1 on time (O1), 1 late (O2); P3 response 1 late (O3).
    (entry,) = [e for e in report["lots"] if e["lot"] == "lighting"]
    by_priority = {row["priority"]: row for row in entry["rates"]["by_priority"]}
    assert by_priority["P1"]["response"]["on_time"] == 1
    assert by_priority["P1"]["response"]["late"] == 1
    assert by_priority["P3"]["response"]["late"] == 1
    assert {row["commune"] for row in entry["rates"]["by_commune"]} == {"21001", "21002"}
    # West only: O1 (response on time, resolution late) and O3 (response late).
    west_kpis = kpis_of(west, "lighting")
    assert west_kpis["response_on_time"]["value"] == 50.0
    assert west_kpis["resolution_on_time"]["value"] == 0.0
    # Penalties: 'late' 1.5 h × 100 € = 150 €; 'slow' (95 − 50) points × 10 € = 450 € capped
    # at 300 €; 150 + 300 = 450 € over the lot's cap → 400 €.
    lighting_statement = statements["lighting"]
    assert [(i["rule"], i["amount"]) for i in lighting_statement["items"]] == [
        ("late", "150.00"),
        ("slow", "450.00"),
    ]
    assert lighting_statement["items"][0]["hours_late"] == "1.50"
    assert [r["capped"] for r in lighting_statement["rules"]] == ["150.00", "300.00"]
    assert (lighting_statement["gross"], lighting_statement["total"]) == ("450.00", "400.00")
    assert lighting_statement["frozen"] is False
    assert statements["it"]["total"] == "0.00"  # no penalty rules in the IT lot


def test_a_frozen_period_never_changes_and_amendments_do_not_reach_back(
    city: ContractCity,
) -> None:
    march_orders(city)
    with city.platform.uow_factory(write=True) as uow:
        frozen = services.freeze_period(uow, MARCH, "lighting", TEST_ACTOR)
        uow.commit()
    assert (frozen["total"], frozen["frozen"]) == ("400.00", True)
    # A late order for March recorded afterwards: 10 h late on its resolution.
    city.order(
        priority="P1",
        commune="21002",
        dispatched=datetime(2026, 3, 20, 8, 0, tzinfo=Z),
        response_due=datetime(2026, 3, 20, 9, 0, tzinfo=Z),
        accepted=datetime(2026, 3, 20, 8, 10, tzinfo=Z),
        resolution_due=datetime(2026, 3, 20, 12, 0, tzinfo=Z),
        done=datetime(2026, 3, 20, 22, 0, tzinfo=Z),
        state="done",
    )
    with city.platform.uow_factory(write=True) as uow:
        (statement,) = services.penalty_statements(uow, MARCH, lot="lighting")
        assert statement["total"] == "400.00"
        assert statement["frozen"] is True
        assert statement["items"] == frozen["items"]
        # The KPIs themselves follow the facts: 3 resolutions due, 1 on time.
        kpis = kpis_of(services.kpi_report(uow, MARCH, lot="lighting"), "lighting")
        assert kpis["resolution_on_time"]["basis"]["late"] == 2
        with pytest.raises(Conflict):
            services.freeze_period(uow, MARCH, "lighting", TEST_ACTOR)
        with pytest.raises(Conflict, match="before it ends"):
            services.freeze_period(
                uow, APRIL, "lighting", TEST_ACTOR, now=datetime(2026, 4, 30, 12, 0, tzinfo=Z)
            )
        with pytest.raises(Conflict, match="frozen until 2026-04-01"):
            services.amend_contract(
                uow,
                "MPE-TEST",
                lot="lighting",
                part="kpi",
                kpi="resolution_on_time",
                effective_from=date(2026, 3, 15),
                version={"target": 90},
                reason="renegotiated",
                actor=TEST_ACTOR,
            )
        services.amend_contract(
            uow,
            "MPE-TEST",
            lot="lighting",
            part="kpi",
            kpi="resolution_on_time",
            effective_from=date(2026, 5, 1),
            version={"target": 97},
            reason="amendment no. 1",
            actor=TEST_ACTOR,
        )
        uow.commit()
    with city.platform.uow_factory() as uow:
        april = kpis_of(services.kpi_report(uow, APRIL, lot="lighting"), "lighting")
        may = kpis_of(services.kpi_report(uow, Period.month(2026, 5), lot="lighting"), "lighting")
        amendments = services.list_amendments(uow, "MPE-TEST")
    assert april["resolution_on_time"]["target"] == 95.0
    assert may["resolution_on_time"]["target"] == 97.0
    assert [(a["effective_from"], a["reason"]) for a in amendments] == [
        ("2026-05-01", "amendment no. 1")
    ]
    with (
        city.platform.uow_factory(write=True) as uow,
        pytest.raises(Conflict, match="frozen periods"),
    ):
        services.import_contract(uow, CONTRACT, TEST_ACTOR)


def night_hours(lon: float, lat: float, start: datetime, end: datetime) -> float:
    """Hours of night in [start, end) at a place, from the astronomical clock."""
    days = (start.date() - timedelta(days=1), end.date())
    total = 0.0
    for dusk, dawn in burning_intervals(lon, lat, *days):
        # In UTC: Python subtracts two Paris times by their wall clocks, an hour off across
        # the change to summer time.
        lo, hi = max(dusk.astimezone(UTC), start), min(dawn.astimezone(UTC), end)
        if hi > lo:
            total += (hi - lo).total_seconds() / 3600
    return total


def test_lighting_energy_programs_failures_and_meters(city: ContractCity) -> None:
    with city.platform.uow_factory(write=True) as uow:
        services.put_program(
            uow,
            "half",
            {"name": "Half all night", "steps": [{"from": "dusk", "to": "dawn", "level": 50}]},
            TEST_ACTOR,
        )
        services.assign_program(
            uow,
            "half",
            target_type="commune",
            target="21001",
            effective_from=date(2026, 3, 16),
            actor=TEST_ACTOR,
        )
        uow.commit()
    # SL-1 (West, 40 W, replaced a 150 W lamp) is out from 00:00 to 24:00 UTC on 10 March.
    failed = (datetime(2026, 3, 10, tzinfo=Z), datetime(2026, 3, 11, tzinfo=Z))
    city.alarm("lamp-failure", "SL-1", *failed)
    # SL-2 (East, 100 W, never converted) has a meter: 1,000 Wh before March, 9,000 Wh at the
    # end → 8 kWh measured.
    city.meter("SL-2", datetime(2026, 2, 28, 20, 0, tzinfo=Z), 1000.0)
    city.meter("SL-2", datetime(2026, 3, 31, 21, 0, tzinfo=Z), 9000.0)

    mid = datetime(2026, 3, 15, 23, 0, tzinfo=Z)  # local midnight starting 16 March
    cell = (5.05, 47.35)  # SL-1's 0.01° cell, where the model computes its nights
    first_half = night_hours(*cell, MARCH.start, mid)
    second_half = night_hours(*cell, mid, MARCH.end)
    lost = night_hours(*cell, *failed)
    with city.platform.uow_factory() as uow:
        west = services.energy_report(uow, (MARCH,), commune="21001", months=False)
        east = services.energy_report(uow, (MARCH,), commune="21002", months=False)
        everything = services.energy_report(uow, (MARCH,), months=False)
        kpis = kpis_of(services.kpi_report(uow, MARCH, commune="21001"), "lighting")
    # West: full power until the 15th (minus the failed hours), half power afterwards.
    expected_current = 40 * (first_half - lost + 0.5 * second_half) / 1000
    expected_baseline = 150 * (first_half + second_half - lost) / 1000
    assert west["current_kwh"] == pytest.approx(expected_current, rel=1e-3)
    assert west["baseline_kwh"] == pytest.approx(expected_baseline, rel=1e-3)
    assert west["saving_pct"] == pytest.approx(
        (expected_baseline - expected_current) / expected_baseline * 100, rel=1e-3
    )
    assert (west["source"], west["measured_lamps"], west["lamps"]) == ("modelled", 0, 1)
    assert west["eur"] == pytest.approx(expected_current * 0.25, abs=0.01)
    assert west["co2_kg"] == pytest.approx(expected_current * 0.05, rel=1e-3)
    assert west["target_pct"] == 0.0  # the contract's first year
    # Availability in West: the lamp was scheduled every night and dark for `lost` hours.
    scheduled = first_half + second_half
    assert kpis["availability"]["value"] == pytest.approx(
        (scheduled - lost) / scheduled * 100, abs=1e-3
    )
    # East is metered: the counter's 8 kWh, not the model.
    assert (east["source"], east["measured_lamps"], east["current_kwh"]) == ("measured", 1, 8.0)
    assert everything["source"] == "mixed"
    assert everything["current_kwh"] == pytest.approx(expected_current + 8.0, rel=1e-3)


def test_a_meter_at_the_top_of_its_range_gives_finite_figures(city: ContractCity) -> None:
    # energy_wh is at most 1e12 Wh (a century of a cabinet): a counter going from 0 to there in
    # a month is absurd, and still every figure computed from it stays a number.
    city.meter("SL-2", datetime(2026, 2, 28, 20, 0, tzinfo=Z), 0.0)
    city.meter("SL-2", datetime(2026, 3, 31, 21, 0, tzinfo=Z), METRICS["energy_wh"].maximum or 0)
    with city.platform.uow_factory() as uow:
        east = services.energy_report(uow, (MARCH,), commune="21002", months=True)
        everything = services.energy_report(uow, (MARCH,), months=True)
        kpis = services.kpi_report(uow, MARCH)
    assert east["current_kwh"] == 1e9
    assert east["eur"] == pytest.approx(1e9 * 0.25)
    for report in (east, everything):
        numbers = [v for v in report.values() if isinstance(v, float)]
        assert numbers, report
        assert all(math.isfinite(v) for v in numbers), report
    assert "Infinity" not in json.dumps(kpis, default=str)
    assert "NaN" not in json.dumps(kpis, default=str)


def test_a_failure_across_the_month_end_counts_in_each_month(city: ContractCity) -> None:
    failed = (datetime(2026, 3, 31, 20, 0, tzinfo=Z), datetime(2026, 4, 1, 10, 0, tzinfo=Z))
    city.alarm("lamp-failure", "SL-1", *failed)
    cell = (5.05, 47.35)
    with city.platform.uow_factory() as uow:
        march = kpis_of(services.kpi_report(uow, MARCH, commune="21001"), "lighting")
        april = kpis_of(services.kpi_report(uow, APRIL, commune="21001"), "lighting")
    march_lit = march["availability"]["basis"]
    april_lit = april["availability"]["basis"]
    lost_march = march_lit["scheduled_lamp_hours"] - march_lit["lit_lamp_hours"]
    lost_april = april_lit["scheduled_lamp_hours"] - april_lit["lit_lamp_hours"]
    # March loses 20:00 → 22:00 UTC (midnight in Paris), April the rest of that night.
    assert lost_march == pytest.approx(night_hours(*cell, failed[0], MARCH.end), abs=1e-3)
    assert lost_april == pytest.approx(night_hours(*cell, APRIL.start, failed[1]), abs=1e-3)
    assert lost_march + lost_april == pytest.approx(night_hours(*cell, *failed), abs=1e-3)


def test_it_availability_from_heartbeats(city: ContractCity) -> None:
    # The API beat all March but for three hours on the 10th; the ingest consumer all month.
    with city.platform.uow_factory(write=True) as uow:
        conn = uow.connection
        for component, start, end in (
            ("api", MARCH.start, datetime(2026, 3, 10, 0, 0, tzinfo=Z)),
            ("api", datetime(2026, 3, 10, 3, 0, tzinfo=Z), MARCH.end),
            ("ingest", MARCH.start - timedelta(days=3), MARCH.end + timedelta(days=3)),
        ):
            conn.execute(
                insert(repository.component_uptime).values(
                    component=component, started_at=start, last_beat_at=end
                )
            )
        uow.commit()
    with city.platform.uow_factory() as uow:
        kpis = kpis_of(services.kpi_report(uow, MARCH, lot="it"), "it")
    # March in Paris lasts 31 × 24 − 1 = 743 h; two components: (2 × 743 − 3) / (2 × 743).
    assert kpis["uptime"]["value"] == pytest.approx((2 * 743 - 3) / (2 * 743) * 100, abs=1e-3)
    assert kpis["uptime"]["met"] is False  # 99.798% < 99.9%
    assert kpis["uptime"]["basis"]["worst"][0]["component"] == "api"


def test_beats_extend_one_interval_until_a_silence(platform: Platform) -> None:
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=Z)
    with platform.uow_factory(write=True) as uow:
        for seconds in (0, 30, 60, 90, 400, 430):  # a 310 s silence after 90 s
            services.beat(uow, "api", t0 + timedelta(seconds=seconds))
        uow.commit()
    with platform.uow_factory() as uow:
        rows = repository.uptime_between(uow.connection, ["api"], t0, t0 + timedelta(hours=1))
    assert [(r["started_at"], r["last_beat_at"]) for r in rows] == [
        (t0, t0 + timedelta(seconds=90)),
        (t0 + timedelta(seconds=400), t0 + timedelta(seconds=430)),
    ]


def test_transparency_is_aggregates_only(city: ContractCity) -> None:
    march_orders(city)
    with city.platform.uow_factory() as uow:
        metropolis = services.transparency(uow, MARCH)
        west = services.transparency(uow, MARCH, commune="21001")
        with pytest.raises(NotFound):
            services.transparency(uow, MARCH, commune="99999")
    assert metropolis["penalties_eur"] == "400.00"
    assert west["penalties_eur"] is None
    assert west["commune"] == {"insee": "21001", "name": "Ouestville"}
    lighting = next(lot for lot in metropolis["lots"] if lot["lot"] == "lighting")
    assert set(lighting["kpis"][0]) == {
        "code",
        "name",
        "unit",
        "target",
        "direction",
        "value",
        "met",
    }
    assert metropolis["energy"]["lamps"] == 2


def test_what_if_compares_programs_and_conversions(city: ContractCity) -> None:
    with city.platform.uow_factory(write=True) as uow:
        services.put_program(
            uow,
            "off-1-5",
            {
                "name": "Off 01:00–05:00",
                "steps": [
                    {"from": "dusk", "to": "01:00", "level": 100},
                    {"from": "01:00", "to": "05:00", "level": 0},
                    {"from": "05:00", "to": "dawn", "level": 100},
                ],
            },
            TEST_ACTOR,
        )
        uow.commit()
    with city.platform.uow_factory() as uow:
        switched_off = services.energy_what_if(uow, 2026, programs_by_commune={"21002": "off-1-5"})
        converted = services.energy_what_if(uow, 2026, power_w_by_technology={"HPS": 30})
        with pytest.raises(InvalidInput, match="invalid what-if"):
            services.energy_what_if(uow, 2026, program_for_all="nope")
    # East's 100 W lamp off from 01:00 to 05:00 Paris time, every night of 2026: the sun rises
    # after 05:00 all year in Burgundy, and the spring night's 3 h and the autumn night's 5 h
    # make up for each other, so 365 × 4 h × 0.1 kW = 146 kWh saved.
    assert switched_off["saved"]["kwh"] == pytest.approx(146.0, abs=1e-3)
    assert switched_off["saved"]["co2_kg"] == pytest.approx(146.0 * 0.05, abs=1e-3)
    # Converting the 100 W HPS lamp to 30 W saves 70% of its year's energy.
    east_year = east_share(city)
    assert converted["saved"]["kwh"] == pytest.approx(east_year * 0.7, rel=1e-6)
    assert converted["saved"]["eur"] == pytest.approx(east_year * 0.7 * 0.25, abs=0.01)


def east_share(city: ContractCity) -> float:
    with city.platform.uow_factory() as uow:
        year = Period.whole_year(2026)
        report = services.energy_report(uow, (year,), commune="21002", months=False, as_of=year.end)
    return float(report["modelled_kwh"])


def test_programs_groups_and_assignments_are_checked(city: ContractCity) -> None:
    with city.platform.uow_factory(write=True) as uow:
        with pytest.raises(InvalidInput):
            services.put_program(uow, "bad", {"name": "x", "steps": []}, TEST_ACTOR)
        with pytest.raises(NotFound):
            services.assign_program(
                uow,
                "missing",
                target_type="commune",
                target="21001",
                effective_from=date(2026, 1, 1),
                actor=TEST_ACTOR,
            )
        services.put_program(
            uow,
            "half",
            {"name": "Half", "steps": [{"from": "dusk", "to": "dawn", "level": 50}]},
            TEST_ACTOR,
        )
        with pytest.raises(InvalidInput, match="cabinets"):
            services.put_group(uow, "avenue", "Avenue", [city.ids["SL-1"]], TEST_ACTOR)
        group = services.put_group(uow, "avenue", "Avenue", [city.ids["CAB-1"]], TEST_ACTOR)
        assert group["cabinet_ids"] == [city.ids["CAB-1"]]
        assigned = services.assign_program(
            uow,
            "half",
            target_type="group",
            target="avenue",
            effective_from=date(2026, 1, 1),
            actor=TEST_ACTOR,
        )
        uow.commit()
    assert (assigned["target_type"], assigned["target"]) == ("group", "avenue")
    with city.platform.uow_factory() as uow:
        (program,) = services.list_programs(uow)
        west = services.energy_report(uow, (MARCH,), commune="21001", months=False)
        east = services.energy_report(uow, (MARCH,), commune="21002", months=False)
    assert [a["target"] for a in program["assignments"]] == ["avenue"]
    # SL-1 hangs off CAB-1 (in the group): half power; SL-2 has no cabinet: full power.
    assert west["current_kwh"] == pytest.approx(40 * 0.5 * west["baseline_kwh"] / 150, rel=1e-3)
    assert east["modelled_kwh"] == pytest.approx(east["baseline_kwh"], rel=1e-9)


def test_money_is_exact_decimal_text(city: ContractCity) -> None:
    march_orders(city)
    with city.platform.uow_factory() as uow:
        (statement,) = services.penalty_statements(uow, MARCH, lot="lighting")
    assert Decimal(statement["net"]) == Decimal("400.00")


def test_a_period_not_over_counts_only_what_happened(city: ContractCity) -> None:
    """Mid-March, March's energy is that of the nights so far and its IT availability that of
    the elapsed days: the rest of the month has not happened."""
    mid = datetime(2026, 3, 15, 23, 0, tzinfo=Z)
    with city.platform.uow_factory(write=True) as uow:
        uow.connection.execute(
            insert(repository.component_uptime),
            [
                {"component": c, "started_at": MARCH.start, "last_beat_at": mid}
                for c in ("api", "ingest")
            ],
        )
        uow.commit()
    cell = (5.05, 47.35)
    with city.platform.uow_factory() as uow:
        so_far = services.energy_report(uow, (MARCH,), commune="21001", as_of=mid)
        whole = services.energy_report(uow, (MARCH,), commune="21001", as_of=MARCH.end)
        it = kpis_of(services.kpi_report(uow, MARCH, lot="it", as_of=mid), "it")
        lighting = kpis_of(services.kpi_report(uow, MARCH, commune="21001", as_of=mid), "lighting")
        future = services.energy_report(uow, (Period.month(2026, 4),), as_of=mid)
    # SL-1: 40 W at full power on the nights up to the 16th's midnight.
    assert so_far["current_kwh"] == pytest.approx(
        40 * night_hours(*cell, MARCH.start, mid) / 1000, rel=1e-3
    )
    assert (so_far["complete"], whole["complete"]) == (False, True)
    assert so_far["as_of"] == mid.isoformat()
    assert [m["complete"] for m in so_far["months"]] == [False]
    assert so_far["current_kwh"] < whole["current_kwh"]
    # Up every minute so far: 100%, not the share of the whole month.
    assert it["uptime"]["value"] == 100.0
    assert lighting["availability"]["basis"]["scheduled_lamp_hours"] == pytest.approx(
        night_hours(*cell, MARCH.start, mid), abs=1e-3
    )
    assert (future["current_kwh"], future["saving_pct"], future["months"]) == (0.0, None, [])
