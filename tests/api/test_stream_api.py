"""The live stream over HTTP, on both databases: framing, scoping, resuming, heartbeats, limits.

Every stream in these tests ends by itself (``timeout_s``, ``max_events``), so a missing event
fails a test instead of hanging it. Changes are made through a platform whose unit of work
journals through a journal of the test's own, in the transaction that made them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import jsonschema_rs
import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from metropilot.accounts.model import Role, User, parse_scope
from metropilot.accounts.services import create_key, create_user
from metropilot.assets import repository as assets_repository
from metropilot.assets import services as assets_services
from metropilot.assets.model import AssetStatus
from metropilot.audit.services import append_entries
from metropilot.bootstrap import Platform, platform_journal
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import SYSTEM
from metropilot.shared.events import MessageBus
from metropilot.stream import journal as stream_journal
from metropilot.stream import services as stream_services
from metropilot.stream.model import ASSET_STATUS, JournalEntry
from metropilot.stream.routes import install_stream
from metropilot.stream.routes import router as stream_router
from metropilot.stream.services import StreamConfig
from metropilot.web.app import API_PREFIX, create_app
from tests.conftest import TEST_ACTOR
from tests.factories import EAST, PASSWORD, WEST, bearer, light, seed_territory

STREAM = f"{API_PREFIX}/stream"
# Short enough for the tests to see heartbeats and limits without waiting.
TEST_CONFIG = StreamConfig(heartbeat_s=0.3, retry_ms=1500, max_streams=5, poll_interval_s=0.02)
LIMIT_S = 10.0  # no stream in these tests stays open longer


@dataclasses.dataclass
class World:
    platform: Platform  # its unit of work publishes on `bus`
    bus: MessageBus
    journal: stream_journal.Journal
    app: FastAPI
    client: TestClient
    headers: dict[str, dict[str, str]]
    assets: dict[str, int]

    def set_status(self, ref: str, status: str) -> None:
        with self.platform.uow_factory(write=True) as uow:
            assets_services.set_status(uow, self.assets[ref], AssetStatus(status), TEST_ACTOR)
            uow.commit()


def app_with_stream(platform: Platform, config: StreamConfig = TEST_CONFIG) -> FastAPI:
    app = create_app(platform)
    if not any(getattr(r, "path", None) == STREAM for r in app.routes):
        app.include_router(stream_router, prefix=API_PREFIX)
    install_stream(app, config)
    return app


@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    seed_territory(platform)
    bus = MessageBus()
    journal = platform_journal(platform.wiring)
    journal.detach()  # the setup's own changes are not part of the story
    factory = partial(
        UnitOfWork, platform.engine, bus, audit_sink=append_entries, event_sink=journal.sink
    )
    own = dataclasses.replace(platform, uow_factory=factory, _pipeline=None)
    with own.uow_factory(write=True) as uow:
        for user in (
            User("olga", Role.OPERATOR, "roads"),
            User("west-agent", Role.COMMUNE_AGENT, "roads", communes=(WEST.insee,)),
            User("lumen", Role.CONTRACTOR, "lumiere-sa"),
            User("carla", Role.CITIZEN, None),
        ):
            create_user(uow, user, PASSWORD, SYSTEM)
        assets_services.import_assets(
            uow,
            [
                light("W1", 5.05, 47.35),
                light("W2", 5.06, 47.35),
                light("W3", 5.07, 47.35, maintainer="roads"),
                light("E1", 5.15, 47.35),
            ],
            TEST_ACTOR,
        )
        _, reader_key = create_key(uow, "reader", [parse_scope("assets:read")], SYSTEM)
        _, gateway_key = create_key(uow, "gateway", [parse_scope("telemetry:write")], SYSTEM)
        _, narrow_key = create_key(
            uow,
            "cameras west, lights east",
            [
                parse_scope(f"assets:read kind=camera commune={WEST.insee}"),
                parse_scope(f"assets:read kind=streetlight commune={EAST.insee}"),
            ],
            SYSTEM,
        )
        found = assets_repository.ids_by_ref(uow.connection, {"W1", "W2", "W3", "E1"})
        ids = {ref: asset_id for ref, (asset_id, _) in found.items()}
        uow.commit()
    journal.attach()
    app = app_with_stream(own)
    with TestClient(app) as client:
        headers = {name: bearer(client, name) for name in ("olga", "west-agent", "lumen", "carla")}
        headers["device"] = {"X-API-Key": reader_key}
        headers["gateway"] = {"X-API-Key": gateway_key}
        headers["narrow-key"] = {"X-API-Key": narrow_key}
        yield World(own, bus, journal, app, client, headers, ids)
    journal.detach()


# --- reading Server-Sent Events ----------------------------------------------------------------


class Reader:
    """Reads an SSE body message by message (a message ends at a blank line)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines

    def next(self) -> dict[str, Any] | None:
        """The next message, as its fields (``comments`` for comment lines); None at the end."""
        message: dict[str, Any] = {}
        for line in self._lines:
            if line == "":
                if message:
                    return message
                continue
            if line.startswith(":"):
                message.setdefault("comments", []).append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            message[name] = value[1:] if value.startswith(" ") else value
        return message or None

    def event(self) -> dict[str, Any]:
        """The next real event (skipping the retry hint and heartbeats), data decoded."""
        while True:
            message = self.next()
            assert message is not None, "the stream ended before the expected event"
            if "event" in message:
                message["data"] = orjson.loads(message["data"])
                return message

    def rest(self) -> list[dict[str, Any]]:
        """Every event until the stream ends."""
        found = []
        while (message := self.next()) is not None:
            if "event" in message:
                message["data"] = orjson.loads(message["data"])
                found.append(message)
        return found


