"""A synthetic city for the tests that write: cases, work orders, alarms and citizen reports in
Dijon and in Chenôve, for the lighting contractor, the lead contractor and both communes' teams.

The session's ``world`` is read by many tests and must stay as generated; the writes go to this
one instead, built afresh for each module that asks for it (a module's writes never reach
another's).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform, bootstrap
from metropilot.cases import services as cases_services
from metropilot.reports import services as reports_services
from metropilot.settings import Settings
from metropilot.shared.actors import SYSTEM
from metropilot.simulate.services import generate_metropolis
from metropilot.territory import services as territory_services
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR, WORLD_SCALE, WORLD_SEED, _Databases
from tests.factories import WORLD_ACCOUNTS, bearer, create_world_accounts

DIJON, CHENOVE = "21231", "21166"
# Who handles what in the write world: each organisation gets work in both communes, so that
# every caller has something inside its scope and something outside.
ROUTING = (
    ("lamp-failure", (), "lucerna-eclairage-field"),
    ("junction-controller-fault", (), "ordival-infrastructures-field"),
    ("pothole", (DIJON,), f"commune-{DIJON}-field"),
    ("pothole", (CHENOVE,), f"commune-{CHENOVE}-field"),
)
# Keys of the write world: a Dijon gateway (it reads and writes Dijon's equipment only) and a
# Dijon client app (it posts and updates Dijon's citizen reports only).
DEVICE_SCOPES = (f"telemetry:write commune={DIJON}", f"assets:read commune={DIJON}")
OPEN311_SCOPES = (f"open311:post commune={DIJON}", f"reports:update commune={DIJON}")


@dataclass
class WriteWorld:
    """The write world through HTTP, with what the tests pick their targets from."""

    platform: Platform
    client: TestClient
    headers: dict[str, dict[str, str]]  # caller → its credentials (accounts, "device")
    open311_key: str  # the Dijon client app's api_key
    candidates: dict[str, list[str]]  # object kind → ids (assets, alarms, cases, …) or codes
    refs: dict[str, str]  # asset id → its reference
    kinds: dict[str, str]  # asset id → its kind
    points: dict[str, tuple[float, float]]  # INSEE code → (lon, lat) of a point inside
    commune_of: dict[str, dict[str, str]] = field(default_factory=dict)  # kind → id → INSEE


def _settings(databases: _Databases, backend: str, tmp: Any) -> Settings:
    return Settings(
        data_dir=tmp,
        database_url=databases.url(backend),
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        login_attempts_per_minute=10_000,
        # The matrix posts many Open311 requests from one address within a minute.
        open311_posts_per_minute=100_000,
        open311_posts_per_minute_per_key=100_000,
    )


def _assets(platform: Platform) -> list[tuple[int, str, str, str]]:
    """A few assets of each kind in Dijon and in Chenôve: (id, reference, kind, commune)."""
    a = assets_repository.assets.c
    found: list[tuple[int, str, str, str]] = []
    with platform.uow_factory() as uow:
        for commune in (DIJON, CHENOVE):
            for kind in ("streetlight", "lighting_cabinet", "camera", "traffic_junction"):
                rows = uow.connection.execute(
                    select(a.id, a.external_ref)
                    .where(a.commune_insee == commune, a.kind == kind)
                    .order_by(a.id)
                    .limit(2)
                ).all()
                found += [(int(i), str(ref), kind, commune) for i, ref in rows]
    return found


def _raise_alarms(platform: Platform, assets: list[tuple[int, str, str, str]]) -> None:
    """Lamp failures and junction faults, in both communes: alarms, and their cases."""
    now = datetime.now(UTC)
    metric = {"streetlight": "lamp_failure", "traffic_junction": "controller_fault"}
    items = [
        {"asset": ref, "ts": (now - timedelta(minutes=1)).isoformat(), "metrics": {metric[k]: 1}}
        for _, ref, k, _ in assets
        if k in metric
    ]
    result = platform.ingest_pipeline.ingest(items, source="test")
    assert result.rejected == 0, result.results


def _submit_reports(platform: Platform, points: dict[str, tuple[float, float]]) -> None:
    """Two citizen reports a commune (a pothole, routed to the commune's team, and graffiti,
    left to the command post), far enough apart not to be one another's "me too"."""
    with platform.uow_factory(write=True) as uow:
        for insee in (DIJON, CHENOVE):
            lon, lat = points[insee]
            for category in ("pothole", "graffiti"):
                reports_services.submit(
                    uow,
                    reports_services.Submission(category, lon, lat, "seen this morning"),
                    SYSTEM,
                )
        uow.commit()


