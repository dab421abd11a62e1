"""One identifier and one instant for every route, both databases.

An id is a whole number from 1 to 2³¹−1 wherever it comes from: a path, a query, a JSON body,
a list of ids. Beyond that range (2⁶³ once answered 500: SQLite cannot bind it) the answer is
400 ``invalid_input``, as ``/assets/{id}`` always answered, before anything reaches the
database. An instant is ISO 8601 with a UTC offset, from 1970 to 9000 in UTC; the edges of the
calendar (year 1 at +14:00 is year 0 in UTC, year 9999 at −14:00 is year 10000) once answered
500, and now answer 400 ``invalid_datetime`` like ``/audit`` always did.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

API = "/api/v1"
NOT_IDS = (0, 2**31, 2**63, 10**30)

# (method, path with {} for the id, who may call it, the JSON body it needs if any)
ID_IN_PATH: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("get", "/assets/{}", "operator", None),
    ("get", "/alarms/{}", "operator", None),
    ("post", "/alarms/{}/acknowledge", "operator", {}),
    ("post", "/alarms/{}/clear", "operator", {"comment": "test"}),
    ("post", "/alarms/{}/assign", "operator", {"assignee": None}),
    ("post", "/alarms/{}/comments", "operator", {"text": "test"}),
    ("get", "/rules/{}", "operator", None),
    ("patch", "/rules/{}", "supervisor", {}),
    ("delete", "/rules/{}", "supervisor", None),
    ("get", "/reports/{}", "operator", None),
    ("post", "/reports/{}/state", "operator", {"state": "triaged"}),
    ("post", "/reports/{}/merge", "operator", {"into": 1}),
    ("post", "/reports/{}/case", "operator", None),
    ("get", "/cases/{}", "operator", None),
    ("get", "/cases/{}/timeline", "operator", None),
    ("post", "/cases/{}/triage", "operator", {}),
    ("post", "/cases/{}/dispatch", "operator", {}),
    ("post", "/cases/{}/resolve", "operator", {}),
    ("get", "/work-orders/{}", "operator", None),
    ("get", "/work-orders/{}/photos/1.jpg", "operator", None),
    ("post", "/work-orders/{}/verify", "operator", {}),
    ("put", "/routing/rules/{}", "supervisor", {}),
    ("delete", "/routing/rules/{}", "supervisor", None),
    ("get", "/commands/{}", "operator", None),
    ("get", "/command-batches/{}", "operator", None),
    ("get", "/scenario-runs/{}", "operator", None),
    ("post", "/scenario-runs/{}/rollback", "operator", {}),
    ("get", "/assets/{}/twin", "operator", None),
    ("delete", "/keys/{}", "admin", None),
]

ID_IN_QUERY: list[tuple[str, str]] = [
    ("/alarms", "asset"),
    ("/alarms", "rule"),
    ("/alarms/summary", "asset"),
    ("/alarms/summary", "rule"),
    ("/cases", "asset"),
    ("/work-orders", "case"),
    ("/commands", "asset"),
    ("/commands", "batch"),
]

# (method, path, who, a body with the id given as {id})
ID_IN_BODY: list[tuple[str, str, str, dict[str, Any]]] = [
    ("post", "/cases", "operator", {"category": "lamp-failure", "asset": "{id}"}),
    ("post", "/reports/1/merge", "operator", {"into": "{id}"}),
    ("post", "/routing/explain", "operator", {"case": "{id}"}),
    ("put", "/lighting-groups/fuzz", "supervisor", {"name": "G", "cabinet_ids": [1, "{id}"]}),
    (
        "post",
        "/commands",
        "operator",
        {"asset": "{id}", "command": "set_light_level", "params": {"level_pct": 50}},
    ),
    (
        "post",
        "/rules",
        "supervisor",
        {
            "name": "R",
            "type": "heartbeat",
            "severity": "minor",
            "params": {"interval_s": 60},
            "suppresses": ["{id}"],
        },
    ),
    (
        "post",
        "/rules",
        "supervisor",
        {
            "name": "R",
            "type": "heartbeat",
            "severity": "minor",
            "params": {"interval_s": 60},
            "scope": {"assets": ["{id}"]},
        },
    ),
    ("patch", "/rules/1", "supervisor", {"suppresses": ["{id}"]}),
]


def _with_id(value: Any, number: int) -> Any:
    if value == "{id}":
        return number
    if isinstance(value, dict):
        return {k: _with_id(v, number) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_id(v, number) for v in value]
    return value


def _refused(response: Any, code: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


@pytest.mark.parametrize(("method", "path", "who", "body"), ID_IN_PATH)
def test_an_id_in_a_path_beyond_the_range_is_400(
    world_client: TestClient,
    world_tokens: dict[str, dict[str, str]],
    method: str,
    path: str,
    who: str,
    body: dict[str, Any] | None,
) -> None:
    for number in NOT_IDS:
        response = world_client.request(
            method, API + path.format(number), json=body, headers=world_tokens[who]
        )
        error = _refused(response, "invalid_input")
        assert "path." in error["message"], error
    # One in the range is an id: looked up (or its body judged), never refused as an id.
    found = world_client.request(
        method, API + path.format(2**31 - 1), json=body, headers=world_tokens[who]
    )
    assert found.status_code in (400, 404, 409), found.text
    assert "path." not in found.text


@pytest.mark.parametrize(("path", "name"), ID_IN_QUERY)
def test_an_id_in_a_query_beyond_the_range_is_400(
    world_client: TestClient, path: str, name: str
) -> None:
    for number in NOT_IDS:
        error = _refused(world_client.get(API + path, params={name: str(number)}), "invalid_input")
        assert name in error["message"], error
    assert world_client.get(API + path, params={name: "2147483647"}).status_code == 200


def test_comma_separated_ids_have_the_same_range(world_client: TestClient) -> None:
    for value in ("1,9223372036854775808", "12,0", "1,²", "١٢", "one,two"):
        error = _refused(
            world_client.get(f"{API}/alarms", params={"asset": value}), "invalid_input"
        )
        assert "asset" in error["message"]
    assert world_client.get(f"{API}/alarms", params={"asset": "1, 2,,3"}).status_code == 200


@pytest.mark.parametrize(("method", "path", "who", "body"), ID_IN_BODY)
def test_an_id_in_a_body_beyond_the_range_is_400(
    world_client: TestClient,
    world_tokens: dict[str, dict[str, str]],
    method: str,
    path: str,
    who: str,
    body: dict[str, Any],
) -> None:
    for number in NOT_IDS:
        response = world_client.request(
            method, API + path, json=_with_id(body, number), headers=world_tokens[who]
        )
        error = _refused(response, "invalid_input")
        assert "body." in error["message"], error


EDGES = [
    "0001-01-01T00:00:00+14:00",  # year 0 in UTC: Python cannot hold it
    "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
    "1969-12-31T23:59:59Z",
    "9000-01-01T00:00:00Z",
    "2026-11-27T08:00:00",  # no offset: ambiguous
    "27/11/2026",
    "",
]
INSTANT_IN_QUERY: list[tuple[str, str, str, dict[str, str]]] = [
    ("/reports", "since", "operator", {}),
    ("/chains/stats", "since", "operator", {}),
    ("/chains/stats", "until", "operator", {}),
    ("/audit", "from", "supervisor", {}),
    ("/audit", "to", "supervisor", {}),
    ("/audit/export", "from", "supervisor", {}),
    ("/stream", "since", "operator", {"timeout_s": "0"}),
]


@pytest.mark.parametrize(("path", "name", "who", "others"), INSTANT_IN_QUERY)
def test_an_instant_in_a_query_is_iso_8601_with_an_offset_within_range(
    world_client: TestClient,
    world_tokens: dict[str, dict[str, str]],
    path: str,
    name: str,
    who: str,
    others: dict[str, str],
) -> None:
    for value in EDGES:
        response = world_client.get(
            API + path, params={**others, name: value}, headers=world_tokens[who]
        )
        error = _refused(response, "invalid_datetime")
        assert error["message"].startswith(f"{name}: "), error
    # Accepted forms: an offset or Z, at the edges of the range too.
    for value in ("2026-11-27T08:00:00+01:00", "1970-01-01T00:00:00Z"):
        response = world_client.get(
            API + path, params={**others, name: value}, headers=world_tokens[who]
        )
        assert response.status_code != 400 or "since" in response.text, response.text


def test_an_asset_s_telemetry_window_has_the_same_instants(world_client: TestClient) -> None:
    asset = world_client.get(f"{API}/assets", params={"limit": 1}).json()["items"][0]["id"]
    path = f"{API}/assets/{asset}/telemetry"
    for name in ("from", "to"):
        for value in EDGES:
            response = world_client.get(path, params={"metric": "power_w", name: value})
            assert _refused(response, "invalid_datetime")["message"].startswith(f"{name}: ")
    window = {"from": "2026-11-26T00:00:00+01:00", "to": "2026-11-27T00:00:00+01:00"}
    assert world_client.get(path, params={"metric": "power_w", **window}).status_code == 200


def test_an_instant_in_a_body_has_the_same_rule(
    world_client: TestClient, world_tokens: dict[str, dict[str, str]]
) -> None:
    for value in [*EDGES, 1_700_000_000]:
        explained = world_client.post(
            f"{API}/routing/explain", json={"category": "lamp-failure", "at": value}
        )
        assert _refused(explained, "invalid_datetime")["message"].startswith("at: ")
        expected = world_client.post(
            f"{API}/reports/1/state", json={"state": "triaged", "expected_at": value}
        )
        assert _refused(expected, "invalid_datetime")["message"].startswith("expected_at: ")
    explained = world_client.post(
        f"{API}/routing/explain",
        json={"category": "lamp-failure", "at": "2026-11-27T22:30:00+01:00"},
    )
    assert explained.status_code == 200, explained.text


def test_the_openapi_document_states_the_errors_the_api_answers(
    world_client: TestClient,
) -> None:
    # FastAPI documents a 422 this API never sends; the 400s (and every other 4xx) it does
    # send are the error body, and the document now says so.
    document = world_client.get(f"{API}/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    error_body = document["components"]["schemas"]["ErrorBody"]
    validator = jsonschema_rs.validator_for(error_body)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)
            errors = operation["responses"]["4XX"]
            if not path.startswith("/open311/"):
                schema = errors["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    refused = world_client.get(f"{API}/alarms/0")
    assert refused.status_code == 400
    validator.validate(refused.json())