def open_stream(
    world: World, who: str, headers: dict[str, str] | None = None, **params: Any
) -> Any:
    params.setdefault("timeout_s", LIMIT_S)
    return world.client.stream(
        "GET", STREAM, params=params, headers={**world.headers[who], **(headers or {})}
    )


def journal_ids(world: World) -> list[int]:
    with world.platform.uow_factory() as uow:
        return [
            int(r[0])
            for r in uow.connection.exec_driver_sql("SELECT id FROM stream_events ORDER BY id")
        ]


# --- the tests -----------------------------------------------------------------------------------


def test_a_status_change_arrives_framed_as_server_sent_events(world: World) -> None:
    with open_stream(world, "olga", max_events=1) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"].startswith("no-cache")
        assert "content-encoding" not in response.headers  # never gzipped: it would buffer
        lines = response.iter_lines()
        assert next(lines) == "retry: 1500"
        assert next(lines) == ""
        world.set_status("W1", "fault")
        id_line, event_line, data_line, blank = (next(lines) for _ in range(4))
    [journaled] = journal_ids(world)
    assert id_line == f"id: {journaled}"
    assert event_line == f"event: {ASSET_STATUS}"
    assert blank == ""
    assert data_line.startswith("data: {")
    data = orjson.loads(data_line[len("data: ") :])
    assert data == {
        "id": journaled,
        "type": "asset.status",
        "at": data["at"],
        "asset": world.assets["W1"],
        "commune": WEST.insee,
        "kind": "streetlight",
        "status": "fault",
        "previous_status": "ok",
    }
    assert datetime.fromisoformat(data["at"]).tzinfo is not None


