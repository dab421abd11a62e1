"""Who may call what: every API route against every role, anonymous callers and a device key.

The expectations are written out here, route by route; a new route fails this test until it is
added, so that nobody ships an endpoint without deciding who it is for.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from metropilot.api.audience import route_audiences
from metropilot.bootstrap import Platform
from metropilot.web.app import create_app
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
