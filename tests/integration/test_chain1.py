"""Chain 1 end to end, on both databases, through the real MQTT broker and the HTTP API: a street
light reports a lamp failure over MQTT; the ingest worker raises the alarm, which opens a case
routed to the lighting contractor; the command post triages and dispatches; the contractor
accepts, goes on site and finishes; the command post verifies and the case is resolved; the lamp
reports healthy again and the alarm clears. Every link is on the case's timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from metropilot.alarms.repository import alarms
from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.cases import services as cases_services
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry.mqtt import BrokerAddress
from metropilot.telemetry.services import IngestPipeline
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR
from tests.factories import WORLD_ACCOUNTS, bearer, create_world_accounts
from tests.integration.test_mqtt_ingest import (
    Publisher,
    consumer,
    eventually,
    mqtt_broker,
    options,
    tag,
)

__all__ = ["mqtt_broker", "tag"]  # fixtures, shared with the MQTT ingest tests

LIGHTING_TEAM = "lucerna-eclairage-field"


def test_chain_1_from_an_mqtt_lamp_failure_to_the_cleared_alarm(
    platform: Platform, mqtt_broker: BrokerAddress, tag: str
) -> None:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.02, seed=5)
        cases_services.create_rule(
            uow,
            {
                "order": 1,
                "name": "Lamp failures to the lighting contractor",
                "categories": ["lamp-failure"],
                "team": LIGHTING_TEAM,
            },
            TEST_ACTOR,
        )
        uow.commit()
    create_world_accounts(platform)
    a = assets_repository.assets.c
    with platform.uow_factory() as uow:
        light_id, ref = uow.connection.execute(
            select(a.id, a.external_ref)
            .where(a.kind == "streetlight", a.commune_insee == "21231")
            .order_by(a.id)
            .limit(1)
        ).one()
    pipeline = IngestPipeline(
        platform.uow_factory,
        raw_retention=timedelta(days=30),
        max_batch=1000,
        observers=list(platform.wiring.batch_observers),
    )
    pipeline.warm_up()

    def reading(**metrics: Any) -> dict[str, Any]:
        return {"ts": datetime.now(UTC).isoformat(), "metrics": metrics}

    def cases() -> list[Any]:
        with platform.uow_factory() as uow:
            return cases_services.query_cases(uow, cases_services.CaseQuery(asset_id=int(light_id)))

    def alarm_states() -> list[str]:
        with platform.uow_factory() as uow:
            return [
                str(s)
                for s in uow.connection.execute(
                    select(alarms.c.state).where(alarms.c.asset_id == light_id)
                ).scalars()
            ]

    publisher = Publisher(mqtt_broker)
    try:
        with consumer(pipeline, mqtt_broker, options(tag, "chain1")):
            publisher.send(f"{tag}/{ref}/telemetry", reading(lamp_failure=True, power_w=0))
            publisher.wait()
            eventually(lambda: len(cases()) == 1, what="the case of the lamp failure")
            [case] = cases()
            assert case.assignee is not None
            assert case.assignee.team == LIGHTING_TEAM
            assert len(case.alarm_ids) == 1

            with TestClient(create_app(platform)) as client:
                h = {name: bearer(client, name) for name in WORLD_ACCOUNTS}
                operator, contractor = h["operator"], h["contractor-lighting"]
                client.post(
                    f"/api/v1/cases/{case.id}/triage", json={}, headers=operator
                ).raise_for_status()
                order = client.post(
                    f"/api/v1/cases/{case.id}/dispatch", json={}, headers=operator
                ).json()
                url = f"/api/v1/work-orders/{order['id']}"
                for step, note in (("accept", None), ("on_site", None), ("done", "Lamp replaced")):
                    client.post(
                        f"{url}/{step}", json={"note": note}, headers=contractor
                    ).raise_for_status()
                client.post(f"{url}/verify", json={}, headers=operator).raise_for_status()
                resolved = client.get(f"/api/v1/cases/{case.id}", headers=operator).json()
                assert resolved["state"] == "resolved"
                timeline = client.get(f"/api/v1/cases/{case.id}/timeline", headers=operator).json()

            # The equipment reports healthy again: its alarm clears.
            assert alarm_states() != ["cleared"]
            publisher.send(f"{tag}/{ref}/telemetry", reading(lamp_failure=False, power_w=36))
            publisher.wait()
            eventually(lambda: alarm_states() == ["cleared"], what="the alarm to clear")
    finally:
        publisher.close()
    whats = [e["what"] for e in timeline["entries"]]
    assert whats[:3] == ["detected", "opened", "routed"]
    for milestone in ("triaged", "dispatched", "accepted", "on_site", "done", "verified"):
        assert milestone in whats
    assert [link["to"] for link in timeline["links"]][:5] == [
        "triaged",
        "dispatched",
        "accepted",
        "on_site",
        "done",
    ]
    assert all(link["seconds"] >= 0 for link in timeline["links"])
    assert timeline["missing"] == []  # every step up to done was recorded
