"""The staff side of citizen reports over HTTP, both databases: who sees which reports and whose
contact details, who moves them on, merging, and the catalogue managed by admins."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.reports import services
from metropilot.simulate.services import generate_metropolis
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR
from tests.factories import WORLD_ACCOUNTS, bearer, create_world_accounts


@dataclass
class City:
    platform: Platform
    client: TestClient
    headers: dict[str, dict[str, str]]
    dijon: int  # a report in Dijon (21231)
    chenove: int  # a report in Chenôve (21166)


def _light_in(platform: Platform, insee: str) -> tuple[float, float]:
    a = assets_repository.assets.c
    with platform.uow_factory() as uow:
        lon, lat = uow.connection.execute(
            select(a.lon, a.lat)
            .where(a.kind == "streetlight", a.commune_insee == insee)
            .order_by(a.id)
            .limit(1)
        ).one()
    return float(lon), float(lat)


@pytest.fixture
def city(platform: Platform) -> Iterator[City]:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.02, seed=5)
        uow.commit()
    create_world_accounts(platform)
    ids = []
    for insee in ("21231", "21166"):
        lon, lat = _light_in(platform, insee)
        with platform.uow_factory(write=True) as uow:
            result = services.submit(
                uow,
                services.Submission(
                    category_code="streetlight-broken",
                    lon=lon,
                    lat=lat,
                    description=f"dark in {insee}",
                    attributes={"light_state": "off"},
                    email=f"someone-{insee}@example.org",
                    phone="+33600000000",
                ),
                TEST_ACTOR,
            )
            uow.commit()
        ids.append(result.report.id)
    with TestClient(create_app(platform)) as client:
        headers = {name: bearer(client, name) for name in WORLD_ACCOUNTS}
        yield City(platform, client, headers, ids[0], ids[1])


def test_the_command_post_sees_every_report_with_the_contact(city: City) -> None:
    listed = city.client.get("/api/v1/reports", headers=city.headers["operator"]).json()
    assert {r["id"] for r in listed["items"]} == {city.dijon, city.chenove}
    dijon = next(r for r in listed["items"] if r["id"] == city.dijon)
    assert dijon["reporter"]["email"] == "someone-21231@example.org"
    assert dijon["state"] == "new"
    assert dijon["asset"] is not None
    one = city.client.get(f"/api/v1/reports/{city.dijon}", headers=city.headers["operator"])
    assert [t["state"] for t in one.json()["timeline"]] == ["new"]
    # The administrator runs the platform: reports yes, citizens' contacts no.
    admin = city.client.get("/api/v1/reports", headers=city.headers["admin"]).json()
    assert all("reporter" not in r for r in admin["items"])


def test_a_commune_agent_sees_and_moves_their_commune_only(city: City) -> None:
    agent = city.headers["agent-dijon"]
    listed = city.client.get("/api/v1/reports", headers=agent).json()
    assert [r["id"] for r in listed["items"]] == [city.dijon]
    assert "reporter" not in listed["items"][0]
    assert "someone-" not in str(listed)
    # Asking for another commune does not widen the view.
    asked = city.client.get("/api/v1/reports?commune=21166", headers=agent).json()
    assert asked["items"] == []
    assert city.client.get(f"/api/v1/reports/{city.chenove}", headers=agent).status_code == 404
    moved = city.client.post(
        f"/api/v1/reports/{city.dijon}/state",
        json={"state": "triaged", "note": "Sent to the lighting team."},
        headers=agent,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status_notes"] == "Sent to the lighting team."
    other = city.client.post(
        f"/api/v1/reports/{city.chenove}/state", json={"state": "triaged"}, headers=agent
    )
    assert other.status_code == 404


def test_states_move_with_reasons_and_errors_are_clear(city: City) -> None:
    operator = city.headers["operator"]
    url = f"/api/v1/reports/{city.dijon}/state"
    fixed = city.client.post(
        url,
        json={
            "state": "fixed",
            "agency_responsible": "Lucerna Éclairage",
            "expected_at": "2026-12-01T10:00:00+01:00",
        },
        headers=operator,
    )
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert (body["state"], body["status"]) == ("fixed", "closed")
    assert body["agency_responsible"] == "Lucerna Éclairage"
    again = city.client.post(url, json={"state": "in_progress"}, headers=operator)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "report_closed"
    unknown = city.client.post(url, json={"state": "solved"}, headers=operator)
    assert unknown.status_code == 400
    naive = city.client.post(
        url, json={"state": "reopened", "expected_at": "2026-12-01T10:00:00"}, headers=operator
    )
    assert naive.status_code == 400
    reopened = city.client.post(url, json={"state": "reopened"}, headers=operator)
    assert reopened.json()["status"] == "open"


def test_merging_over_http(city: City) -> None:
    operator = city.headers["operator"]
    merged = city.client.post(
        f"/api/v1/reports/{city.chenove}/merge", json={"into": city.dijon}, headers=operator
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["state"] == "duplicate"
    assert merged.json()["duplicate_of"] == city.dijon
    original = city.client.get(f"/api/v1/reports/{city.dijon}", headers=operator).json()
    assert original["supporters"] == 1
    missing = city.client.post(
        f"/api/v1/reports/{city.dijon}/merge", json={"into": 999999}, headers=operator
    )
    assert missing.status_code == 404


def test_admins_manage_the_catalogue(city: City) -> None:
    admin = city.headers["admin"]
    category = {
        "code": "snow-ice",
        "group": "Roads and pavements",
        "name": "Snow or ice",
        "name_fr": "Neige ou verglas",
        "default_priority": "P2",
        "attributes": [
            {
                "code": "surface",
                "datatype": "singlevaluelist",
                "description": "Where?",
                "values": [
                    {"key": "road", "name": "Road"},
                    {"key": "pavement", "name": "Pavement"},
                ],
            }
        ],
    }
    created = city.client.post("/api/v1/report-categories", json=category, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "snow-ice"
    twice = city.client.post("/api/v1/report-categories", json=category, headers=admin)
    assert twice.status_code == 409
    bad = city.client.post(
        "/api/v1/report-categories",
        json={**category, "code": "x y", "asset_kind": "spaceship"},
        headers=admin,
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["loc"] == "code"
    retired = city.client.put(
        "/api/v1/report-categories/snow-ice", json={**category, "active": False}, headers=admin
    )
    assert retired.status_code == 200
    renamed = city.client.put(
        "/api/v1/report-categories/snow-ice", json={**category, "code": "other"}, headers=admin
    )
    assert renamed.status_code == 400
    listed = city.client.get("/api/v1/report-categories", headers=admin).json()["items"]
    assert next(c for c in listed if c["code"] == "snow-ice")["active"] is False
    # Retired: no longer offered to citizens' apps.
    services_json = city.client.get("/open311/v2/services.json").json()
    assert "snow-ice" not in {s["service_code"] for s in services_json}
