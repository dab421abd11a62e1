"""The audit trail through HTTP, on SQLite and PostgreSQL: filters, cursor, CSV export.

Who may call these endpoints (supervisors and administrators) is the accounts tests' business:
here the audience check is set aside so that only the behaviour is under test.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from metropilot.accounts.audience import AUDIENCE_ATTRIBUTE, Audience, route_audiences
from metropilot.audit.routes import router
from metropilot.bootstrap import Platform
from metropilot.shared.actors import Actor, ActorKind
from metropilot.web.app import API_PREFIX, create_app
from tests.integration.test_audit import (
    LUMINA,
    T0,
    append,
    make_entry,
)

BOB = Actor(ActorKind.USER, "bob", 8, "commune-21231", "public")


def _signed_in_as_supervisor(app: FastAPI) -> None:
    for route in router.routes:
        assert isinstance(route, APIRoute)
        for dependency in route.dependencies:
            marker = dependency.dependency
            if marker is not None and hasattr(marker, AUDIENCE_ATTRIBUTE):
                app.dependency_overrides[marker] = lambda: None


@pytest.fixture
def audit_client(platform: Platform) -> Iterator[TestClient]:
    """Eight entries by three actors over eight minutes, and a client that may read them."""
    append(
        platform,
        [
            make_entry(1),
            make_entry(2, LUMINA, action="asset.status_changed"),
            make_entry(3, BOB, object_type="commune", object_id="21231"),
            make_entry(4),
            make_entry(5, LUMINA, action="asset.status_changed"),
        ],
    )
    append(platform, [make_entry(6, BOB), make_entry(7), make_entry(8, LUMINA)])
    app = create_app(platform)
    if not any(path == f"{API_PREFIX}/audit" for _, path, _ in route_audiences(app.routes)):
        app.include_router(router, prefix=API_PREFIX)  # until the lead mounts it
    _signed_in_as_supervisor(app)
    with TestClient(app) as client:
        yield client


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def all_pages(client: TestClient, params: dict[str, Any]) -> list[int]:
    found: list[int] = []
    cursor = None
    while True:
        response = client.get(
            "/api/v1/audit", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        found += ids(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


def assert_error(response: Any, code: str, fragment: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert fragment in error["message"]


def test_routes_declare_supervisors_and_admins() -> None:
    declared = {
        path: audiences for _, path, audiences in route_audiences(router.routes) if audiences
    }
    assert declared == {
        "/audit": frozenset({Audience.SUPERVISOR, Audience.ADMIN}),
        "/audit/export": frozenset({Audience.SUPERVISOR, Audience.ADMIN}),
    }


def test_list_newest_first_with_every_field(audit_client: TestClient) -> None:
    body = audit_client.get("/api/v1/audit").json()
    assert set(body) == {"items", "next_cursor"}
    assert [item["id"] for item in body["items"]] == [8, 7, 6, 5, 4, 3, 2, 1]
    assert body["next_cursor"] is None
    second = body["items"][-2]
    assert second == {
        "id": 2,
        "at": (T0 + timedelta(minutes=2)).isoformat(),
        "actor": {
            "kind": "api_key",
            "name": "lumina-gateway",
            "id": 3,
            "organisation": "lumina-services",
            "sector": "private",
        },
        "action": "asset.status_changed",
        "object_type": "asset",
        "object_id": "2",
        "changes": {"status": ["ok", "fault"], "note": [None, "change 2"]},
        "prev_hash": body["items"][-1]["hash"],
        "hash": second["hash"],
    }
    assert len(second["hash"]) == 64


def test_cursor_walks_every_entry_once(audit_client: TestClient) -> None:
    first = audit_client.get("/api/v1/audit", params={"limit": 3}).json()
    assert [item["id"] for item in first["items"]] == [8, 7, 6]
    assert isinstance(first["next_cursor"], str)
    assert all_pages(audit_client, {"limit": 3}) == [8, 7, 6, 5, 4, 3, 2, 1]
    assert all_pages(audit_client, {"limit": 2, "actor": "lumina-gateway"}) == [8, 5, 2]
    assert all_pages(audit_client, {"limit": 8}) == [8, 7, 6, 5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor": "alice"}, [7, 4, 1]),
        ({"actor": "nobody"}, []),
        ({"organisation": "lumina-services"}, [8, 5, 2]),
        ({"sector": "private"}, [8, 5, 2]),
        ({"sector": "public"}, [7, 6, 4, 3, 1]),
        ({"action": "asset.status_changed"}, [5, 2]),
        ({"object_type": "commune"}, [3]),
        ({"object_type": "asset", "object_id": "6"}, [6]),
        ({"object_id": "21231"}, [3]),
        ({"from": "2026-11-27T08:06:00Z"}, [8, 7, 6]),
        ({"to": "2026-11-27T09:03:00+01:00"}, [2, 1]),
        ({"from": "2026-11-27T09:02:00+01:00", "to": "2026-11-27T08:05:00Z"}, [4, 3, 2]),
        ({"actor": "alice", "from": "2026-11-27T08:02:00Z"}, [7, 4]),
        ({"actor": " alice ", "organisation": ""}, [7, 4, 1]),
    ],
)
def test_filters(audit_client: TestClient, params: dict[str, str], expected: list[int]) -> None:
    assert ids(audit_client.get("/api/v1/audit", params=params)) == expected


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"from": "2026-11-27T08:00:00"}, "invalid_datetime", "from: '2026-11-27T08:00:00' has no"),
        ({"to": "27/11/2026"}, "invalid_datetime", "to: '27/11/2026' is not an ISO 8601"),
        (
            {"from": "2026-11-27T09:00:00Z", "to": "2026-11-27T08:00:00Z"},
            "invalid_period",
            "must be later than from",
        ),
        ({"sector": "both"}, "invalid_sector", "sector: must be public or private, got 'both'"),
        ({"cursor": "bogus"}, "invalid_cursor", "not a cursor this server issued"),
        ({"limit": "0"}, "invalid_input", "limit"),
        ({"limit": "5001"}, "invalid_input", "limit must be at most 5000"),
    ],
)
def test_bad_parameters_are_400_with_the_reason(
    audit_client: TestClient, params: dict[str, str], code: str, fragment: str
) -> None:
    assert_error(audit_client.get("/api/v1/audit", params=params), code, fragment)


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="metropilot-audit.csv"' in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def test_csv_export_oldest_first_with_the_same_filters(audit_client: TestClient) -> None:
    table = _csv(audit_client.get("/api/v1/audit/export", params={"format": "csv"}))
    assert [int(r["id"]) for r in table] == [1, 2, 3, 4, 5, 6, 7, 8]
    listed = {item["id"]: item for item in audit_client.get("/api/v1/audit").json()["items"]}
    first = table[0]
    assert first["at"] == "2026-11-27T08:01:00.000000Z"
    assert (first["actor_kind"], first["actor_name"], first["actor_id"]) == ("user", "alice", "7")
    assert (first["organisation"], first["sector"]) == ("metropole", "public")
    assert first["changes"] == '{"note":[null,"change 1"],"status":["ok","fault"]}'
    assert (first["prev_hash"], first["hash"]) == (listed[1]["prev_hash"], listed[1]["hash"])

    private = _csv(audit_client.get("/api/v1/audit/export", params={"sector": "private"}))
    assert [int(r["id"]) for r in private] == [2, 5, 8]
    window = _csv(
        audit_client.get(
            "/api/v1/audit/export",
            params={"from": "2026-11-27T08:03:00Z", "to": "2026-11-27T08:05:00Z"},
        )
    )
    assert [int(r["id"]) for r in window] == [3, 4]
    header = audit_client.get("/api/v1/audit/export", params={"actor": "nobody"}).text
    assert header.strip() == (
        "id,at,actor_kind,actor_name,actor_id,organisation,sector,action,object_type,object_id,"
        "changes,prev_hash,hash"
    )


def test_csv_export_refuses_other_formats_and_bad_filters(audit_client: TestClient) -> None:
    assert_error(
        audit_client.get("/api/v1/audit/export", params={"format": "json"}),
        "invalid_input",
        "format",
    )
    assert_error(
        audit_client.get("/api/v1/audit/export", params={"from": "2026-11-27"}),
        "invalid_datetime",
        "has no UTC offset",
    )
