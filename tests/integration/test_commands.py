"""Commands to equipment on both databases: stored pending, sent after the commit, retried while
unanswered, timed out, answered by the equipment through its events; area commands confirmed;
interlocks judged on what the junction reported; roles and scopes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from metropilot.accounts.policy import asset_scope
from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import Platform
from metropilot.control import services
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.simulate.commands import Responder, ResponderConfig
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


class Recorder:
    """A transport that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, asset_ref: str, message: Mapping[str, Any]) -> None:
        self.sent.append((asset_ref, dict(message)))


@pytest.fixture
def city(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    return platform


def first(city: Platform, kind: str, commune: str | None = None) -> tuple[int, str]:
    a = assets_repository.assets.c
    query = select(a.id, a.external_ref).where(a.kind == kind).order_by(a.id).limit(1)
    if commune is not None:
        query = query.where(a.commune_insee == commune)
    with city.uow_factory() as uow:
        row = uow.connection.execute(query).one()
    return int(row[0]), str(row[1])


def give(city: Platform, caller: services.Caller = OPERATOR, **fields: Any) -> dict[str, Any]:
    with city.uow_factory(write=True) as uow:
        found = services.issue(uow, caller, **fields)
        uow.commit()
    return found


def status_of(city: Platform, command_id: int) -> dict[str, Any]:
    with city.uow_factory() as uow:
        return services.get_command(uow, command_id)


def answer(pipeline: IngestPipeline, ref: str, *items: dict[str, Any]) -> None:
    stamp = datetime.now(UTC).isoformat()
    result = pipeline.ingest([{"asset": ref, "ts": stamp, **item} for item in items], source="test")
    assert result.rejected == 0, result.as_json()


def event(code: str, **payload: Any) -> dict[str, Any]:
    return {"event": {"code": code, "payload": payload}}


def test_a_command_is_sent_after_the_commit_and_done_when_the_equipment_says_so(
    city: Platform,
    pipeline: IngestPipeline,
) -> None:
    light_id, ref = first(city, "streetlight")
    command = give(
        city,
        asset=ref,
        command="set_light_level",
        params={"level_pct": 100},
        reason="night accident at the junction",
    )
    assert (command["status"], command["attempts"]) == ("pending", 0)
    transport = Recorder()
    sent, timed_out = services.dispatch(city.uow_factory, transport)
    assert (sent, timed_out) == (1, 0)
    assert transport.sent == [
        (
            ref,
            {
                "command": command["id"],
                "type": "set_light_level",
                "params": {"level_pct": 100},
                "deadline": command["deadline"],
            },
        )
    ]
    assert status_of(city, command["id"])["status"] == "sent"
    answer(pipeline, ref, event("command.ack", command=command["id"]))
    assert status_of(city, command["id"])["status"] == "acknowledged"
    # Not done because it was sent or acknowledged: done when the equipment reports it.
    answer(
        pipeline,
        ref,
        {"metrics": {"light_level_pct": 100}},
        event("command.done", command=command["id"]),
    )
    done = status_of(city, command["id"])
    assert done["status"] == "done"
    assert done["finished_at"] is not None
    assert pipeline.latest_values(light_id)["light_level_pct"][1] == 100.0
    # Nothing more to send.
    assert services.dispatch(city.uow_factory, transport) == (0, 0)


def test_unanswered_commands_are_sent_again_then_time_out(
    city: Platform, pipeline: IngestPipeline
) -> None:
    _, ref = first(city, "camera")
    t0 = datetime.now(UTC)
    command = give(
        city,
        asset=ref,
        command="camera_preset",
        params={"preset": 3},
        reason="look at the junction",
        now=t0,
    )
    transport = Recorder()
    # 10 s to answer, three attempts: sent at once, again after 3.3 s, and after 6.7 s.
    assert services.dispatch(city.uow_factory, transport, t0) == (1, 0)
    assert services.dispatch(city.uow_factory, transport, t0 + timedelta(seconds=1)) == (0, 0)
    assert services.dispatch(city.uow_factory, transport, t0 + timedelta(seconds=3.5)) == (1, 0)
    assert services.dispatch(city.uow_factory, transport, t0 + timedelta(seconds=7)) == (1, 0)
    assert services.dispatch(city.uow_factory, transport, t0 + timedelta(seconds=9)) == (0, 0)
    assert [m["command"] for _, m in transport.sent] == [command["id"]] * 3
    assert services.dispatch(city.uow_factory, transport, t0 + timedelta(seconds=11)) == (0, 1)
    final = status_of(city, command["id"])
    assert (final["status"], final["attempts"]) == ("timed_out", 3)
    assert "after 3 attempt" in final["result"]
    # A late answer changes nothing.
    answer(pipeline, ref, event("command.done", command=command["id"]))
    assert status_of(city, command["id"])["status"] == "timed_out"


def test_failures_and_answers_from_elsewhere(city: Platform, pipeline: IngestPipeline) -> None:
    _, bollard = first(city, "bollard")
    _, other = first(city, "camera")
    command = give(
        city,
        asset=bollard,
        command="set_bollard",
        params={"position": "down"},
        reason="ambulance on its way",
    )
    services.dispatch(city.uow_factory, Recorder())
    answer(pipeline, other, event("command.done", command=command["id"]))  # not the bollard
    assert status_of(city, command["id"])["status"] == "sent"
    answer(pipeline, bollard, event("command.failed", command=command["id"], message="jammed"))
    failed = status_of(city, command["id"])
    assert (failed["status"], failed["result"]) == ("failed", "jammed")


def test_area_commands_are_confirmed_then_answered_by_the_simulated_equipment(
    city: Platform,
    pipeline: IngestPipeline,
) -> None:
    area = {"commune": "21231"}
    with pytest.raises(Conflict, match="confirm") as refused:
        give(
            city,
            area=area,
            command="set_light_level",
            params={"level_pct": 100},
            reason="concert on the square",
        )
    lights = int(refused.value.details[0]["message"].split()[0])
    batch = give(
        city,
        area=area,
        command="set_light_level",
        params={"level_pct": 100},
        reason="concert on the square",
        confirm=True,
    )
    assert batch["targets"] == lights > 1
    assert batch["counts"]["pending"] == lights
    responder = Responder(
        lambda items: pipeline.ingest(items, source="simulator"),
        config=ResponderConfig(failure_rate=0.0, ack_delay_s=(0, 0.01), work_delay_s=(0, 0.01)),
    )
    transport = services.LocalTransport()
    transport.listen(responder.on_command)
    try:
        services.dispatch(city.uow_factory, transport)
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while datetime.now(UTC) < deadline:
            with city.uow_factory() as uow:
                now = services.get_batch(uow, batch["id"])
            if now["status"] == "done":
                break
    finally:
        responder.stop()
    assert now["counts"]["done"] == lights


def test_who_may_command_what(city: Platform) -> None:
    _, junction = first(city, "traffic_junction")
    agent = services.Caller(
        "commune_agent", Scope(communes=("21231",)), Actor(ActorKind.USER, "agent")
    )
    with pytest.raises(Forbidden):
        give(
            city,
            agent,
            asset=junction,
            command="set_junction_mode",
            params={"mode": "all_red"},
            reason="accident",
        )
    _, elsewhere = first(city, "streetlight", "21166")
    with pytest.raises(NotFound):  # outside their communes: not there for them
        give(
            city,
            agent,
            asset=elsewhere,
            command="switch_light",
            params={"on": True},
            reason="festival",
        )
    _, mine = first(city, "streetlight", "21231")
    assert (
        give(
            city, agent, asset=mine, command="switch_light", params={"on": True}, reason="festival"
        )["status"]
        == "pending"
    )
    with pytest.raises(InvalidInput, match="reason"):
        give(city, asset=mine, command="switch_light", params={"on": True}, reason="")
    with pytest.raises(InvalidInput, match="applies to"):
        give(city, asset=mine, command="set_bollard", params={"position": "up"}, reason="test it")


def test_junction_interlocks_use_what_the_junction_reported(
    city: Platform, pipeline: IngestPipeline
) -> None:
    _, junction = first(city, "traffic_junction")
    forced = {"mode": "forced_green", "approach": 1, "duration_s": 120}
    answer(pipeline, junction, {"metrics": {"junction_mode": 1}})  # flashing amber
    with pytest.raises(Conflict, match="all_red first"):
        give(city, asset=junction, command="set_junction_mode", params=forced, reason="escort")
    give(
        city,
        asset=junction,
        command="set_junction_mode",
        params={"mode": "all_red"},
        reason="escort",
    )
    answer(pipeline, junction, {"metrics": {"junction_mode": 2}})  # all red, as reported
    assert (
        give(city, asset=junction, command="set_junction_mode", params=forced, reason="escort")[
            "status"
        ]
        == "pending"
    )
    answer(pipeline, junction, {"metrics": {"controller_fault": True}})
    with pytest.raises(Conflict, match="controller fault"):
        give(
            city,
            asset=junction,
            command="set_junction_mode",
            params={"mode": "normal"},
            reason="back to normal",
        )


def test_the_caller_scope_comes_from_the_account(city: Platform) -> None:
    """The routes build the caller's scope with the registry's own policy."""
    from metropilot.accounts.model import Role
    from metropilot.accounts.policy import Principal

    principal = Principal(
        kind=ActorKind.USER, name="agent", role=Role.COMMUNE_AGENT, communes=("21231",)
    )
    assert asset_scope(principal) == Scope(communes=("21231",))


def test_cabinets_are_given_their_program_and_drift_is_flagged(
    city: Platform, pipeline: IngestPipeline
) -> None:
    """The synthetic metropolis runs 'eco-23-05' (50% from 23:00 to 05:00) everywhere."""
    supervisor = services.Caller("supervisor", UNRESTRICTED, Actor(ActorKind.USER, "supervisor"))
    night = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)  # 00:30 in Paris: the program says 50%
    with city.uow_factory() as uow:
        before = services.cabinet_programs(uow, supervisor, commune="21231", now=night)
    assert before
    assert all(c["reasons"] == ["never given its program"] for c in before)
    assert {c["expected"]["program"] for c in before} == {"eco-23-05"}
    assert {c["level_now"] for c in before} == {50.0}
    with city.uow_factory(write=True) as uow:
        with pytest.raises(Conflict, match="confirm"):
            services.push_programs(
                uow, supervisor, reason="monthly check", confirm=False, commune="21231", now=night
            )
        (batch,) = services.push_programs(
            uow, supervisor, reason="monthly check", confirm=True, commune="21231", now=night
        )
        uow.commit()
    assert batch["targets"] == len(before)
    transport = Recorder()
    services.dispatch(city.uow_factory, transport, night)
    _, message = transport.sent[0]
    assert message["type"] == "apply_dimming_program"
    assert message["params"]["program"] == "eco-23-05"
    assert message["params"]["steps"][1] == {"from": "23:00", "to": "05:00", "level": 50.0}
    # Every cabinet confirms; one lamp of the first cabinet then reports full power at night.
    for cabinet, sent in transport.sent:
        answer(pipeline, cabinet, event("command.done", command=sent["command"]))
    a = assets_repository.assets.c
    with city.uow_factory() as uow:
        first_cabinet = before[0]
        lamp = uow.connection.execute(
            select(a.external_ref).where(a.parent_id == first_cabinet["cabinet"]).limit(1)
        ).scalar_one()
    # Last night at 00:30 Paris time the program asked for 50%; the lamp said 100%.
    paris = ZoneInfo("Europe/Paris")
    today = datetime.now(paris).date()
    last_night = datetime(today.year, today.month, today.day, 0, 30, tzinfo=paris)
    pipeline.ingest(
        [{"asset": lamp, "ts": last_night.isoformat(), "metrics": {"light_level_pct": 100}}],
        source="test",
        now=last_night + timedelta(seconds=1),
    )
    with city.uow_factory() as uow:
        after = services.cabinet_programs(
            uow, supervisor, commune="21231", now=last_night + timedelta(minutes=1)
        )
    assert all(c["running"]["program"] == "eco-23-05" for c in after)
    assert {c["level_now"] for c in after} == {50.0}
    drifting = [c for c in after if c["drift"]]
    assert [c["ref"] for c in drifting] == [first_cabinet["ref"]]
    assert drifting[0]["reasons"] == ["its lamps report 100% where the program asks 50%"]
    agent = services.Caller("commune_agent", Scope(communes=("21231",)), Actor(ActorKind.USER, "a"))
    with city.uow_factory(write=True) as uow, pytest.raises(Forbidden):
        services.push_programs(uow, agent, reason="not mine to do", confirm=True)
