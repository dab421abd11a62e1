"""Cases and routing over HTTP, both databases: who sees which case, explaining, triaging."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import BATCH_OBSERVERS, Platform
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry.services import IngestPipeline
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR
from tests.factories import WORLD_ACCOUNTS, bearer, create_world_accounts

LIGHTING_TEAM = "lucerna-eclairage-field"


@dataclass
class City:
    client: TestClient
    headers: dict[str, dict[str, str]]
    case_id: int


@pytest.fixture
def city(platform: Platform) -> Iterator[City]:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.02, seed=5)
        uow.commit()
    create_world_accounts(platform)
    a = assets_repository.assets.c
    with platform.uow_factory() as uow:
        ref = uow.connection.execute(
            select(a.external_ref)
            .where(a.kind == "streetlight", a.commune_insee == "21231")
            .order_by(a.id)
            .limit(1)
        ).scalar_one()
    with TestClient(create_app(platform)) as client:
        headers = {name: bearer(client, name) for name in WORLD_ACCOUNTS}
        rule = client.post(
            "/api/v1/routing/rules",
            json={
                "order": 10,
                "name": "Lamp failures to the lighting contractor",
                "categories": ["lamp-failure"],
                "team": LIGHTING_TEAM,
            },
            headers=headers["supervisor"],
        )
        assert rule.status_code == 201, rule.text
        now = datetime.now(UTC)
        IngestPipeline(
            platform.uow_factory,
            raw_retention=timedelta(days=30),
            max_batch=10,
            observers=list(BATCH_OBSERVERS),
        ).ingest(
            [
                {
                    "asset": ref,
                    "ts": (now - timedelta(seconds=2)).isoformat(),
                    "metrics": {"lamp_failure": True},
                }
            ],
            source="test",
            now=now,
        )
        cases = client.get("/api/v1/cases", headers=headers["operator"]).json()["items"]
        assert len(cases) == 1
        yield City(client, headers, cases[0]["id"])


def test_a_case_carries_its_team_and_who_sees_it(city: City) -> None:
    case = city.client.get(f"/api/v1/cases/{city.case_id}", headers=city.headers["operator"])
    body = case.json()
    assert body["category"] == "lamp-failure"
    assert body["state"] == "open"
    assert body["commune"] == "21231"
    assert body["team"]["code"] == LIGHTING_TEAM
    assert body["team"]["public"] is False
    assert body["alarms"]
    for who, sees in [
        ("contractor-lighting", True),
        ("contractor-lead", False),
        ("agent-dijon", True),
        ("agent-chenove", False),
        ("admin", True),
    ]:
        got = city.client.get(f"/api/v1/cases/{city.case_id}", headers=city.headers[who])
        assert got.status_code == (200 if sees else 404), who
        listed = city.client.get("/api/v1/cases", headers=city.headers[who]).json()["items"]
        assert (city.case_id in {c["id"] for c in listed}) is sees, who


def test_explaining_and_triaging(city: City) -> None:
    operator = city.headers["operator"]
    explained = city.client.post(
        "/api/v1/routing/explain", json={"case": city.case_id}, headers=operator
    ).json()
    assert explained["team"] == LIGHTING_TEAM
    assert explained["rules"][0]["chosen"] is True
    other = city.client.post(
        "/api/v1/routing/explain",
        json={"category": "pothole", "at": "2026-11-27T23:30:00+01:00"},
        headers=operator,
    ).json()
    assert other["default"] is True
    assert other["rules"][0]["failures"][0]["criterion"] == "categories"
    naive = city.client.post(
        "/api/v1/routing/explain",
        json={"category": "pothole", "at": "2026-11-27T23:30:00"},
        headers=operator,
    )
    assert naive.status_code == 400

    url = f"/api/v1/cases/{city.case_id}/triage"
    no_reason = city.client.post(url, json={"category": "pothole"}, headers=operator)
    assert no_reason.status_code == 400
    triaged = city.client.post(
        url,
        json={"category": "pothole", "priority": "P2", "reason": "a hole at the mast's foot"},
        headers=operator,
    )
    assert triaged.status_code == 200, triaged.text
    assert triaged.json()["state"] == "triaged"
    assert triaged.json()["team"] is None  # no rule for potholes: the command post's queue
    again = city.client.post(url, json={}, headers=operator)
    assert again.status_code == 409
    timeline = city.client.get(f"/api/v1/cases/{city.case_id}/timeline", headers=operator).json()
    whats = [e["what"] for e in timeline["entries"]]
    assert whats[:3] == ["detected", "opened", "routed"]
    assert "triaged" in whats
    assert timeline["links"][0]["from"] == "detected"
    assert timeline["links"][0]["to"] == "triaged"
    bad_rule = city.client.post(
        "/api/v1/routing/rules",
        json={"order": 1, "name": "x", "team": "no-such-team", "days": ["someday"]},
        headers=city.headers["supervisor"],
    )
    assert bad_rule.status_code == 400