def _dispatch_everything(platform: Platform) -> None:
    with platform.uow_factory(write=True) as uow:
        cases_services.open_pending(uow)
        for case in cases_services.query_cases(uow, cases_services.CaseQuery(limit=1000)):
            if case.assignee is not None:
                cases_services.triage(uow, case.id, SYSTEM, "operator")
                cases_services.dispatch(uow, case.id, SYSTEM, "operator")
        uow.commit()


def _ids(platform: Platform, sql: str) -> dict[str, str]:
    with platform.uow_factory() as uow:
        return {str(i): str(c) for i, c in uow.connection.exec_driver_sql(sql).all()}


@pytest.fixture(scope="module")
def write_world(
    databases: _Databases, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WriteWorld]:
    platform = bootstrap(
        _settings(databases, backend, tmp_path_factory.mktemp(f"write-{backend}")), upgrade=True
    )
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=WORLD_SCALE, seed=WORLD_SEED)
        for order, (category, communes, team) in enumerate(ROUTING, start=1):
            spec = {"order": order, "name": f"{category} {communes}", "team": team}
            cases_services.create_rule(
                uow, {**spec, "categories": [category], "communes": list(communes)}, SYSTEM
            )
        _, device = create_key(
            uow, "Dijon gateway", [parse_scope(s) for s in DEVICE_SCOPES], SYSTEM
        )
        _, app = create_key(uow, "Dijon app", [parse_scope(s) for s in OPEN311_SCOPES], SYSTEM)
        uow.commit()
    create_world_accounts(platform)
    with platform.uow_factory() as uow:
        communes = {c.insee: c for c in territory_services.list_communes(uow)}
    points = {}
    for insee, commune in communes.items():
        inside = commune.boundary.representative_point()
        points[insee] = (round(inside.x, 6), round(inside.y, 6))
    assets = _assets(platform)
    _raise_alarms(platform, assets)
    _submit_reports(platform, points)
    _dispatch_everything(platform)
    commune_of = {
        "alarm": _ids(
            platform,
            "SELECT al.id, a.commune_insee FROM alarms al JOIN assets a ON a.id = al.asset_id",
        ),
        "case": _ids(platform, "SELECT id, commune_insee FROM cases"),
        "work_order": _ids(
            platform,
            "SELECT w.id, c.commune_insee FROM work_orders w JOIN cases c ON c.id = w.case_id",
        ),
        "report": _ids(platform, "SELECT id, commune_insee FROM reports"),
        "asset": {str(i): commune for i, _, _, commune in assets},
    }
    candidates = {kind: sorted(ids, key=int) for kind, ids in commune_of.items()}
    candidates["commune"] = [DIJON, CHENOVE]
    with TestClient(create_app(platform)) as client:
        headers = {name: bearer(client, name) for name in WORLD_ACCOUNTS}
        headers["device"] = {"X-API-Key": device}
        yield WriteWorld(
            platform=platform,
            client=client,
            headers=headers,
            open311_key=app,
            candidates=candidates,
            refs={str(i): ref for i, ref, _, _ in assets},
            kinds={str(i): kind for i, _, kind, _ in assets},
            points=points,
            commune_of=commune_of,
        )
    platform.close()
