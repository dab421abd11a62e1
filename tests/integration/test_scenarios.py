"""Scenarios on both databases — chain 3: a night accident at a junction; with one action the
junction flashes, the lights around it go to full power, a bollard drops, a road crew is sent
and the public told. The preview is what runs; a rollback restores what each asset reported
before; roles that may not are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.cases import services as cases_services
from metropilot.control import services
from metropilot.control.repository import commands
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry.services import IngestPipeline
from tests.conftest import TEST_ACTOR


@pytest.fixture
def pipeline(city: Platform) -> IngestPipeline:
    """The test's own ingest pipeline, with the platform's observers (the session's platform
    outlives each test's city, and a pipeline remembers the assets it met)."""
    return IngestPipeline(
        city.uow_factory,
        raw_retention=timedelta(days=30),
        max_batch=10_000,
        observers=list(city.wiring.batch_observers),
        event_observers=list(city.wiring.device_event_observers),
        twin_flush_interval=0,
    )


OPERATOR = services.Caller("operator", UNRESTRICTED, Actor(ActorKind.USER, "operator"))


@pytest.fixture
def city(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.05, seed=3)
        uow.commit()
        cases_services.create_rule(
            uow,
            {
                "order": 10,
                "name": "Road clearance",
                "categories": ["road-clearance"],
                "team": "metropole-roads-field",
            },
            TEST_ACTOR,
        )
        uow.commit()
    return platform


def a_junction_with_a_bollard(city: Platform) -> dict[str, Any]:
    """A junction that has a bollard within a kilometre (the night-accident plan drops one)."""
    a = assets_repository.assets.c
    with city.uow_factory() as uow:
        bollards = uow.connection.execute(select(a.lon, a.lat).where(a.kind == "bollard")).all()
        for row in uow.connection.execute(
            select(a.id, a.external_ref, a.lon, a.lat, a.commune_insee)
            .where(a.kind == "traffic_junction")
            .order_by(a.id)
        ).mappings():
            near = [
                b
                for b in bollards
                if abs(b[0] - row["lon"]) < 0.01 and abs(b[1] - row["lat"]) < 0.007
            ]
            if near:
                return dict(row)
    pytest.fail("the synthetic city (seed 3, scale 0.05) has no junction with a bollard nearby")


def report(
    pipeline: IngestPipeline, ref: str, metrics: dict[str, Any], at: datetime | None = None
) -> None:
    stamp = (at or datetime.now(UTC)).isoformat()
    result = pipeline.ingest([{"asset": ref, "ts": stamp, "metrics": metrics}], source="test")
    assert result.rejected == 0, result.as_json()


def commands_of_batches(
    city: Platform, batch_ids: list[int]
) -> list[tuple[str, str, dict[str, Any]]]:
    c = commands.c
    with city.uow_factory() as uow:
        rows = uow.connection.execute(
            select(c.asset_ref, c.command, c.params).where(c.batch_id.in_(batch_ids)).order_by(c.id)
        ).all()
    return [(str(r), str(k), dict(p)) for r, k, p in rows]


def test_a_night_accident_with_one_action_and_its_rollback(
    city: Platform, pipeline: IngestPipeline
) -> None:
    junction = a_junction_with_a_bollard(city)
    params = {"junction": junction["external_ref"], "radius_m": 200}
    with city.uow_factory() as uow:
        preview = services.preview_scenario(uow, OPERATOR, "night-accident", params)
    steps = {c["label"]: c for c in preview["commands"]}
    assert steps["the junction flashes amber"]["assets"] == [junction["external_ref"]]
    assert steps["the lights around it at full power"]["count"] > 0
    assert steps["the nearest bollard drops for the emergency vehicles"]["count"] == 1
    assert preview["work_orders"][0]["category"] == "road-clearance"
    assert junction["external_ref"] in preview["alert"]["message"]

    # What the lights reported before: 50% (the night program); the junction its normal plan.
    lights = steps["the lights around it at full power"]["assets"]
    for ref in lights:
        report(pipeline, ref, {"light_level_pct": 50})
    report(pipeline, junction["external_ref"], {"junction_mode": 0})

    with city.uow_factory(write=True) as uow:
        with pytest.raises(Conflict, match="preview it, then run it"):
            services.run_scenario(
                uow, OPERATOR, "night-accident", params, reason="accident", confirm=False
            )
        run = services.run_scenario(
            uow,
            OPERATOR,
            "night-accident",
            params,
            reason="night accident reported by police",
            confirm=True,
        )
        uow.commit()
    # The preview is what ran, asset by asset.
    assert run["plan"]["commands"] == preview["commands"]
    ran = commands_of_batches(city, [b["id"] for b in run["batches"]])
    planned = [
        (ref, step["command"], step["params"])
        for step in preview["commands"]
        for ref in step["assets"]
    ]
    assert ran == planned
    # The road crew: a case routed and dispatched.
    (case_id,) = run["cases"]
    with city.uow_factory() as uow:
        case = cases_services.get_case(uow, case_id)
        assert case.state.value == "dispatched"
        alerts = services.public_alerts(uow)
    assert alerts[0]["message"] == preview["alert"]["message"]

    # Roll back: each light asks for its 50% again, the junction its normal plan.
    with city.uow_factory(write=True) as uow:
        rolled = services.rollback_scenario(
            uow, OPERATOR, run["id"], reason="road cleared, all clear"
        )
        uow.commit()
    restored = commands_of_batches(city, [b["id"] for b in rolled["rollback_batches"]])
    assert sorted(
        (ref, params) for ref, kind, params in restored if kind == "set_light_level"
    ) == sorted((ref, {"level_pct": 50}) for ref in lights)
    assert (junction["external_ref"], "set_junction_mode", {"mode": "normal"}) in restored
    # The bollard never reported a position: left as it is, and said so.
    bollard = steps["the nearest bollard drops for the emergency vehicles"]["assets"][0]
    assert rolled["not_restored"] == [bollard]
    with city.uow_factory() as uow:
        assert services.public_alerts(uow) == []  # the message ended with the rollback
    with city.uow_factory(write=True) as uow, pytest.raises(Conflict, match="already"):
        services.rollback_scenario(uow, OPERATOR, run["id"], reason="twice by mistake")


def test_scenarios_refuse_who_may_not_and_what_is_wrong(city: Platform) -> None:
    junction = a_junction_with_a_bollard(city)
    agent = services.Caller(
        "commune_agent",
        Scope(communes=(junction["commune_insee"],)),
        Actor(ActorKind.USER, "agent"),
    )
    with city.uow_factory() as uow:
        with pytest.raises(Forbidden):  # junction commands are the command post's
            services.preview_scenario(
                uow, agent, "night-accident", {"junction": junction["external_ref"]}
            )
        with pytest.raises(InvalidInput) as refused:
            services.preview_scenario(uow, OPERATOR, "night-accident", {"radius_m": 5, "speed": 3})
        where = sorted(p["loc"] for p in refused.value.details)
        assert where == ["junction", "radius_m", "speed"]
        a = assets_repository.assets.c
        light = uow.connection.execute(
            select(a.external_ref).where(a.kind == "streetlight").limit(1)
        ).scalar_one()
        with pytest.raises(InvalidInput, match="not a traffic_junction"):
            services.preview_scenario(uow, OPERATOR, "night-accident", {"junction": light})


def test_a_junction_in_fault_cannot_be_sent_a_plan_it_would_refuse(
    city: Platform, pipeline: IngestPipeline
) -> None:
    """Flashing amber is a fail-safe mode: even a faulty controller gets it."""
    junction = a_junction_with_a_bollard(city)
    report(
        pipeline,
        junction["external_ref"],
        {"controller_fault": True},
        datetime.now(UTC) - timedelta(seconds=1),
    )
    with city.uow_factory() as uow:
        preview = services.preview_scenario(
            uow, OPERATOR, "night-accident", {"junction": junction["external_ref"]}
        )
    assert preview["commands"][0]["params"] == {"mode": "flashing_amber"}


def test_a_route_closure_takes_what_stands_along_the_route(city: Platform) -> None:
    """A route along a row of street lights: those within the width are taken, in the order
    they come along it; those farther are not."""
    a = assets_repository.assets.c
    with city.uow_factory() as uow:
        lights = uow.connection.execute(
            select(a.external_ref, a.lon, a.lat)
            .where(a.kind == "streetlight", a.commune_insee == "21231")
            .order_by(a.id)
            .limit(2)
        ).all()
    (ref_a, lon_a, lat_a), (ref_b, lon_b, lat_b) = lights
    route = [[lon_a, lat_a], [lon_b, lat_b]]
    with city.uow_factory() as uow:
        narrow = services.preview_scenario(
            uow, OPERATOR, "route-closure", {"route": route, "width_m": 5}
        )
        with pytest.raises(InvalidInput) as refused:
            services.preview_scenario(uow, OPERATOR, "route-closure", {"route": [[5.0, 47.3]]})
    lit = next(c for c in narrow["commands"] if c["command"] == "set_light_level")
    assert lit["assets"][0] == ref_a  # in order along the route
    assert ref_b in lit["assets"]
    assert "Dijon" in narrow["alert"]["message"]
    assert refused.value.details[0]["loc"] == "route"
