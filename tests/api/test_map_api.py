"""What the command centre's map reads, both databases: assets as points or grid clusters for a
viewport (scoped like the registry, vehicles where they last reported), the streets of the
offline basemap, and the stream's new work-order and citizen-report events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from metropilot.assets import repository as assets_repository
from metropilot.assets import services as assets_services
from metropilot.bootstrap import Platform
from metropilot.cases.model import WorkOrderAccepted
from metropilot.cases.wiring import work_order_mapper
from metropilot.reports import services as reports_services
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.simulate.services import generate_metropolis
from metropilot.stream import journal
from metropilot.telemetry.queries import last_positions
from metropilot.telemetry.repository import twin_values
from tests.conftest import TEST_ACTOR

API = "/api/v1"
WHOLE = "4.8,47.1,5.3,47.5"  # the whole synthetic metropolis


def count_assets(world: Platform, commune: str | None = None) -> int:
    a = assets_repository.assets.c
    query = select(a.id)
    if commune is not None:
        query = query.where(a.commune_insee == commune)
    with world.uow_factory() as uow:
        return len(uow.connection.execute(query).all())


def test_a_viewport_with_few_assets_gets_points(world_client: TestClient, world: Platform) -> None:
    response = world_client.get(f"{API}/map/assets", params={"bbox": WHOLE, "zoom": 11})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["mode"] == "points"
    assert view["clusters"] == []
    points = view["points"]
    assert view["total"] == len(points["id"]) == count_assets(world)
    assert {len(column) for column in points.values()} == {view["total"]}
    assert set(points["kind"]) >= {"streetlight", "camera", "vehicle"}
    only = world_client.get(
        f"{API}/map/assets", params={"bbox": WHOLE, "zoom": 11, "kind": "camera"}
    ).json()
    assert set(only["points"]["kind"]) == {"camera"}


def test_many_assets_are_counted_in_grid_cells(
    world_client: TestClient, world: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assets_services, "MAP_POINTS_MAX", 100)
    view = world_client.get(
        f"{API}/map/assets", params={"bbox": WHOLE, "zoom": 11, "kind": "streetlight,vehicle"}
    ).json()
    assert view["mode"] == "clusters"
    clusters = view["clusters"]
    # Every light is in exactly one cell; the vehicles stay points.
    lights = sum(cell["count"] for cell in clusters)
    vehicles = len(view["points"]["id"])
    assert set(view["points"]["kind"]) == {"vehicle"}
    assert view["total"] == lights + vehicles
    with world.uow_factory() as uow:
        a = assets_repository.assets.c
        expected = len(uow.connection.execute(select(a.id).where(a.kind == "streetlight")).all())
    assert lights == expected
    for cell in clusters:
        assert sum(cell["statuses"].values()) == cell["count"] == cell["kinds"]["streetlight"]
        assert 4.8 < cell["lon"] < 5.3
        assert 47.1 < cell["lat"] < 47.5
    # A finer zoom makes smaller cells, hence more of them.
    finer = world_client.get(
        f"{API}/map/assets", params={"bbox": WHOLE, "zoom": 13, "kind": "streetlight"}
    ).json()
    assert len(finer["clusters"]) > len(clusters)
    assert finer["cell_deg"] == pytest.approx(view["cell_deg"] / 4)


def test_the_map_is_scoped_like_the_registry(
    world_anonymous: TestClient, world_tokens: dict[str, dict[str, str]], world: Platform
) -> None:
    agent = world_anonymous.get(
        f"{API}/map/assets",
        params={"bbox": WHOLE, "zoom": 11},
        headers=world_tokens["agent-dijon"],
    ).json()
    assert agent["total"] == count_assets(world, "21231") < count_assets(world)
    assert world_anonymous.get(f"{API}/map/assets", params={"bbox": WHOLE}).status_code == 401
    citizen = world_anonymous.get(
        f"{API}/map/assets", params={"bbox": WHOLE}, headers=world_tokens["citizen"]
    )
    assert citizen.status_code == 403
    bad = world_anonymous.get(
        f"{API}/map/assets", params={"bbox": "5,47"}, headers=world_tokens["operator"]
    )
    assert bad.status_code == 400


def test_streets_are_the_public_basemap(world_anonymous: TestClient) -> None:
    everything = world_anonymous.get(f"{API}/streets")
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("application/geo+json")
    features = everything.json()["features"]
    assert features
    assert all(f["geometry"]["type"] == "LineString" for f in features)
    main = world_anonymous.get(f"{API}/streets", params={"category": "main"}).json()["features"]
    assert 0 < len(main) < len(features)
    assert {f["properties"]["category"] for f in main} == {"main"}
    corner = world_anonymous.get(f"{API}/streets", params={"bbox": "5.0,47.3,5.02,47.32"}).json()
    assert 0 < len(corner["features"]) < len(features)
    assert world_anonymous.get(f"{API}/streets", params={"category": "alley"}).status_code == 400


@pytest.fixture
def town(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    return platform


def test_vehicles_are_drawn_where_they_last_reported(town: Platform) -> None:
    a = assets_repository.assets.c
    with town.uow_factory(write=True) as uow:
        vehicle = uow.connection.execute(
            select(a.id).where(a.kind == "vehicle").order_by(a.id).limit(1)
        ).scalar_one()
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        uow.connection.execute(
            insert(twin_values),
            [
                {"asset_id": vehicle, "metric": "position_lon", "ts_ms": now_ms, "value": 5.0412},
                {"asset_id": vehicle, "metric": "position_lat", "ts_ms": now_ms, "value": 47.3215},
            ],
        )
        uow.commit()
    flt = assets_repository.AssetFilter(kinds=[assets_services.AssetKind.VEHICLE])
    with town.uow_factory() as uow:
        view = assets_services.map_view(uow, flt, 14, live_positions=last_positions)
    points = view["points"]
    where = points["id"].index(vehicle)
    assert (points["lon"][where], points["lat"][where]) == (5.0412, 47.3215)


def test_new_reports_and_work_order_steps_reach_the_stream_without_personal_data(
    town: Platform,
) -> None:
    a = assets_repository.assets.c
    with town.uow_factory() as uow:
        lon, lat = uow.connection.execute(
            select(a.lon, a.lat).where(a.kind == "streetlight").order_by(a.id).limit(1)
        ).one()
        before = journal.newest_id(uow.connection)
    with town.uow_factory(write=True) as uow:
        reports_services.submit(
            uow,
            reports_services.Submission(
                category_code="streetlight-broken",
                lon=float(lon) + 0.00005,
                lat=float(lat),
                description="Dark since Monday, call me at 06 12 34 56 78",
                email="camille@example.org",
                first_name="Camille",
            ),
            TEST_ACTOR,
        )
        uow.commit()
    with town.uow_factory() as uow:
        newest = journal.newest_id(uow.connection)
        events = journal.read_after(uow.connection, before, newest, UNRESTRICTED)
        contractor = journal.read_after(
            uow.connection, before, newest, Scope(maintainer_ids=(1, 2, 3, 4, 5, 6, 7, 8))
        )
    submitted = [e for e in events if e.type == "report.submitted"]
    assert len(submitted) == 1
    payload = submitted[0].payload
    assert payload["category"] == "streetlight-broken"
    assert payload["commune"] is not None
    text = repr(payload)
    for private in ("camille", "Camille", "06 12", "Dark since"):
        assert private not in text
    assert not [e for e in contractor if e.type == "report.submitted"]


def test_a_work_order_step_goes_on_the_stream_without_who_did_it() -> None:
    event = WorkOrderAccepted(
        case_id=9,
        category="streetlight-broken",
        priority="P2",
        state="accepted",
        asset_id=31,
        kind="streetlight",
        commune_insee="21231",
        team="lucerna-eclairage-field",
        organisation="lucerna-eclairage",
        organisation_id=4,
        sector="private",
        actor="user:tech-12",
        actor_organisation="lucerna-eclairage",
        work_order_id=17,
        case_state="dispatched",
    )
    entry = work_order_mapper("accepted")(event)
    assert entry is not None
    assert entry.type == "work_order.changed"
    assert entry.payload["work_order"] == 17
    assert entry.payload["step"] == "accepted"
    assert entry.maintainer_id == 4  # the contractor's own stream carries it
    assert "tech-12" not in repr(entry.payload)
