"""/api/v1/rules and /api/v1/alarms over HTTP, on both databases: who may do what, filters,
pagination, scoping in the query, and the platform's error body."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from metropilot.accounts.model import Role, Team, User
from metropilot.accounts.services import create_team, create_user
from metropilot.alarms.routes import router as alarms_router
from metropilot.bootstrap import Platform
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR
from tests.factories import PASSWORD, bearer
from tests.integration.test_alarms import LAMP, SUPPLY, City, reading

ACCOUNTS: dict[str, tuple[Role, str | None, tuple[str, ...], str | None]] = {
    "admin": (Role.ADMIN, "roads", (), None),
    "supervisor": (Role.SUPERVISOR, "roads", (), None),
    "operator": (Role.OPERATOR, "roads", (), None),
    "agent-west": (Role.COMMUNE_AGENT, "roads", ("21001",), None),
    "agent-east": (Role.COMMUNE_AGENT, "roads", ("21002",), None),
    "contractor": (Role.CONTRACTOR, "lumiere-sa", (), None),
    "field": (Role.FIELD_AGENT, "roads", (), "roads-crew"),
    "citizen": (Role.CITIZEN, None, (), None),
}


class Api:
    def __init__(self, city: City, client: TestClient) -> None:
        self.city = city
        self.client = client
        self._headers: dict[str, dict[str, str]] = {"anonymous": {}}

    def headers(self, who: str) -> dict[str, str]:
        """Signs in on first use: each test pays only for the callers it uses."""
        if who not in self._headers:
            self._headers[who] = bearer(self.client, who)
        return self._headers[who]

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params=params, headers=self.headers(who))

    def post(self, who: str, path: str, body: Any = None) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers(who))

    def patch(self, who: str, path: str, body: Any) -> Any:
        return self.client.patch(f"/api/v1{path}", json=body, headers=self.headers(who))

    def delete(self, who: str, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self.headers(who))

    def alarms(self, who: str = "operator", **params: Any) -> list[dict[str, Any]]:
        response = self.get(who, "/alarms", **params)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


@pytest.fixture
def api(platform: Platform) -> Iterator[Api]:
    city = City(platform)
    with platform.uow_factory(write=True) as uow:
        create_team(uow, Team("roads-crew", "Road crew", "roads"), TEST_ACTOR)
        for name, (role, org, communes, team) in ACCOUNTS.items():
            user = User(username=name, role=role, organisation=org, communes=communes, team=team)
            create_user(uow, user, PASSWORD, TEST_ACTOR)
        uow.commit()
    app = create_app(platform)
    if not any(getattr(r, "path", "") == "/api/v1/alarms" for r in app.routes):
        app.include_router(alarms_router, prefix="/api/v1")  # until the app wires it
    with TestClient(app) as client:
        yield Api(city, client)


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert set(body) == {"code", "message", "details"}
    return dict(body)


# --- rules -------------------------------------------------------------------------------------

PM10 = {
    "code": "pm10-high",
    "name": "PM10 above 50",
    "type": "threshold",
    "severity": "warning",
    "params": {"metric": "pm10", "raise_at": 50, "clear_at": 40},
    "scope": {"kinds": ["sensor"]},
}


def test_supervisors_manage_rules(api: Api) -> None:
    created = api.post("supervisor", "/rules", PM10)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["params"] == {**PM10["params"], "direction": "above"}  # defaults filled in
    assert rule["version"] == 1
    assert rule["scope"] == {"kinds": ["sensor"], "communes": [], "assets": []}
    assert rule["created_by"] == "user:supervisor"
    listed = api.get("operator", "/rules").json()
    assert [r["code"] for r in listed["items"]] == ["pm10-high"]
    assert listed["next_cursor"] is None
    assert api.get("admin", f"/rules/{rule['id']}").json()["name"] == "PM10 above 50"

    patched = api.patch(
        "supervisor", f"/rules/{rule['id']}", {"params": {"raise_at": 60}, "version": 1}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["params"]["raise_at"] == 60
    assert patched.json()["version"] == 2
    stale = api.patch("supervisor", f"/rules/{rule['id']}", {"enabled": False, "version": 1})
    assert error(stale, 409)["code"] == "version_conflict"
    disabled = api.patch("admin", f"/rules/{rule['id']}", {"enabled": False})
    assert disabled.json()["enabled"] is False

    assert api.delete("supervisor", f"/rules/{rule['id']}").status_code == 204
    assert error(api.get("operator", f"/rules/{rule['id']}"), 404)["code"] == "not_found"
    assert error(api.delete("supervisor", f"/rules/{rule['id']}"), 404)["code"] == "not_found"


def test_rule_errors_use_the_platform_error_body(api: Api) -> None:
    bad = error(
        api.post(
            "supervisor",
            "/rules",
            {**PM10, "params": {"metric": "pm99", "raise_at": 50}, "scope": {"kinds": ["ufo"]}},
        ),
        400,
    )
    assert bad["code"] == "invalid_rule"
    assert sorted(d["loc"] for d in bad["details"]) == ["params.metric", "scope.kinds.0"]
    band = error(
        api.post("supervisor", "/rules", {**PM10, "params": {**PM10["params"], "clear_at": 70}}),
        400,
    )
    assert band["code"] == "invalid_rule"
    assert "clear_at" in band["message"]
    shape = error(api.post("supervisor", "/rules", {**PM10, "colour": "red"}), 400)
    assert shape["code"] == "invalid_input"
    assert error(api.post("supervisor", "/rules", {**PM10, "severity": "huge"}), 400)["details"]
    assert api.post("supervisor", "/rules", PM10).status_code == 201
    assert error(api.post("supervisor", "/rules", PM10), 409)["code"] == "rule_code_taken"
    rule_id = api.get("operator", "/rules").json()["items"][0]["id"]
    immutable = error(api.patch("supervisor", f"/rules/{rule_id}", {"type": "state"}), 400)
    assert immutable["code"] == "type_immutable"
    assert error(api.patch("supervisor", "/rules/999999", {"enabled": False}), 404)


def test_who_may_touch_rules(api: Api) -> None:
    for who, method, status in (
        ("operator", "post", 403),
        ("agent-west", "post", 403),
        ("contractor", "get", 403),
        ("field", "get", 403),
        ("citizen", "get", 403),
        ("anonymous", "get", 401),
        ("anonymous", "post", 401),
    ):
        response = api.post(who, "/rules", PM10) if method == "post" else api.get(who, "/rules")
        assert error(response, status)["code"] in ("forbidden", "not_authenticated"), who


# --- alarms ------------------------------------------------------------------------------------


def raise_some(api: Api) -> dict[str, dict[str, Any]]:
    """Lamp failures in both communes, a cabinet supply loss muting its lamps, PM10 in the east."""
    lamp = api.city.rule(**LAMP, scope={"kinds": ["streetlight"]}, severity="minor")
    api.city.rule(**SUPPLY, scope={"kinds": ["lighting_cabinet"]}, suppresses=[lamp.id])
    api.city.rule(
        code="pm10",
        type="threshold",
        params={"metric": "pm10", "raise_at": 50},
        severity="warning",
        scope={"kinds": ["sensor"]},
    )
    api.city.send(0, reading("SL-9", lamp_failure=True), reading("AQ-1", pm10=80))
    api.city.send(
        60,
        reading("CAB-1", supply_loss=True),
        reading("SL-1", lamp_failure=True),
        reading("SL-2", lamp_failure=True),
    )
    items = api.alarms(suppressed="any")
    return {a["asset_ref"]: a for a in items}


def test_alarm_list_filters_and_pagination(api: Api) -> None:
    alarms = raise_some(api)
    assert set(alarms) == {"SL-9", "AQ-1", "CAB-1", "SL-1", "SL-2"}
    cabinet = alarms["CAB-1"]
    assert {k: cabinet[k] for k in ("asset", "kind", "commune", "severity", "state")} == {
        "asset": api.city.ids["CAB-1"],
        "kind": "lighting_cabinet",
        "commune": "21001",
        "severity": "major",
        "state": "active",
    }
    assert cabinet["suppressed_count"] == 2
    assert cabinet["cleared_at"] is None
    assert alarms["SL-1"]["suppressed_by"] == cabinet["id"]

    def refs(**params: Any) -> list[str]:
        return sorted(a["asset_ref"] for a in api.alarms(**params))

    assert refs() == ["AQ-1", "CAB-1", "SL-9"]  # muted children hidden by default
    assert refs(suppressed="true") == ["SL-1", "SL-2"]
    assert refs(commune="21002") == ["AQ-1", "SL-9"]
    assert refs(kind="streetlight,sensor") == ["AQ-1", "SL-9"]
    assert refs(severity="warning,major") == ["AQ-1", "CAB-1"]
    assert refs(asset=f"{api.city.ids['SL-9']},{api.city.ids['AQ-1']}") == ["AQ-1", "SL-9"]
    assert refs(rule=str(cabinet["rule"])) == ["CAB-1"]
    assert refs(state="cleared") == []
    assert refs(state="active,acknowledged") == ["AQ-1", "CAB-1", "SL-9"]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, "suppressed": "any", **({"cursor": cursor} if cursor else {})}
        page = api.get("operator", "/alarms", **params).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted((a["id"] for a in alarms.values()), reverse=True)  # newest first

    for params, code in (
        ({"state": "burning"}, "invalid_state"),
        ({"severity": "apocalyptic"}, "invalid_severity"),
        ({"kind": "ufo"}, "unknown_kind"),
        ({"commune": "99999"}, "unknown_commune"),
        ({"cursor": "nonsense"}, "invalid_cursor"),
        ({"asset": "one,two"}, "invalid_input"),
        ({"suppressed": "maybe"}, "invalid_input"),
        ({"limit": 0}, "invalid_input"),
    ):
        assert error(api.get("operator", "/alarms", **params), 400)["code"] == code, params

    summary = api.get("operator", "/alarms/summary").json()["open_by_severity"]
    assert summary == {"major": 1, "minor": 1, "warning": 1}


def test_scoping_applies_to_lists_details_and_actions(api: Api) -> None:
    alarms = raise_some(api)
    west = sorted(a["asset_ref"] for a in api.alarms("agent-west", suppressed="any"))
    assert west == ["CAB-1", "SL-1", "SL-2"]
    east = sorted(a["asset_ref"] for a in api.alarms("agent-east", suppressed="any"))
    assert east == ["AQ-1", "SL-9"]
    assert api.alarms("agent-west", commune="21002") == []  # asking does not widen
    # The lighting contractor sees the equipment it maintains, wherever it stands.
    lit = sorted(a["asset_ref"] for a in api.alarms("contractor", suppressed="any"))
    assert lit == ["CAB-1", "SL-1", "SL-2", "SL-9"]
    east_alarm = alarms["SL-9"]["id"]
    assert error(api.get("agent-west", f"/alarms/{east_alarm}"), 404)["code"] == "not_found"
    assert error(api.post("agent-west", f"/alarms/{east_alarm}/acknowledge"), 404)
    assert error(api.post("agent-west", f"/alarms/{east_alarm}/comments", {"text": "x"}), 404)
    assert api.post("agent-east", f"/alarms/{east_alarm}/acknowledge").status_code == 200
    summary = api.get("agent-west", "/alarms/summary").json()["open_by_severity"]
    assert summary == {"major": 1}
    # Children outside the caller's scope are not listed under a parent it sees.
    detail = api.get("agent-west", f"/alarms/{alarms['CAB-1']['id']}").json()
    assert sorted(c["asset_ref"] for c in detail["children"]) == ["SL-1", "SL-2"]


def test_acknowledge_comment_assign_and_clear(api: Api) -> None:
    alarm_id = raise_some(api)["SL-9"]["id"]
    path = f"/alarms/{alarm_id}"
    acked = api.post("operator", f"{path}/acknowledge", {"comment": "on it"})
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "user:operator"
    assert error(api.post("operator", f"{path}/acknowledge"), 409)["code"] == "already_acknowledged"

    note = api.post("field", f"{path}/comments", {"text": "ladder needed"})
    assert note.status_code == 201
    assert note.json()["author"] == "user:field"
    assert error(api.post("operator", f"{path}/comments", {"text": "  "}), 400)["code"] == (
        "comment_required"
    )

    assigned = api.post("agent-east", f"{path}/assign", {"assignee": "contractor"})
    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == "contractor"
    # Someone who does not see the asset, and nobody at all, get the same answer: assigning
    # does not tell who has an account, or where they see.
    refused = error(api.post("operator", f"{path}/assign", {"assignee": "agent-west"}), 400)
    assert refused["code"] == "unknown_assignee"
    ghost = error(api.post("operator", f"{path}/assign", {"assignee": "ghost"}), 400)
    assert ghost["message"].replace("ghost", "agent-west") == refused["message"]
    assert ghost["code"] == refused["code"]
    assert error(api.post("contractor", f"{path}/assign", {"assignee": None}), 403)

    assert error(api.post("operator", f"{path}/clear", {}), 400)["code"] == "comment_required"
    assert error(api.post("operator", f"{path}/clear"), 400)["code"] == "comment_required"
    assert error(api.post("agent-east", f"{path}/clear", {"comment": "fixed"}), 403)
    assert error(api.post("contractor", f"{path}/clear", {"comment": "fixed"}), 403)
    cleared = api.post("operator", f"{path}/clear", {"comment": "lamp replaced"})
    assert cleared.status_code == 200
    body = cleared.json()
    assert body["state"] == "cleared"
    assert body["clear_reason"] == "manual"
    assert body["cleared_by"] == "user:operator"
    assert body["cleared_at"] is not None
    assert error(api.post("operator", f"{path}/clear", {"comment": "again"}), 409)["code"] == (
        "alarm_cleared"
    )
    detail = api.get("operator", path).json()
    assert [c["text"] for c in detail["comments"]] == ["on it", "ladder needed", "lamp replaced"]
    assert error(api.get("operator", "/alarms/999999"), 404)["code"] == "not_found"


def test_who_may_act_on_an_alarm(api: Api) -> None:
    alarm_id = raise_some(api)["SL-9"]["id"]
    for who, action, allowed in (
        ("admin", "acknowledge", False),
        ("admin", "comments", False),
        ("field", "acknowledge", False),
        ("citizen", "comments", False),
        ("anonymous", "acknowledge", False),
        ("contractor", "comments", True),
        ("supervisor", "acknowledge", True),
    ):
        body = {"text": "seen"} if action == "comments" else None
        response = api.post(who, f"/alarms/{alarm_id}/{action}", body)
        if allowed:
            assert response.status_code in (200, 201), (who, action, response.text)
        else:
            assert response.status_code == (401 if who == "anonymous" else 403), (who, action)
    assert error(api.get("citizen", "/alarms"), 403)["code"] == "forbidden"
    assert error(api.get("anonymous", "/alarms"), 401)["code"] == "not_authenticated"