def test_a_commune_agent_receives_only_its_commune(world: World) -> None:
    with (
        open_stream(world, "west-agent", max_events=1) as agent,
        open_stream(world, "olga", max_events=2) as operator,
    ):
        agent_events, operator_events = Reader(agent.iter_lines()), Reader(operator.iter_lines())
        world.set_status("E1", "fault")  # East: not the agent's
        world.set_status("W1", "fault")
        seen = agent_events.event()
        assert seen["data"]["asset"] == world.assets["W1"]
        assert agent_events.rest() == []  # max_events=1: it ends; E1 never came first
        assert [e["data"]["asset"] for e in operator_events.rest()] == [
            world.assets["E1"],
            world.assets["W1"],
        ]
    # Replaying shows the same: another commune's events do not exist for the agent, and asking
    # for that commune narrows to nothing instead of widening.
    replay = open_stream(world, "west-agent", last_event_id="0", timeout_s=0.2)
    with replay as response:
        assert [e["data"]["commune"] for e in Reader(response.iter_lines()).rest()] == [WEST.insee]
    with open_stream(
        world, "west-agent", last_event_id="0", commune=EAST.insee, timeout_s=0.2
    ) as response:
        assert Reader(response.iter_lines()).rest() == []


def test_a_contractor_receives_only_what_it_maintains(world: World) -> None:
    world.set_status("W3", "fault")  # maintained by the roads service
    world.set_status("W2", "fault")  # by Lumière SA, like E1
    world.set_status("E1", "offline")
    with open_stream(world, "lumen", last_event_id="0", timeout_s=0.3) as response:
        assets = [e["data"]["asset"] for e in Reader(response.iter_lines()).rest()]
    assert assets == [world.assets["W2"], world.assets["E1"]]


def test_a_key_sees_what_its_read_scopes_cover(world: World) -> None:
    for ref in ("W1", "E1", "W2"):
        world.set_status(ref, "fault")
    with open_stream(world, "narrow-key", last_event_id="0", timeout_s=0.2) as response:
        assets = [e["data"]["asset"] for e in Reader(response.iter_lines()).rest()]
    assert assets == [world.assets["E1"]]  # lights in the East only, not lights anywhere


def test_resuming_replays_exactly_what_was_missed_in_order_then_goes_live(world: World) -> None:
    with open_stream(world, "olga", max_events=1) as response:
        reader = Reader(response.iter_lines())
        reader.next()  # the retry hint: the stream is open
        world.set_status("W1", "fault")
        last_seen = int(reader.event()["id"])
    world.set_status("W2", "fault")  # while disconnected
    world.set_status("E1", "offline")
    world.set_status("W1", "ok")
    missed = [i for i in journal_ids(world) if i > last_seen]
    assert len(missed) == 3
    with open_stream(
        world, "olga", headers={"Last-Event-ID": str(last_seen)}, max_events=4
    ) as response:
        reader = Reader(response.iter_lines())
        replayed = [reader.event() for _ in range(3)]
        assert [int(e["id"]) for e in replayed] == missed
        assert [(e["data"]["asset"], e["data"]["status"]) for e in replayed] == [
            (world.assets["W2"], "fault"),
            (world.assets["E1"], "offline"),
            (world.assets["W1"], "ok"),
        ]
        world.set_status("W2", "ok")  # live, after the replay
        live = reader.event()
        assert int(live["id"]) > missed[-1]
        assert (live["data"]["asset"], live["data"]["status"]) == (world.assets["W2"], "ok")
        assert reader.rest() == []
    # The query parameter does the same; the header wins when both are given (a browser
    # reconnecting keeps the URL and sends the header).
    with open_stream(world, "olga", last_event_id=str(missed[1]), timeout_s=0.2) as response:
        assert [int(e["id"]) for e in Reader(response.iter_lines()).rest()] == [
            missed[2],
            int(live["id"]),
        ]
    with open_stream(
        world,
        "olga",
        headers={"Last-Event-ID": str(missed[-1])},
        last_event_id="0",
        timeout_s=0.2,
    ) as response:
        assert len(Reader(response.iter_lines()).rest()) == 1


def test_without_an_id_the_stream_starts_now_or_at_since(world: World) -> None:
    world.set_status("W1", "fault")
    with open_stream(world, "olga", timeout_s=0.2) as response:
        assert Reader(response.iter_lines()).rest() == []
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    with open_stream(world, "olga", since=since, timeout_s=0.2) as response:
        assert [e["data"]["asset"] for e in Reader(response.iter_lines()).rest()] == [
            world.assets["W1"]
        ]
    too_old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    refused = world.client.get(STREAM, params={"since": too_old}, headers=world.headers["olga"])
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "since_out_of_range"


