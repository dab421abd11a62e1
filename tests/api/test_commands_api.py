"""Commands over HTTP, both databases: an operator commands a light and follows it; an area
needs its confirmation; a commune agent only reaches their commune; errors say what is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.simulate.services import generate_metropolis
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR
from tests.factories import WORLD_ACCOUNTS, bearer, create_world_accounts

API = "/api/v1"


@dataclass
class Town:
    platform: Platform
    client: TestClient
    headers: dict[str, dict[str, str]]

    def light(self, commune: str) -> str:
        a = assets_repository.assets.c
        with self.platform.uow_factory() as uow:
            return str(
                uow.connection.execute(
                    select(a.external_ref)
                    .where(a.kind == "streetlight", a.commune_insee == commune)
                    .order_by(a.id)
                    .limit(1)
                ).scalar_one()
            )


@pytest.fixture
def town(platform: Platform) -> Iterator[Town]:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    create_world_accounts(platform)
    with TestClient(create_app(platform)) as client:
        yield Town(platform, client, {name: bearer(client, name) for name in WORLD_ACCOUNTS})


def test_an_operator_commands_a_light_and_follows_it(town: Town) -> None:
    operator = town.headers["operator"]
    ref = town.light("21231")
    created = town.client.post(
        f"{API}/commands",
        json={
            "asset": ref,
            "command": "set_light_level",
            "params": {"level_pct": 100},
            "reason": "night accident at the junction",
        },
        headers=operator,
    )
    assert created.status_code == 201, created.text
    command = created.json()
    assert (command["status"], command["asset_ref"]) == ("pending", ref)
    followed = town.client.get(f"{API}/commands/{command['id']}", headers=operator)
    assert followed.json()["status"] == "pending"
    listed = town.client.get(f"{API}/commands", params={"status": "pending"}, headers=operator)
    assert [c["id"] for c in listed.json()["items"]] == [command["id"]]
    # The commune agent of another commune does not see it.
    other = town.client.get(
        f"{API}/commands/{command['id']}", headers=town.headers["agent-chenove"]
    )
    assert other.status_code == 404


def test_an_area_needs_its_confirmation(town: Town) -> None:
    body = {
        "area": {"commune": "21231"},
        "command": "switch_light",
        "params": {"on": True},
        "reason": "fireworks on the square",
    }
    unconfirmed = town.client.post(f"{API}/commands", json=body, headers=town.headers["operator"])
    assert unconfirmed.status_code == 409
    assert unconfirmed.json()["error"]["code"] == "confirmation_required"
    confirmed = town.client.post(
        f"{API}/commands", json={**body, "confirm": True}, headers=town.headers["operator"]
    )
    assert confirmed.status_code == 201, confirmed.text
    batch = confirmed.json()
    assert batch["counts"]["pending"] == batch["targets"] > 1
    again = town.client.get(
        f"{API}/command-batches/{batch['id']}", headers=town.headers["operator"]
    )
    assert again.json()["targets"] == batch["targets"]


def test_errors_say_what_is_wrong(town: Town) -> None:
    operator = town.headers["operator"]
    ref = town.light("21231")
    cases = [
        (
            {
                "asset": ref,
                "command": "set_light_level",
                "params": {"level_pct": 101},
                "reason": "test run",
            },
            400,
            "invalid_command",
        ),
        (
            {"asset": ref, "command": "set_light_level", "params": {"level_pct": 50}},
            400,
            "reason_required",
        ),
        (
            {
                "asset": "NOPE-1",
                "command": "switch_light",
                "params": {"on": True},
                "reason": "test run",
            },
            404,
            "unknown_asset",
        ),
        (
            {"command": "switch_light", "params": {"on": True}, "reason": "test run"},
            400,
            "invalid_target",
        ),
    ]
    for body, status, code in cases:
        response = town.client.post(f"{API}/commands", json=body, headers=operator)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code
    agent = town.client.post(
        f"{API}/commands",
        json={
            "asset": town.light("21166"),
            "command": "switch_light",
            "params": {"on": True},
            "reason": "festival",
        },
        headers=town.headers["agent-dijon"],
    )
    assert agent.status_code == 404
    contractor = town.client.post(
        f"{API}/commands",
        json={"asset": ref, "command": "switch_light", "params": {"on": True}, "reason": "testing"},
        headers=town.headers["contractor-lighting"],
    )
    assert contractor.status_code == 403


def post_json(town: Town, url: str, body: Any, headers: dict[str, str]) -> Any:
    """Python's JSON, which writes NaN and Infinity as many clients do (httpx refuses to)."""
    return town.client.post(
        url, content=json.dumps(body), headers={**headers, "Content-Type": "application/json"}
    )


def test_places_and_numbers_out_of_this_world_are_400(town: Town) -> None:
    # A longitude of 10**400 overflowed float() (500); NaN passed every comparison.
    operator = town.headers["operator"]
    for around in (
        {"lon": 10**400, "lat": 47.3, "radius_m": 100},
        {"lon": 5.04, "lat": float("nan"), "radius_m": 100},
        {"lon": 5.04, "lat": 91, "radius_m": 100},
        {"lon": 5.04, "lat": 47.3, "radius_m": float("inf")},
    ):
        refused = post_json(
            town,
            f"{API}/commands",
            {
                "area": {"around": around},
                "command": "switch_light",
                "params": {"on": True},
                "reason": "fireworks on the square",
                "confirm": True,
            },
            operator,
        )
        assert refused.status_code == 400, (around, refused.text)
        assert refused.json()["error"]["code"] == "invalid_area"
    for code, params, where in (
        ("major-event", {"venue": [10**400, 47.3]}, "venue"),
        ("major-event", {"venue": [5.04, 47.3], "radius_m": float("nan")}, "radius_m"),
        ("route-closure", {"route": [[5.04, 47.3], [5.05, float("inf")]]}, "route"),
    ):
        preview = post_json(town, f"{API}/scenarios/{code}/preview", {"params": params}, operator)
        assert preview.status_code == 400, (params, preview.text)
        assert where in {p["loc"] for p in preview.json()["error"]["details"]}
