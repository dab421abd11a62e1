"""Scoping is applied in the query: each account sees only its part of the city."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.bootstrap import Platform
from metropilot.shared.actors import SYSTEM

DIJON, CHENOVE = "21231", "21166"


def every_item(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 2000, **params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/assets", params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def an_asset(client: TestClient, **params: str) -> dict[str, Any]:
    items = client.get("/api/v1/assets", params={"limit": 1, **params}).json()["items"]
    assert items, params
    return dict(items[0])


def test_a_commune_agent_sees_only_its_commune(
    world_client: TestClient, world_tokens: dict[str, dict[str, str]]
) -> None:
    agent = world_tokens["agent-dijon"]
    summary = world_client.get("/api/v1/assets/summary").json()
    seen = every_item(world_client, agent)
    assert {a["commune"] for a in seen} == {DIJON}
    assert len(seen) == summary["by_commune"][DIJON]
    # Asking for another commune does not widen the scope: it narrows to nothing.
    assert every_item(world_client, agent, commune=CHENOVE) == []
    chenove_light = an_asset(world_client, commune=CHENOVE)
    response = world_client.get(f"/api/v1/assets/{chenove_light['id']}", headers=agent)
    assert response.status_code == 404
    exported = world_client.get(
        "/api/v1/assets/export", params={"format": "csv"}, headers=agent
    ).text.splitlines()
    assert len(exported) - 1 == len(seen)
    assert all(f",{DIJON}," in line for line in exported[1:])


def test_a_contractor_sees_only_what_it_maintains(
    world_client: TestClient, world_tokens: dict[str, dict[str, str]]
) -> None:
    lighting = world_tokens["contractor-lighting"]
    seen = every_item(world_client, lighting)
    assert seen
    assert {a["maintainer"] for a in seen} == {"lucerna-eclairage"}
    assert {a["kind"] for a in seen} == {"streetlight", "lighting_cabinet"}
    junction = an_asset(world_client, kind="traffic_junction")
    assert world_client.get(f"/api/v1/assets/{junction['id']}", headers=lighting).status_code == 404
    lead_sees = every_item(world_client, world_tokens["contractor-lead"])
    assert not {a["id"] for a in lead_sees} & {a["id"] for a in seen}


def test_a_field_agent_sees_its_organisation_commune(
    world_client: TestClient, world_tokens: dict[str, dict[str, str]]
) -> None:
    seen = every_item(world_client, world_tokens["field-dijon"])
    assert seen
    assert {a["commune"] for a in seen} == {DIJON}


def test_a_citizen_and_the_public_do_not_see_the_registry(
    world_client: TestClient, world_anonymous: TestClient, world_tokens: dict[str, dict[str, str]]
) -> None:
    response = world_client.get("/api/v1/assets", headers=world_tokens["citizen"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    anonymous = world_anonymous.get("/api/v1/assets")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    # The aggregate counts stay public: they are open data.
    assert world_anonymous.get("/api/v1/assets/summary").status_code == 200


def test_a_device_key_sees_what_its_scope_names(
    world: Platform, world_anonymous: TestClient
) -> None:
    with world.uow_factory(write=True) as uow:
        _, cameras = create_key(
            uow, "camera reader", [parse_scope(f"assets:read kind=camera commune={DIJON}")], SYSTEM
        )
        _, writer = create_key(uow, "telemetry only", [parse_scope("telemetry:write")], SYSTEM)
        uow.commit()
    seen = every_item(world_anonymous, {"X-API-Key": cameras})
    assert seen
    assert {(a["kind"], a["commune"]) for a in seen} == {("camera", DIJON)}
    refused = world_anonymous.get("/api/v1/assets", headers={"X-API-Key": writer})
    assert refused.status_code == 403
    assert "assets:read" in refused.json()["error"]["message"]
    me = world_anonymous.get("/api/v1/auth/me", headers={"X-API-Key": cameras}).json()
    assert me["kind"] == "api_key"
    assert me["scopes"] == [f"assets:read kind=camera commune={DIJON}"]


@pytest.mark.parametrize("header", [{"X-API-Key": "mpk_nope_nope"}, {"Authorization": "Bearer x"}])
def test_wrong_credentials_are_refused_not_ignored(
    world_anonymous: TestClient, header: dict[str, str]
) -> None:
    response = world_anonymous.get("/api/v1/communes", headers=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_the_public_summary_cannot_locate_single_assets(
    world_client: TestClient, world_anonymous: TestClient, world_tokens: dict[str, dict[str, str]]
) -> None:
    for params in (
        {"near": "5.0054,47.2938", "radius_m": "1"},
        {"bbox": "5,47,5.001,47.001"},
        {"maintainer": "lucerna-eclairage"},
    ):
        assert world_anonymous.get("/api/v1/assets/summary", params=params).status_code == 401
    assert (
        world_anonymous.get("/api/v1/assets/summary", params={"kind": "camera"}).status_code == 200
    )
    agent = world_client.get("/api/v1/assets/summary", headers=world_tokens["agent-dijon"]).json()
    assert set(agent["by_commune"]) == {DIJON}


def test_a_key_with_two_scopes_sees_each_not_their_combinations(
    world: Platform, world_anonymous: TestClient
) -> None:
    scopes = [
        parse_scope(f"assets:read kind=camera commune={DIJON}"),
        parse_scope(f"assets:read kind=streetlight commune={CHENOVE}"),
    ]
    with world.uow_factory(write=True) as uow:
        _, key = create_key(uow, "two scopes", scopes, SYSTEM)
        uow.commit()
    seen = {(a["kind"], a["commune"]) for a in every_item(world_anonymous, {"X-API-Key": key})}
    assert seen == {("camera", DIJON), ("streetlight", CHENOVE)}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/assets/99999999999999999999",
        "/api/v1/assets/3000000000",
        "/api/v1/organisations?commune=%00",
        "/api/v1/assets?maintainer=%00",
    ],
)
def test_absurd_input_is_a_400_not_a_500(world_client: TestClient, url: str) -> None:
    response = world_client.get(url)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_input"
