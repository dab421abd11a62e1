"""The performance contract over HTTP, both databases: the reference contract of the synthetic
world, KPIs scoped by role, energy with the fields the contract managers read, penalties,
freezing and amending, dimming programs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from metropilot.bootstrap import Platform
from metropilot.simulate.services import generate_metropolis
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR
from tests.factories import WORLD_ACCOUNTS, bearer, create_world_accounts

API = "/api/v1"


def test_the_reference_contract_and_its_terms(
    world_client: TestClient, world_tokens: dict[str, dict[str, str]]
) -> None:
    listed = world_client.get(f"{API}/contracts")
    assert listed.status_code == 200, listed.text
    (contract,) = listed.json()["items"]
    assert (contract["code"], contract["start"], contract["end"]) == (
        "MGP-2025",
        "2025-01-01",
        "2037-01-01",
    )
    lots = {lot["lot"]: lot for lot in contract["lots"]}
    assert set(lots) == {"lighting", "traffic-signals", "video", "buildings", "it"}
    assert lots["lighting"]["contractor"] == "lucerna-eclairage"
    saving = next(k for k in lots["lighting"]["kpis"] if k["code"] == "energy_saving")
    # 0% in 2025 rising linearly to 65% in 2036: 2026 is 65 × 1/11 = 5.9%.
    assert [v["target"] for v in saving["versions"]][:2] == [0.0, 5.9]
    one = world_client.get(f"{API}/contracts/MGP-2025", headers=world_tokens["agent-dijon"])
    assert one.status_code == 200
    assert one.json()["amendments"] == []
    assert world_client.get(f"{API}/contracts/NOPE").status_code == 404


def test_kpis_follow_the_role(
    world_client: TestClient, world_tokens: dict[str, dict[str, str]]
) -> None:
    everything = world_client.get(f"{API}/kpis", params={"period": "2026-03"})
    assert everything.status_code == 200, everything.text
    assert len(everything.json()["lots"]) == 5
    lighting_company = world_tokens["contractor-lighting"]
    own = world_client.get(f"{API}/kpis", params={"period": "2026-03"}, headers=lighting_company)
    assert [lot["lot"] for lot in own.json()["lots"]] == ["lighting"]
    other = world_client.get(
        f"{API}/kpis", params={"period": "2026-03", "lot": "it"}, headers=lighting_company
    )
    assert other.status_code == 404
    lead = world_client.get(
        f"{API}/kpis", params={"period": "2026-03"}, headers=world_tokens["contractor-lead"]
    )
    assert {lot["lot"] for lot in lead.json()["lots"]} == {
        "traffic-signals",
        "video",
        "buildings",
    }
    agent = world_tokens["agent-dijon"]
    mine = world_client.get(f"{API}/kpis", params={"period": "2026-03"}, headers=agent)
    assert mine.status_code == 200
    assert mine.json()["commune"] == "21231"
    theirs = world_client.get(
        f"{API}/kpis", params={"period": "2026-03", "commune": "21166"}, headers=agent
    )
    assert theirs.status_code == 403
    assert theirs.json()["error"]["code"] == "outside_your_communes"
    bad = world_client.get(f"{API}/kpis", params={"period": "2026-13"})
    assert bad.status_code == 400
    assert "month 13" in bad.text
    uncovered = world_client.get(f"{API}/kpis", params={"period": "2040"})
    assert uncovered.status_code == 404
    assert uncovered.json()["error"]["code"] == "no_contract"


def test_energy_answers_the_contract_managers_fields(world_client: TestClient) -> None:
    response = world_client.get(f"{API}/energy", params={"period": "2026-03", "months": "true"})
    assert response.status_code == 200, response.text
    energy = response.json()
    for field in ("baseline_kwh", "current_kwh", "saving_pct", "target_pct", "eur", "co2_kg"):
        assert isinstance(energy[field], float | int), field
    assert energy["source"] == "modelled"  # no meter readings in the world
    assert energy["modelled_lamps"] == energy["lamps"] > 0
    assert energy["target_pct"] == pytest.approx(65 / 11, abs=1e-3)
    assert energy["current_kwh"] < energy["baseline_kwh"]  # LEDs, dimmed 23:00 → 05:00
    assert [m["period"] for m in energy["months"]] == ["2026-03"]
    assert energy["eur"] == pytest.approx(energy["current_kwh"] * 0.20, abs=0.01)
    one = world_client.get(f"{API}/energy", params={"period": "2026-03", "commune": "21231"})
    assert 0 < one.json()["lamps"] < energy["lamps"]
    ranged = world_client.get(f"{API}/energy", params={"period": "2026-02..2026-03"})
    assert ranged.json()["period"] == "2026-02..2026-03"
    assert ranged.json()["current_kwh"] > energy["current_kwh"]
    assert world_client.get(f"{API}/energy", params={"period": "March"}).status_code == 400
    unknown = world_client.get(f"{API}/energy", params={"period": "2026", "commune": "99999"})
    assert unknown.status_code == 404


def test_what_if_over_http(world_client: TestClient) -> None:
    response = world_client.post(
        f"{API}/energy/what-if",
        json={"year": 2026, "programs_by_commune": {"21231": "off-01-05"}, "commune": "21231"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["saved"]["kwh"] > 0
    refused = world_client.post(f"{API}/energy/what-if", json={"year": 2026, "program": "nope"})
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][0]["loc"] == "program"


def test_what_if_powers_are_a_lamp_s_and_the_figures_stay_finite(world_client: TestClient) -> None:
    # 1e308 W per lamp once answered 200 with null kWh, € and CO₂ (the sums overflowed).
    for power in (1e308, 2000.5, -1):
        refused = world_client.post(
            f"{API}/energy/what-if",
            json={"year": 2026, "power_w_by_technology": {"HPS": power}},
        )
        assert refused.status_code == 400, (power, refused.text)
        assert "power_w_by_technology" in refused.text
    # The largest power the registry allows for a lamp gives finite figures.
    largest = world_client.post(
        f"{API}/energy/what-if",
        json={"year": 2026, "power_w_by_technology": {"HPS": 2000, "LED": 2000}},
    )
    assert largest.status_code == 200, largest.text
    figures = largest.json()
    for side in ("current", "candidate", "saved"):
        for unit in ("kwh", "eur", "co2_kg"):
            assert isinstance(figures[side][unit], float | int), (side, unit, figures[side])


@dataclass
class Town:
    client: TestClient
    headers: dict[str, dict[str, str]]


@pytest.fixture
def town(platform: Platform) -> Iterator[Town]:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=7)
        uow.commit()
    create_world_accounts(platform)
    with TestClient(create_app(platform)) as client:
        yield Town(client, {name: bearer(client, name) for name in WORLD_ACCOUNTS})


def test_freezing_amending_and_programs(town: Town) -> None:
    client, headers = town.client, town.headers
    supervisor, operator = headers["supervisor"], headers["operator"]
    frozen = client.post(
        f"{API}/penalties/freeze", json={"period": "2026-02", "lot": "lighting"}, headers=supervisor
    )
    assert frozen.status_code == 201, frozen.text
    assert frozen.json()["frozen_by"] == "user:supervisor"
    again = client.post(
        f"{API}/penalties/freeze", json={"period": "2026-02", "lot": "lighting"}, headers=supervisor
    )
    assert again.status_code == 409
    refused = client.post(
        f"{API}/penalties/freeze", json={"period": "2026-02", "lot": "lighting"}, headers=operator
    )
    assert refused.status_code == 403
    statements = client.get(
        f"{API}/penalties", params={"period": "2026-02", "lot": "lighting"}, headers=operator
    ).json()["items"]
    assert statements[0]["frozen"] is True
    back = client.post(
        f"{API}/contracts/MGP-2025/amendments",
        json={
            "lot": "lighting",
            "part": "kpi",
            "kpi": "availability",
            "effective_from": "2026-02-10",
            "version": {"target": 99},
            "reason": "renegotiated",
        },
        headers=supervisor,
    )
    assert back.status_code == 409
    amended = client.post(
        f"{API}/contracts/MGP-2025/amendments",
        json={
            "lot": "lighting",
            "part": "kpi",
            "kpi": "availability",
            "effective_from": "2026-07-01",
            "version": {"target": 99},
            "reason": "amendment no. 2",
        },
        headers=supervisor,
    )
    assert amended.status_code == 201, amended.text
    assert amended.json()["amendments"][0]["reason"] == "amendment no. 2"
    program = client.put(
        f"{API}/dimming-programs/quiet-night",
        json={
            "name": "Quiet night",
            "steps": [
                {"from": "dusk", "to": "22:00", "level": 100},
                {"from": "22:00", "to": "dawn", "level": 40},
            ],
        },
        headers=supervisor,
    )
    assert program.status_code == 200, program.text
    bad = client.put(
        f"{API}/dimming-programs/broken",
        json={"name": "Broken", "steps": [{"from": "dusk", "to": "25:00", "level": 100}]},
        headers=supervisor,
    )
    assert bad.status_code == 400
    assert "steps[0].to" in bad.text
    assigned = client.post(
        f"{API}/dimming-programs/quiet-night/assignments",
        json={"target_type": "commune", "target": "21231", "effective_from": "2027-01-01"},
        headers=supervisor,
    )
    assert assigned.status_code == 201, assigned.text
    listed = client.get(f"{API}/dimming-programs", headers=headers["agent-dijon"]).json()
    quiet = next(p for p in listed["items"] if p["code"] == "quiet-night")
    assert quiet["assignments"][0]["target"] == "21231"
    operator_try = client.put(
        f"{API}/dimming-programs/quiet-night",
        json={"name": "x", "steps": [{"from": "dusk", "to": "dawn", "level": 1}]},
        headers=operator,
    )
    assert operator_try.status_code == 403
