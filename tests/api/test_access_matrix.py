"""Who may call what: every API route against every role, anonymous callers and a device key;
then every write against every role of its audience, inside and outside the caller's scope.

The expectations are written out here, route by route; a new route fails these tests until it
is added, so that nobody ships an endpoint without deciding who it is for, nor a write without
deciding which objects it names and checking them as their reads do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from metropilot.accounts.audience import route_audiences
from metropilot.bootstrap import Platform
from metropilot.web.app import create_app
from tests.api.conftest import DIJON, WriteWorld
from tests.factories import WORLD_ACCOUNTS, bearer

STAFF = {"admin", "supervisor", "operator"}
REGISTRY_READERS = STAFF | {
    "agent-dijon",
    "agent-chenove",
    "contractor-lighting",
    "contractor-lead",
    "field-dijon",
    "device",
}
EVERYONE = {"anonymous", "device", *WORLD_ACCOUNTS}
PEOPLE = set(WORLD_ACCOUNTS)

ALARM_READERS = STAFF | {
    "agent-dijon",
    "agent-chenove",
    "contractor-lighting",
    "contractor-lead",
    "field-dijon",
}
ALARM_ACKNOWLEDGERS = {
    "operator",
    "supervisor",
    "agent-dijon",
    "agent-chenove",
    "contractor-lighting",
    "contractor-lead",
}

REPORT_READERS = STAFF | {"agent-dijon", "agent-chenove"}
PENALTY_READERS = STAFF | {"contractor-lighting", "contractor-lead"}
COMMANDERS = {"operator", "supervisor", "agent-dijon", "agent-chenove"}
CONTRACT_READERS = STAFF | {
    "agent-dijon",
    "agent-chenove",
    "contractor-lighting",
    "contractor-lead",
}

# (method, path as declared) → who may call it. Path parameters are filled by SAMPLES.
MATRIX: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/health"): EVERYONE,
    ("GET", "/api/v1/communes"): EVERYONE,
    ("GET", "/api/v1/communes/{insee}"): EVERYONE,
    ("GET", "/api/v1/districts"): EVERYONE,
    ("GET", "/api/v1/streets"): EVERYONE,
    ("GET", "/api/v1/organisations"): EVERYONE,
    ("GET", "/api/v1/assets/summary"): EVERYONE,
    ("GET", "/api/v1/assets/kinds"): EVERYONE,
    ("GET", "/api/v1/assets"): REGISTRY_READERS,
    ("GET", "/api/v1/assets/export"): REGISTRY_READERS,
    ("GET", "/api/v1/assets/{asset_id}"): REGISTRY_READERS,
    ("GET", "/api/v1/map/assets"): REGISTRY_READERS,
    ("POST", "/api/v1/auth/token"): EVERYONE,
    ("GET", "/api/v1/auth/me"): PEOPLE | {"device"},
    ("POST", "/api/v1/auth/logout"): PEOPLE,
    ("GET", "/api/v1/users"): {"admin"},
    ("POST", "/api/v1/users"): {"admin"},
    ("POST", "/api/v1/users/{username}/disable"): {"admin"},
    ("POST", "/api/v1/users/{username}/enable"): {"admin"},
    ("GET", "/api/v1/keys"): {"admin"},
    ("POST", "/api/v1/keys"): {"admin"},
    ("DELETE", "/api/v1/keys/{key_id}"): {"admin"},
    ("POST", "/api/v1/telemetry"): {"device"},
    ("GET", "/api/v1/assets/{asset_id}/telemetry"): REGISTRY_READERS,
    ("GET", "/api/v1/assets/{asset_id}/twin"): REGISTRY_READERS,
    ("GET", "/api/v1/ingest/stats"): STAFF,
    ("GET", "/api/v1/telemetry/metrics"): EVERYONE,
    ("GET", "/api/v1/rules"): STAFF,
    ("GET", "/api/v1/rules/{rule_id}"): STAFF,
    ("POST", "/api/v1/rules"): {"supervisor", "admin"},
    ("PATCH", "/api/v1/rules/{rule_id}"): {"supervisor", "admin"},
    ("DELETE", "/api/v1/rules/{rule_id}"): {"supervisor", "admin"},
    ("GET", "/api/v1/alarms"): ALARM_READERS,
    ("GET", "/api/v1/alarms/summary"): ALARM_READERS,
    ("GET", "/api/v1/alarms/{alarm_id}"): ALARM_READERS,
    ("POST", "/api/v1/alarms/{alarm_id}/acknowledge"): ALARM_ACKNOWLEDGERS,
    ("POST", "/api/v1/alarms/{alarm_id}/comments"): ALARM_ACKNOWLEDGERS | {"field-dijon"},
    ("POST", "/api/v1/alarms/{alarm_id}/assign"): {
        "operator",
        "supervisor",
        "agent-dijon",
        "agent-chenove",
    },
    ("POST", "/api/v1/alarms/{alarm_id}/clear"): {"operator", "supervisor"},
    ("GET", "/api/v1/stream"): REGISTRY_READERS,
    ("GET", "/api/v1/report-categories"): REPORT_READERS,
    ("POST", "/api/v1/report-categories"): {"admin"},
    ("PUT", "/api/v1/report-categories/{code}"): {"admin"},
    ("GET", "/api/v1/reports"): REPORT_READERS,
    ("GET", "/api/v1/reports/{report_id}"): REPORT_READERS,
    ("POST", "/api/v1/reports/{report_id}/state"): {
        "operator",
        "supervisor",
        "agent-dijon",
        "agent-chenove",
    },
    ("POST", "/api/v1/reports/{report_id}/merge"): {"operator", "supervisor"},
    ("POST", "/api/v1/reports/{report_id}/case"): {"operator", "supervisor"},
    ("GET", "/api/v1/cases"): ALARM_READERS,
    ("GET", "/api/v1/cases/{case_id}"): ALARM_READERS,
    ("GET", "/api/v1/cases/{case_id}/timeline"): ALARM_READERS,
    ("POST", "/api/v1/cases"): {"operator", "supervisor", "field-dijon"},
    ("POST", "/api/v1/cases/{case_id}/triage"): {"operator", "supervisor"},
    ("GET", "/api/v1/routing/rules"): {"operator", "supervisor", "admin"},
    ("POST", "/api/v1/routing/rules"): {"supervisor"},
    ("PUT", "/api/v1/routing/rules/{rule_id}"): {"supervisor"},
    ("DELETE", "/api/v1/routing/rules/{rule_id}"): {"supervisor"},
    ("POST", "/api/v1/routing/explain"): {"operator", "supervisor", "admin"},
    ("POST", "/api/v1/cases/{case_id}/dispatch"): {"operator", "supervisor"},
    ("POST", "/api/v1/cases/{case_id}/{move}"): {"operator", "supervisor"},
    ("GET", "/api/v1/chains/stats"): ALARM_READERS,
    ("GET", "/api/v1/sla/policies"): STAFF,
    ("PUT", "/api/v1/sla/policies/{team}/{priority}"): {"supervisor"},
    ("GET", "/api/v1/procedures"): STAFF,
    ("GET", "/api/v1/procedures/{category}"): STAFF,
    ("PUT", "/api/v1/procedures/{category}"): {"supervisor"},
    ("DELETE", "/api/v1/procedures/{category}"): {"supervisor"},
    ("POST", "/api/v1/commands"): COMMANDERS,
    ("GET", "/api/v1/commands"): COMMANDERS,
    ("GET", "/api/v1/commands/{command_id}"): COMMANDERS,
    ("GET", "/api/v1/command-batches/{batch_id}"): COMMANDERS,
    ("GET", "/api/v1/scenarios"): {"operator", "supervisor"},
    ("POST", "/api/v1/scenarios/{code}/preview"): {"operator", "supervisor"},
    ("POST", "/api/v1/scenarios/{code}/run"): {"operator", "supervisor"},
    ("GET", "/api/v1/scenario-runs/{run_id}"): {"operator", "supervisor"},
    ("POST", "/api/v1/scenario-runs/{run_id}/rollback"): {"operator", "supervisor"},
    ("GET", "/api/v1/alerts"): EVERYONE,
    ("GET", "/api/v1/lighting-cabinets/programs"): COMMANDERS,
    ("POST", "/api/v1/lighting-cabinets/programs/push"): {"supervisor"},
    ("GET", "/api/v1/contracts"): CONTRACT_READERS,
    ("GET", "/api/v1/contracts/{code}"): CONTRACT_READERS,
    ("PUT", "/api/v1/contracts/{code}"): {"supervisor", "admin"},
    ("POST", "/api/v1/contracts/{code}/amendments"): {"supervisor"},
    ("GET", "/api/v1/kpis"): CONTRACT_READERS,
    ("GET", "/api/v1/penalties"): PENALTY_READERS,
    ("POST", "/api/v1/penalties/freeze"): {"supervisor"},
    ("GET", "/api/v1/energy"): CONTRACT_READERS,
    ("POST", "/api/v1/energy/what-if"): STAFF,
    ("GET", "/api/v1/dimming-programs"): CONTRACT_READERS,
    ("PUT", "/api/v1/dimming-programs/{code}"): {"supervisor"},
    ("POST", "/api/v1/dimming-programs/{code}/assignments"): {"supervisor"},
    ("GET", "/api/v1/lighting-groups"): CONTRACT_READERS,
    ("PUT", "/api/v1/lighting-groups/{code}"): {"supervisor"},
    ("GET", "/api/v1/work-orders"): STAFF
    | {"contractor-lighting", "contractor-lead", "field-dijon"},
    ("GET", "/api/v1/work-orders/{order_id}"): STAFF
    | {"contractor-lighting", "contractor-lead", "field-dijon"},
    ("POST", "/api/v1/work-orders/{order_id}/photos"): {
        "contractor-lighting",
        "contractor-lead",
        "field-dijon",
    },
    ("GET", "/api/v1/work-orders/{order_id}/photos/{number}"): STAFF
    | {"contractor-lighting", "contractor-lead", "field-dijon"},
    ("POST", "/api/v1/work-orders/{order_id}/{action}"): {
        "operator",
        "supervisor",
        "contractor-lighting",
        "contractor-lead",
        "field-dijon",
    },
    ("GET", "/api/v1/audit"): {"admin", "supervisor"},
    ("GET", "/api/v1/audit/export"): {"admin", "supervisor"},
    ("GET", "/open311/v2/discovery.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/services.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/requests.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/tokens/{token}.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/servicerequestupdates.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/media/{report_id}/{name}"): EVERYONE,
    # Open to all callers, then decided by the Open311 api_key the request carries (a form
    # field, as the specification has it): without one, every caller gets the spec's 403.
    ("POST", "/open311/v2/requests.{fmt}"): set(),
    ("POST", "/open311/v2/servicerequestupdates.{fmt}"): set(),
    ("GET", "/command-centre/search.json"): STAFF
    | {"agent-dijon", "agent-chenove", "contractor-lighting", "contractor-lead"},
    ("GET", "/contracts/reports"): PENALTY_READERS,
    ("GET", "/contracts/reports/{lot}/{period}"): PENALTY_READERS,
    ("GET", "/contracts/reports/{lot}/{period}.csv"): PENALTY_READERS,
    ("GET", "/contracts/reports/{lot}/{period}.pdf"): PENALTY_READERS,
    ("GET", "/transparency"): EVERYONE,
    ("GET", "/transparency/{insee}"): EVERYONE,
    ("GET", "/open-data/performance/{year}.json"): EVERYONE,
    ("GET", "/open-data/performance/{year}.csv"): EVERYONE,
    ("GET", "/open-data/performance/{year}/{insee}.json"): EVERYONE,
    ("GET", "/open-data/performance/{year}/{insee}.csv"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("GET", "/docs"): EVERYONE,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/report"): EVERYONE,
    ("POST", "/report"): EVERYONE,
    ("GET", "/report/track/{token}"): EVERYONE,
    ("GET", "/report/track/{token}/photos/{name}"): EVERYONE,
    ("GET", "/reports/map"): EVERYONE,
    ("GET", "/reports/map.json"): EVERYONE,
    ("GET", "/orders"): {
        "operator",
        "supervisor",
        "contractor-lighting",
        "contractor-lead",
        "field-dijon",
    },
}
# Query strings that make an allowed call end (the live stream otherwise runs on).
QUERIES = {"/api/v1/stream": "?timeout_s=0"}
# Values that exercise the access check without changing the shared world: the asset is a
# Dijon street light maintained by the lighting contractor; the user and key do not exist.
SAMPLES = {
    "{insee}": "21231",
    "{username}": "nobody-here",
    "{key_id}": "999999",
    "{rule_id}": "999999",
    "{alarm_id}": "999999",
    "{code}": "no-such-category",
    "{case_id}": "999999",
    "{order_id}": "999999",
    "{move}": "resume",
    "{number}": "1.jpg",
    "{team}": "no-such-team",
    "{priority}": "P1",
    "{lot}": "lighting",
    "{period}": "2026-03",
    "{year}": "2026",
    "{command_id}": "999999",
    "{batch_id}": "999999",
    "{run_id}": "999999",
    "{category}": "no-such-category",
    "{action}": "accept",
    "{report_id}": "999999",
    "{fmt}": "json",
    "{service_code}": "no-such-category",
    "{service_request_id}": "999999",
    "{token}": "no-such-token",
    "{name}": "1.jpg",
}
# Routes whose own protocol answers a caller without its key (Open311: 403 for everyone).
SELF_CHECKED = {
    ("POST", "/open311/v2/requests.{fmt}"),
    ("POST", "/open311/v2/servicerequestupdates.{fmt}"),
}


def _routes(world: Platform) -> list[tuple[str, str]]:
    found = []
    for methods, path, _ in route_audiences(create_app(world).routes):
        for method in methods.split(","):
            if method != "HEAD":
                found.append((method, path))
    return sorted(found)


def test_every_route_is_in_the_matrix(world: Platform) -> None:
    missing = [r for r in _routes(world) if r not in MATRIX]
    assert missing == [], f"decide who may call these routes, then add them to MATRIX: {missing}"


@pytest.fixture(scope="module")
def callers(world: Platform, world_anonymous: TestClient) -> dict[str, dict[str, str]]:
    """Fresh credentials per caller (the matrix signs out at the end)."""
    from metropilot.accounts.model import parse_scope
    from metropilot.accounts.services import create_key
    from metropilot.shared.actors import SYSTEM

    headers = {name: bearer(world_anonymous, name) for name in WORLD_ACCOUNTS}
    with world.uow_factory(write=True) as uow:
        _, plaintext = create_key(uow, "matrix device", [parse_scope("assets:read")], SYSTEM)
        uow.commit()
    headers["device"] = {"X-API-Key": plaintext}
    headers["anonymous"] = {}
    return headers


def test_each_caller_gets_exactly_what_the_matrix_says(
    world: Platform, world_anonymous: TestClient, callers: dict[str, dict[str, str]]
) -> None:
    with world.uow_factory() as uow:
        light_id = uow.connection.exec_driver_sql(
            "SELECT id FROM assets WHERE commune_insee = '21231' AND kind = 'streetlight' "
            "ORDER BY id LIMIT 1"
        ).scalar_one()
    samples = {**SAMPLES, "{asset_id}": str(light_id)}
    wrong = []
    for method, path in _routes(world):
        url = path
        for placeholder, value in samples.items():
            url = url.replace(placeholder, value)
        url += QUERIES.get(path, "")
        for caller, headers in callers.items():
            if path.endswith("/logout") and caller in WORLD_ACCOUNTS:
                headers = bearer(world_anonymous, caller)  # signing out revokes what it uses
            response = world_anonymous.request(method, url, headers=headers)
            allowed = caller in MATRIX[(method, path)]
            # A browser form without its CSRF token is refused for that reason, not for who calls.
            refused = response.status_code in (401, 403) and "csrf" not in response.text.lower()
            if response.status_code >= 500:
                wrong.append(f"{caller} {method} {url} → {response.status_code} (server error)")
            elif allowed == refused:
                wrong.append(f"{caller} {method} {url} → {response.status_code}")
            elif not allowed:
                expected = 401 if caller == "anonymous" else 403
                if (method, path) in SELF_CHECKED:
                    expected = 403
                if response.status_code != expected:
                    wrong.append(
                        f"{caller} {method} {url} → {response.status_code}, not {expected}"
                    )
    assert wrong == [], "\n".join(wrong)


# --- writes: the objects they name, inside and outside the caller's scope ------------------------


@dataclass(frozen=True)
class Call:
    """One request of a write (its method is the route's), for one target."""

    url: str
    json: Any = None
    data: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    spelt: tuple[str, ...] = ()  # how the answer may spell the target (default: as given)


@dataclass(frozen=True)
class Answer:
    """What a write answered, with the target's spelling taken out, so that two targets'
    answers compare."""

    status: int
    refused: bool
    code: str
    text: str


def api_answer(response: httpx.Response) -> tuple[bool, str, str]:
    body = response.json() if response.content else None
    code = body["error"]["code"] if isinstance(body, dict) and "error" in body else ""
    return response.status_code >= 400, code, json.dumps(body, sort_keys=True)


def telemetry_answer(response: httpx.Response) -> tuple[bool, str, str]:
    """Telemetry answers item by item: the item's outcome is the answer."""
    item = response.json()["items"][0]
    return item["status"] != "accepted", item.get("reason", ""), json.dumps(item, sort_keys=True)


def open311_answer(response: httpx.Response) -> tuple[bool, str, str]:
    return response.status_code >= 400, "", response.text


@dataclass(frozen=True)
class Names:
    """The write names an object of ``kind`` (asset, commune, alarm, case, work_order, report)
    where ``build`` puts the target. The object is looked up as its read looks it up: outside
    the caller's scope, the write answers exactly what it answers for ``missing``."""

    kind: str
    build: Callable[[WriteWorld, str], Call]
    asset_kind: str | None = None  # the assets the request suits
    missing: str | None = None  # default: 999999, or 99999 for a commune
    answer: Callable[[httpx.Response], tuple[bool, str, str]] = api_answer
    callers: frozenset[str] | None = None  # default: the route's audience in MATRIX


@dataclass(frozen=True)
class WholeCity:
    """The write names only what its audience — people who see the whole city — reads."""

    why: str


@dataclass(frozen=True)
class NamesNothing:
    """The write names no object a scope narrows."""

    why: str


WHOLE_CITY = {"admin", "supervisor", "operator"}
OPEN311_APP = "open311-dijon"  # the Dijon client app's api_key, sent in the form
REASON = "matrix check of the scopes"


def _ref(world: WriteWorld, target: str) -> str:
    return world.refs.get(target, target)


def _light_command(**target: Any) -> dict[str, Any]:
    return {"command": "set_light_level", "params": {"level_pct": 80}, "reason": REASON, **target}


def _reading(world: WriteWorld, target: str) -> Call:
    ts = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    ref = _ref(world, target)
    return Call(
        "/api/v1/telemetry",
        json=[{"asset": ref, "ts": ts, "metrics": {"power_w": 40}}],
        spelt=(ref,),
    )


def _open311_post(world: WriteWorld, insee: str) -> Call:
    lon, lat = world.points.get(insee, (0.0, 0.0))  # an unknown commune: a point outside all
    return Call(
        "/open311/v2/requests.json",
        data={
            "api_key": world.open311_key,
            "service_code": "pavement-damaged",
            "lat": str(lat),
            "long": str(lon),
            "description": "a hole by the kerb",
        },
        spelt=(f"{lat:.6f}, {lon:.6f}",),
    )


def _open311_update(world: WriteWorld, report: str) -> Call:
    return Call(
        "/open311/v2/servicerequestupdates.json",
        data={
            "api_key": world.open311_key,
            "service_request_id": report,
            "status": "in_progress",
            "description": "a crew is on its way",
        },
    )


def _first_report(world: WriteWorld) -> str:
    return world.candidates["report"][0]


def _last_report(world: WriteWorld) -> str:
    return world.candidates["report"][-1]


PHOTO = [("photos", ("work.jpg", b"\xff\xd8\xff\xe0 not much of a photo", "image/jpeg"))]

# (method, path as declared) → the decision about what a write names. Every write is here.
WRITES: dict[tuple[str, str], tuple[Names, ...] | WholeCity | NamesNothing] = {
    ("POST", "/api/v1/auth/token"): NamesNothing("signs in: names the caller's own account"),
    ("POST", "/api/v1/auth/logout"): NamesNothing("ends the caller's own token"),
    ("POST", "/login"): NamesNothing("signs in: names the caller's own account"),
    ("POST", "/logout"): NamesNothing("ends the caller's own session"),
    ("POST", "/report"): NamesNothing(
        "a citizen reports a category at a place, anywhere in the metropolis"
    ),
    ("POST", "/api/v1/users"): WholeCity("accounts are the administrators'"),
    ("POST", "/api/v1/users/{username}/disable"): WholeCity("accounts are the administrators'"),
    ("POST", "/api/v1/users/{username}/enable"): WholeCity("accounts are the administrators'"),
    ("POST", "/api/v1/keys"): WholeCity("keys are the administrators'"),
    ("DELETE", "/api/v1/keys/{key_id}"): WholeCity("keys are the administrators'"),
    ("POST", "/api/v1/rules"): WholeCity("alarm rules cover the whole city"),
    ("PATCH", "/api/v1/rules/{rule_id}"): WholeCity("alarm rules cover the whole city"),
    ("DELETE", "/api/v1/rules/{rule_id}"): WholeCity("alarm rules cover the whole city"),
    ("POST", "/api/v1/report-categories"): WholeCity("the catalogue is the whole city's"),
    ("PUT", "/api/v1/report-categories/{code}"): WholeCity("the catalogue is the whole city's"),
    ("POST", "/api/v1/routing/rules"): WholeCity("routing rules cover the whole city"),
    ("PUT", "/api/v1/routing/rules/{rule_id}"): WholeCity("routing rules cover the whole city"),
    ("DELETE", "/api/v1/routing/rules/{rule_id}"): WholeCity("routing rules cover the whole city"),
    ("PUT", "/api/v1/sla/policies/{team}/{priority}"): WholeCity("SLA targets are the contract's"),
    ("PUT", "/api/v1/procedures/{category}"): WholeCity("procedures are the command post's"),
    ("DELETE", "/api/v1/procedures/{category}"): WholeCity("procedures are the command post's"),
    ("POST", "/api/v1/scenario-runs/{run_id}/rollback"): WholeCity(
        "scenario runs are the command post's, read by it alone"
    ),
    ("PUT", "/api/v1/contracts/{code}"): WholeCity("the contract is the whole city's"),
    ("POST", "/api/v1/contracts/{code}/amendments"): WholeCity("the contract is the whole city's"),
    ("POST", "/api/v1/penalties/freeze"): WholeCity("penalty periods are the contract's"),
    ("POST", "/api/v1/energy/what-if"): WholeCity("a what-if over the whole city's lighting"),
    ("PUT", "/api/v1/dimming-programs/{code}"): WholeCity("programs are the contract's"),
    ("POST", "/api/v1/telemetry"): (
        Names("asset", _reading, asset_kind="streetlight", answer=telemetry_answer),
    ),
    ("POST", "/api/v1/alarms/{alarm_id}/acknowledge"): (
        Names("alarm", lambda w, t: Call(f"/api/v1/alarms/{t}/acknowledge", json={})),
    ),
    ("POST", "/api/v1/alarms/{alarm_id}/comments"): (
        Names("alarm", lambda w, t: Call(f"/api/v1/alarms/{t}/comments", json={"text": "seen"})),
    ),
    ("POST", "/api/v1/alarms/{alarm_id}/assign"): (
        Names("alarm", lambda w, t: Call(f"/api/v1/alarms/{t}/assign", json={"assignee": None})),
    ),
    ("POST", "/api/v1/alarms/{alarm_id}/clear"): (
        Names("alarm", lambda w, t: Call(f"/api/v1/alarms/{t}/clear", json={"comment": REASON})),
    ),
    ("POST", "/api/v1/reports/{report_id}/state"): (
        Names("report", lambda w, t: Call(f"/api/v1/reports/{t}/state", json={"state": "triaged"})),
    ),
    ("POST", "/api/v1/reports/{report_id}/merge"): (
        Names(
            "report",
            lambda w, t: Call(f"/api/v1/reports/{t}/merge", json={"into": int(_first_report(w))}),
        ),
        Names(
            "report",
            lambda w, t: Call(f"/api/v1/reports/{_last_report(w)}/merge", json={"into": int(t)}),
        ),
    ),
    ("POST", "/api/v1/reports/{report_id}/case"): (
        Names("report", lambda w, t: Call(f"/api/v1/reports/{t}/case")),
    ),
    ("POST", "/api/v1/cases"): (
        Names(
            "asset",
            lambda w, t: Call(
                "/api/v1/cases",
                json={"category": "camera-offline", "priority": "P4", "asset": int(t)},
            ),
        ),
        Names(
            "commune",
            lambda w, t: Call(
                "/api/v1/cases", json={"category": "pothole", "priority": "P4", "commune": t}
            ),
        ),
    ),
    ("POST", "/api/v1/cases/{case_id}/triage"): (
        Names("case", lambda w, t: Call(f"/api/v1/cases/{t}/triage", json={})),
    ),
    ("POST", "/api/v1/cases/{case_id}/dispatch"): (
        Names("case", lambda w, t: Call(f"/api/v1/cases/{t}/dispatch", json={})),
    ),
    ("POST", "/api/v1/cases/{case_id}/{move}"): (
        Names("case", lambda w, t: Call(f"/api/v1/cases/{t}/resume", json={})),
    ),
    ("POST", "/api/v1/routing/explain"): (
        Names("case", lambda w, t: Call("/api/v1/routing/explain", json={"case": int(t)})),
    ),
    ("POST", "/api/v1/commands"): (
        Names(
            "asset",
            lambda w, t: Call("/api/v1/commands", json=_light_command(asset=int(t))),
            asset_kind="streetlight",
        ),
        Names(
            "commune",
            lambda w, t: Call("/api/v1/commands", json=_light_command(area={"commune": t})),
        ),
        Names(
            "asset",
            lambda w, t: Call(
                "/api/v1/commands",
                json=_light_command(area={"cabinet": _ref(w, t)}),
                spelt=(_ref(w, t),),
            ),
            asset_kind="lighting_cabinet",
        ),
    ),
    ("POST", "/api/v1/scenarios/{code}/preview"): (
        Names(
            "asset",
            lambda w, t: Call(
                "/api/v1/scenarios/night-accident/preview",
                json={"params": {"junction": _ref(w, t)}},
                spelt=(_ref(w, t),),
            ),
            asset_kind="traffic_junction",
        ),
        Names(
            "commune",
            lambda w, t: Call(
                "/api/v1/scenarios/snow-plan/preview", json={"params": {"commune": t}}
            ),
        ),
    ),
    ("POST", "/api/v1/scenarios/{code}/run"): (
        Names(
            "asset",
            lambda w, t: Call(
                "/api/v1/scenarios/night-accident/run",
                json={"params": {"junction": _ref(w, t)}, "reason": REASON},
                spelt=(_ref(w, t),),
            ),
            asset_kind="traffic_junction",
        ),
        Names(
            "commune",
            lambda w, t: Call(
                "/api/v1/scenarios/snow-plan/run",
                json={"params": {"commune": t}, "reason": REASON},
            ),
        ),
    ),
    ("POST", "/api/v1/lighting-cabinets/programs/push"): (
        Names(
            "commune",
            lambda w, t: Call(
                "/api/v1/lighting-cabinets/programs/push", json={"commune": t, "reason": REASON}
            ),
        ),
    ),
    ("POST", "/api/v1/dimming-programs/{code}/assignments"): (
        Names(
            "asset",
            lambda w, t: Call(
                "/api/v1/dimming-programs/eco-23-05/assignments",
                json={"target_type": "cabinet", "target": t, "effective_from": "2026-01-01"},
            ),
            asset_kind="lighting_cabinet",
        ),
        Names(
            "commune",
            lambda w, t: Call(
                "/api/v1/dimming-programs/eco-23-05/assignments",
                json={"target_type": "commune", "target": t, "effective_from": "2026-01-01"},
            ),
        ),
    ),
    ("PUT", "/api/v1/lighting-groups/{code}"): (
        Names(
            "asset",
            lambda w, t: Call(
                "/api/v1/lighting-groups/matrix", json={"name": "Matrix", "cabinet_ids": [int(t)]}
            ),
            asset_kind="lighting_cabinet",
        ),
    ),
    ("POST", "/api/v1/work-orders/{order_id}/photos"): (
        Names("work_order", lambda w, t: Call(f"/api/v1/work-orders/{t}/photos", files=PHOTO)),
    ),
    ("POST", "/api/v1/work-orders/{order_id}/{action}"): (
        Names("work_order", lambda w, t: Call(f"/api/v1/work-orders/{t}/accept", json={})),
    ),
    ("POST", "/open311/v2/requests.{fmt}"): (
        Names(
            "commune",
            _open311_post,
            answer=open311_answer,
            callers=frozenset({OPEN311_APP}),
        ),
    ),
    ("POST", "/open311/v2/servicerequestupdates.{fmt}"): (
        Names("report", _open311_update, answer=open311_answer, callers=frozenset({OPEN311_APP})),
    ),
}

# How each kind of object is read: the read is the oracle of what a caller's scope holds.
READS = {
    "asset": "/api/v1/assets/{}",
    "alarm": "/api/v1/alarms/{}",
    "case": "/api/v1/cases/{}",
    "work_order": "/api/v1/work-orders/{}",
    "report": "/api/v1/reports/{}",
}


def _writes(world: Platform) -> list[tuple[str, str]]:
    return [route for route in _routes(world) if route[0] != "GET"]


def test_every_write_has_a_scope_decision(world: Platform) -> None:
    writes = _writes(world)
    missing = [r for r in writes if r not in WRITES]
    assert missing == [], (
        f"say which objects these writes name (Names), or why they name none: {missing}"
    )
    assert sorted(WRITES) == sorted(writes), "WRITES lists routes that are gone"


def test_writes_naming_nothing_scoped_are_for_the_whole_city() -> None:
    """A write left unchecked because its audience sees the whole city stops being safe the
    day a narrower role joins the audience: then it must say what it names."""
    for route, decision in WRITES.items():
        if isinstance(decision, WholeCity):
            assert MATRIX[route] <= WHOLE_CITY, (
                f"{route}: {decision.why}, but not for {MATRIX[route] - WHOLE_CITY}"
            )


class Oracle:
    """Which objects a caller's scope holds, as the reads answer it (cached per caller)."""

    def __init__(self, world: WriteWorld) -> None:
        self.world = world
        self.cache: dict[tuple[str, str, str], bool | None] = {}

    def reads(self, caller: str, kind: str, target: str) -> bool | None:
        """True: the caller reads it; False: it exists but not for the caller; None: the
        caller reads no object of this kind at all."""
        key = (caller, kind, target)
        if key not in self.cache:
            self.cache[key] = self._reads(caller, kind, target)
        return self.cache[key]

    def _reads(self, caller: str, kind: str, target: str) -> bool | None:
        if caller == OPEN311_APP:
            # The app's key reads nothing; its scope is its communes (open311:post and
            # reports:update commune=21231).
            commune = target if kind == "commune" else self.world.commune_of[kind][target]
            return commune == DIJON
        client, headers = self.world.client, self.world.headers[caller]
        if kind == "commune":
            # A commune is in a caller's scope when the registry shows them equipment in it.
            listed = client.get(
                "/api/v1/assets", params={"commune": target, "limit": 1}, headers=headers
            )
            if listed.status_code == 403:
                return None
            assert listed.status_code == 200, listed.text
            return bool(listed.json()["items"])
        read = client.get(READS[kind].format(target), headers=headers)
        if read.status_code == 403:
            return None
        assert read.status_code in (200, 404), (caller, kind, target, read.text)
        return read.status_code == 200


def _answer(world: WriteWorld, method: str, caller: str, names: Names, target: str) -> Answer:
    call = names.build(world, target)
    response = world.client.request(
        method,
        call.url,
        json=call.json,
        data=call.data,
        files=call.files,
        headers=world.headers.get(caller, {}),
    )
    assert response.status_code < 500, f"{caller} {method} {call.url}: {response.text}"
    refused, code, text = names.answer(response)
    for spelling in call.spelt or (target,):
        text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(spelling)}(?![0-9A-Za-z])", "<target>", text)
    return Answer(response.status_code, refused, code, text)


