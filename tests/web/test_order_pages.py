"""The teams' phone page of their work orders (``GET /orders``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry.services import IngestPipeline
from metropilot.web.app import create_app
from metropilot.web.signin import LOGIN_CSRF_FIELD
from tests.conftest import TEST_ACTOR
from tests.factories import PASSWORD, bearer, create_world_accounts

LIGHTING_TEAM = "lucerna-eclairage-field"


@dataclass
class City:
    client: TestClient
    order_id: int


@pytest.fixture
def city(platform: Platform) -> Iterator[City]:
    """A small city with one lamp failure dispatched to the lighting contractor."""
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
        supervisor, operator = bearer(client, "supervisor"), bearer(client, "operator")
        client.post(
            "/api/v1/routing/rules",
            json={
                "order": 10,
                "name": "Lamps",
                "categories": ["lamp-failure"],
                "team": LIGHTING_TEAM,
            },
            headers=supervisor,
        ).raise_for_status()
        now = datetime.now(UTC)
        IngestPipeline(
            platform.uow_factory,
            raw_retention=timedelta(days=30),
            max_batch=10,
            observers=list(platform.wiring.batch_observers),
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
        case_id = client.get("/api/v1/cases", headers=operator).json()["items"][0]["id"]
        client.post(f"/api/v1/cases/{case_id}/triage", json={}, headers=operator).raise_for_status()
        order = client.post(
            f"/api/v1/cases/{case_id}/dispatch",
            json={"instructions": "Change the lamp <b>tonight</b>"},
            headers=operator,
        )
        order.raise_for_status()
        yield City(client, order.json()["id"])


def _sign_in(client: TestClient, username: str) -> str:
    page = client.get("/login", params={"next": "/orders"})
    token = re.search(rf'name="{LOGIN_CSRF_FIELD}" value="([^"]*)"', page.text)
    assert token
    form = {
        "username": username,
        "password": PASSWORD,
        "code": "",
        LOGIN_CSRF_FIELD: token.group(1),
        "next": "/orders",
    }
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/orders"
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/orders").text)
    assert csrf
    return csrf.group(1)


def test_the_team_sees_its_order_and_steps_it(city: City) -> None:
    client = city.client
    csrf = _sign_in(client, "contractor-lighting")
    page = client.get("/orders", params={"lang": "en"})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert f'id="order-{city.order_id}"' in html
    assert "Lamp failure" in html
    assert "Lucerna" in html or "lucerna" in html  # the organisation
    assert "Accept by" in html
    assert "Finish by" in html
    assert "Change the lamp &lt;b&gt;tonight&lt;/b&gt;" in html  # escaped
    assert 'data-step="accept"' in html
    assert 'data-step="refuse"' in html
    assert "<script>" not in html
    assert "<script >" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag
    assert re.search(r"/static/(r-[0-9a-f]{12}/)?orders\.js", html)
    assert 'id="orders-config"' in html

    # What the buttons do: the JSON API with the session's CSRF token.
    step = client.post(
        f"/api/v1/work-orders/{city.order_id}/accept",
        json={"note": None},
        headers={"X-CSRF-Token": csrf},
    )
    assert step.status_code == 200, step.text
    html = client.get("/orders", params={"lang": "fr"}).text
    assert "Mes bons de travaux" in html
    assert "Accepté" in html
    assert 'data-step="en_route"' in html
    assert 'data-step="accept"' not in html
    assert "À terminer avant" in html
    assert "À accepter avant" not in html


def test_another_contractor_sees_none(city: City) -> None:
    _sign_in(city.client, "contractor-lead")
    html = city.client.get("/orders", params={"lang": "en"}).text
    assert f'id="order-{city.order_id}"' not in html
    assert "No live work order at the moment." in html


def test_the_command_post_sees_without_buttons(city: City) -> None:
    _sign_in(city.client, "operator")
    html = city.client.get("/orders").text
    assert f'id="order-{city.order_id}"' in html
    assert "data-step=" not in html


def test_anonymous_visitors_sign_in_and_others_are_refused(city: City) -> None:
    client = city.client
    response = client.get("/orders", follow_redirects=False, headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/orders"
    assert client.get("/orders", follow_redirects=False).status_code == 401  # a script
    citizen = client.get("/orders", headers=bearer(client, "citizen"))
    assert citizen.status_code == 403
    assert "contractors and field agents" in citizen.text