def test_a_bad_last_event_id_is_a_400_json_error(world: World) -> None:
    olga = world.headers["olga"]
    for bad in ("abc", "-1", "12.5", "1e3", "99999999999999999999", "7; drop"):
        for response in (
            world.client.get(STREAM, headers={**olga, "Last-Event-ID": bad}),
            world.client.get(STREAM, params={"last_event_id": bad}, headers=olga),
        ):
            assert response.status_code == 400, (bad, response.text)
            assert response.headers["content-type"].startswith("application/json")
            assert response.json()["error"]["code"] == "invalid_last_event_id"


def test_heartbeats_keep_an_idle_stream_open(world: World) -> None:
    started = time.monotonic()
    with open_stream(world, "olga", timeout_s=1.0) as response:
        reader = Reader(response.iter_lines())
        messages = []
        while (message := reader.next()) is not None:
            messages.append(message)
    elapsed = time.monotonic() - started
    beats = [m for m in messages if m.get("comments") == ["keep-alive"]]
    assert messages[0] == {"retry": "1500"}
    assert 2 <= len(beats) <= 4, messages  # every 0.3 s over 1 s
    assert 0.9 <= elapsed < 3


def test_who_may_open_a_stream(world: World) -> None:
    anonymous = world.client.get(STREAM)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    citizen = world.client.get(STREAM, headers=world.headers["carla"])
    assert citizen.status_code == 403
    # A key needs assets:read, like reading the registry.
    gateway = world.client.get(STREAM, params={"timeout_s": 0}, headers=world.headers["gateway"])
    assert gateway.status_code == 403
    device = world.client.get(STREAM, params={"timeout_s": 0}, headers=world.headers["device"])
    assert device.status_code == 200
    assert device.text == "retry: 1500\n\n"


def test_filters_by_type_and_commune(world: World) -> None:
    world.set_status("W1", "fault")
    world.set_status("E1", "fault")
    query: dict[str, Any] = {"last_event_id": "0", "timeout_s": 0.2}
    with open_stream(world, "olga", commune=EAST.insee, **query) as response:
        assert [e["data"]["asset"] for e in Reader(response.iter_lines()).rest()] == [
            world.assets["E1"]
        ]
    with open_stream(world, "olga", types="alarm.*", **query) as response:
        assert Reader(response.iter_lines()).rest() == []
    with open_stream(world, "olga", types="asset.status,alarm.raised", **query) as response:
        assert len(Reader(response.iter_lines()).rest()) == 2
    for params, code in (
        ({"types": "asset.status,weather"}, "unknown_event_type"),
        ({"commune": "Dijon"}, "invalid_commune"),
    ):
        response = world.client.get(STREAM, params=params, headers=world.headers["olga"])
        assert response.status_code == 400
        assert response.json()["error"]["code"] == code


def test_an_event_journaled_by_another_process_arrives_by_polling(world: World) -> None:
    """The ingest worker journals in its own process: nothing wakes this one, the poll does."""
    with open_stream(world, "olga", max_events=1) as response:
        reader = Reader(response.iter_lines())
        reader.next()
        with world.platform.uow_factory(write=True) as uow:
            entry = JournalEntry(
                type=ASSET_STATUS,
                at=datetime.now(UTC),
                payload={"asset": world.assets["E1"], "status": "fault"},
                asset_id=world.assets["E1"],
                maintainer_known=False,
            )
            stream_journal.append(uow.connection, [entry])  # no signal, as from elsewhere
            uow.commit()
        written = time.perf_counter()
        event = reader.event()
        latency = time.perf_counter() - written
    assert event["data"]["asset"] == world.assets["E1"]
    assert latency < 1.0  # the poll interval is 20 ms here