def test_every_write_checks_the_callers_scope_as_the_read_does(write_world: WriteWorld) -> None:
    """For every write that names an object, and every caller of its audience: a target inside
    the caller's scope is taken (or refused for another reason than its existence), and one
    outside it is answered exactly as one that does not exist (status, code, message).

    The writes change the module's own world (``write_world``, never the shared ``world``);
    each caller is asked about the target outside and the missing one before the target inside,
    so that its write cannot change what the refusals answer."""
    world, oracle = write_world, Oracle(write_world)
    wrong: list[str] = []
    checked: set[tuple[str, str]] = set()
    tried_outside: set[str] = set()
    for (method, path), decision in WRITES.items():
        if not isinstance(decision, tuple):
            continue
        for names in decision:
            callers = names.callers or frozenset(MATRIX[(method, path)])
            candidates = [
                t
                for t in world.candidates[names.kind]
                if names.asset_kind is None or world.kinds.get(t) == names.asset_kind
            ]
            missing = names.missing or ("99999" if names.kind == "commune" else "999999")
            for caller in sorted(callers):
                where = f"{caller} {method} {path} naming {names.kind}"
                seen = {t: oracle.reads(caller, names.kind, t) for t in candidates}
                if any(v is None for v in seen.values()):
                    wrong.append(f"{where}: writes what it cannot read")
                    continue
                inside = next((t for t, v in seen.items() if v), None)
                outside = next((t for t, v in seen.items() if v is False), None)
                if inside is None:
                    wrong.append(f"{where}: the write world holds nothing inside its scope")
                    continue
                absent = _answer(world, method, caller, names, missing)
                if not absent.refused:
                    wrong.append(f"{where}: {missing} (no such object) was taken")
                if outside is not None:
                    tried_outside.add(caller)
                    refused = _answer(world, method, caller, names, outside)
                    if refused != absent:
                        wrong.append(
                            f"{where}: {outside} (not in its scope) → {refused}, "
                            f"but {missing} (no such object) → {absent}"
                        )
                taken = _answer(world, method, caller, names, inside)
                audience_refusal = taken.status == 401 or taken.code in ("forbidden", "csrf_failed")
                if taken == absent or audience_refusal:
                    wrong.append(f"{where}: {inside} (in its scope) → {taken}")
                checked.add((method, path))
    assert wrong == [], "\n".join(wrong)
    # Every caller that sees part of the city was tried outside it, on some write at least.
    restricted = {"agent-dijon", "agent-chenove", "contractor-lighting", "contractor-lead"}
    assert tried_outside >= restricted | {"field-dijon", "device", OPEN311_APP}, tried_outside
    assert checked == {route for route, d in WRITES.items() if isinstance(d, tuple)}