def test_telemetry_reporting_a_fault_reaches_the_stream(world: World) -> None:
    """The whole chain: a gateway reports a lamp failure, the status changes, the stream says so."""
    with open_stream(world, "west-agent", max_events=1) as response:
        reader = Reader(response.iter_lines())
        reader.next()
        reading = {
            "asset": "W1",
            "ts": datetime.now(UTC).isoformat(),
            "metrics": {"lamp_failure": True},
        }
        posted = world.client.post(
            f"{API_PREFIX}/telemetry", json=[reading], headers=world.headers["gateway"]
        )
        assert posted.status_code == 200, posted.text
        assert posted.json()["accepted"] == 1
        event = reader.event()
    assert event["event"] == "asset.status"
    assert (event["data"]["asset"], event["data"]["status"]) == (world.assets["W1"], "fault")


def test_streams_are_capped_per_process_and_free_their_place_on_leaving(world: World) -> None:
    hub = install_stream(world.app, dataclasses.replace(TEST_CONFIG, max_streams=2))
    with open_stream(world, "olga") as first, open_stream(world, "west-agent") as second:
        assert (first.status_code, second.status_code) == (200, 200)
        assert hub.active == 2
        refused = world.client.get(STREAM, headers=world.headers["lumen"])
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "too_many_streams"
        assert refused.headers["retry-after"] == "1"
    deadline = time.monotonic() + 5
    while hub.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hub.active == 0  # both clients left: their streams ended and gave their places back
    with open_stream(world, "lumen", timeout_s=0) as again:
        assert again.status_code == 200


def test_a_client_resuming_after_the_retention_is_told_of_the_gap(world: World) -> None:
    world.set_status("W1", "fault")
    world.set_status("W1", "ok")
    world.set_status("W1", "fault")
    first, second, third = journal_ids(world)
    with world.platform.uow_factory(write=True) as uow:
        removed = stream_services.prune(uow, datetime.now(UTC) + timedelta(seconds=1))
        uow.commit()
    assert removed == 2  # the newest entry always stays
    with open_stream(world, "olga", last_event_id=str(first - 1), timeout_s=0.2) as response:
        reader = Reader(response.iter_lines())
        assert reader.next() == {"retry": "1500"}
        gap = reader.next()
        assert gap is not None
        assert "id" not in gap  # it does not move the client's position
        assert gap["event"] == "stream.gap"
        assert orjson.loads(gap["data"]) == {
            "reason": "expired",
            "last_event_id": first - 1,
            "oldest": third,
        }
        assert [int(e["id"]) for e in reader.rest()] == [third]
    assert second < third
    with open_stream(world, "olga", last_event_id=str(third + 100), timeout_s=0.2) as response:
        reader = Reader(response.iter_lines())
        reader.next()
        gap = reader.next()
        assert gap is not None
        assert orjson.loads(gap["data"])["reason"] == "unknown_id"


def test_every_event_matches_the_schema_the_openapi_document_gives(world: World) -> None:
    # The document once said each event was a string; a client (or the generated tests)
    # validating the stream found objects. Now each event is {event, id, data} and its data
    # line is JSON of StreamEventData.
    documented = create_app(world.platform).openapi()["paths"][STREAM]["get"]
    schema = documented["responses"]["200"]["content"]["text/event-stream"]["schema"]
    event_validator = jsonschema_rs.validator_for(schema)
    data_validator = jsonschema_rs.validator_for(schema["properties"]["data"]["contentSchema"])
    world.set_status("W1", "fault")
    world.set_status("W1", "ok")
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    with open_stream(world, "olga", since=since, timeout_s=0.2) as response:
        reader = Reader(response.iter_lines())
        messages = [m for m in iter(reader.next, None) if "event" in m]
    assert len(messages) == 2
    for message in messages:
        event_validator.validate({k: v for k, v in message.items() if k != "comments"})
        data_validator.validate(orjson.loads(message["data"]))
