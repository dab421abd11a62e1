"""MQTT ingest against a real Mosquitto (``METROPILOT_TEST_MQTT_URL``, default 127.0.0.1:1883).

Without a broker these tests skip on a developer's machine and fail in CI, like the PostgreSQL
ones. Every test uses its own topic prefix and client ids, so parallel runs do not collide, and
removes its sessions from the broker when it ends.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from paho.mqtt.client import Client, MQTTMessageInfo
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from metropilot.bootstrap import Platform
from metropilot.shared.errors import InvalidInput
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry import services
from metropilot.telemetry.model import DecodedReading, InvalidItem
from metropilot.telemetry.mqtt import (
    BrokerAddress,
    MqttIngest,
    MqttOptions,
    items_of,
    parse_mqtt_url,
    subscriptions,
)
from metropilot.telemetry.repository import device_events, telemetry_raw
from metropilot.telemetry.services import BatchResult, IngestPipeline
from tests.conftest import IN_CI, TEST_ACTOR

MQTT_URL = os.environ.get("METROPILOT_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


# --- shared with test_ingest_crash.py ----------------------------------------------------------


@pytest.fixture(scope="session")
def mqtt_broker() -> BrokerAddress:
    """The test broker; skips (fails in CI) when nothing answers there."""
    broker = parse_mqtt_url(MQTT_URL)
    try:
        socket.create_connection((broker.host, broker.port), timeout=3).close()
    except OSError as exc:
        problem = f"MQTT broker not reachable at {broker}: {exc.__class__.__name__}: {exc}"
        if IN_CI:
            pytest.fail(f"{problem} (CI must run the MQTT tests; .ci/run starts Mosquitto)")
        pytest.skip(problem)
    return broker


@pytest.fixture
def tag() -> str:
    """A topic prefix and client-id stem of this test's own."""
    return f"mptest-{uuid.uuid4().hex[:12]}"


def forget_session(broker: BrokerAddress, client_id: str) -> None:
    """Remove a persistent session from the broker (clean start, then expire at disconnect)."""
    client = Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    try:
        client.connect(broker.host, broker.port, clean_start=True)
        client.loop_start()
        time.sleep(0.05)
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass


class Publisher:
    """A device (or many) publishing at QoS 1; ``wait()`` returns once every PUBACK is in."""

    def __init__(self, broker: BrokerAddress, inflight: int = 500) -> None:
        self.client = Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.pending: list[MQTTMessageInfo] = []

    def send(self, topic: str, payload: Any) -> MQTTMessageInfo:
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        info = self.client.publish(topic, data, qos=1)
        self.pending.append(info)
        return info

    def wait(self, timeout: float = 10.0) -> None:
        for info in self.pending:
            info.wait_for_publish(timeout)
            assert info.is_published(), "the broker did not acknowledge a publication"
        self.pending.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def eventually(check: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        time.sleep(0.02)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def recent_ms(minutes_ago: float = 10) -> int:
    return int((datetime.now(UTC) - timedelta(minutes=minutes_ago)).timestamp() * 1000)


def small_city(platform: Platform) -> list[tuple[int, str]]:
    """Generate a small metropolis; its streetlights as (id, external reference)."""
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01)
        uow.commit()
    with platform.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, external_ref FROM assets WHERE kind = 'streetlight' ORDER BY id")
        ).all()
    return [(int(r[0]), str(r[1])) for r in rows]


def raw_count(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(telemetry_raw)).scalar_one())


# --- helpers of this file ---------------------------------------------------------------------


def fresh_pipeline(platform: Platform) -> IngestPipeline:
    pipeline = IngestPipeline(
        platform.uow_factory, raw_retention=timedelta(days=30), max_batch=10_000
    )
    pipeline.warm_up()
    return pipeline


@contextmanager
def consumer(
    pipeline: Any, broker: BrokerAddress, options: MqttOptions, forget: bool = True
) -> Iterator[MqttIngest]:
    adapter = MqttIngest(pipeline, broker, options)
    adapter.start()
    try:
        assert adapter.subscribed.wait(10), "the consumer did not subscribe"
        yield adapter
    finally:
        adapter.stop()
        if forget:
            forget_session(broker, options.client_id)


def options(tag: str, name: str = "c", **changes: Any) -> MqttOptions:
    return MqttOptions(client_id=f"{tag}-{name}", topic_prefix=tag, **changes)


# --- pure parts -------------------------------------------------------------------------------


def test_broker_urls() -> None:
    assert parse_mqtt_url("mqtt://127.0.0.1:1883") == BrokerAddress("127.0.0.1", 1883)
    assert parse_mqtt_url("mqtt://broker") == BrokerAddress("broker", 1883)
    secure = parse_mqtt_url("mqtts://ingest:p%40ss@broker.example:9883")
    assert secure == BrokerAddress("broker.example", 9883, True, "ingest", "p@ss")
    assert str(secure) == "mqtts://broker.example:9883"  # never prints the password
    assert parse_mqtt_url("mqtts://broker").port == 8883
    for bad in ("", "http://broker", "mqtt://", "mqtt://broker:notaport"):
        with pytest.raises(InvalidInput):
            parse_mqtt_url(bad)


def test_topics_and_payloads_become_pipeline_items() -> None:
    assert subscriptions(MqttOptions("w1")) == ["metropilot/+/telemetry", "metropilot/+/events"]
    assert subscriptions(MqttOptions("w1", group="ingest")) == [
        "$share/ingest/metropilot/+/telemetry",
        "$share/ingest/metropilot/+/events",
    ]
    reading = {"ts": "2026-01-01T00:00:00+00:00", "metrics": {"power_w": 1}}
    # Well formed: the fast road, the asset taken from the topic.
    assert items_of("metropilot/SL-1/telemetry", orjson.dumps(reading)) == [
        DecodedReading("SL-1", 1_767_225_600_000, {"power_w": 1.0})
    ]
    assert (
        items_of("metropilot/7/telemetry", orjson.dumps([reading, {**reading, "asset": 7}]))
        == [DecodedReading("7", 1_767_225_600_000, {"power_w": 1.0})] * 2
    )
    # Another asset named inside: item by item, and that one refused.
    both = items_of("metropilot/SL-1/telemetry", orjson.dumps([reading, {**reading, "asset": 7}]))
    assert both[0]["asset"] == "SL-1"
    assert isinstance(both[1], InvalidItem)
    assert both[1].reason == "asset_mismatch"
    talq = {"device": "SL-1", "time": "2026-01-01T00:00:00Z", "data": {"lampFailure": True}}
    assert items_of("metropilot/SL-1/telemetry", orjson.dumps(talq)) == [talq]
    flat = {"ts": "2026-01-01T00:00:00Z", "code": "door_open", "payload": {"door": 2}}
    nested = {"ts": "2026-01-01T00:00:00Z", "event": {"code": "door_open"}}
    assert items_of("metropilot/7/events", orjson.dumps([flat, nested])) == [
        {"asset": "7", "ts": flat["ts"], "event": {"code": "door_open", "payload": {"door": 2}}},
        {"asset": "7", "ts": nested["ts"], "event": {"code": "door_open"}},
    ]
    for topic, payload, reason in [
        ("metropilot/SL-1/telemetry", b"{not json", "malformed_json"),
        ("metropilot/SL-1/events", b"[1]", "bad_event"),
        ("metropilot//telemetry", b"{}", "bad_topic"),
        ("elsewhere/SL-1/telemetry", b"{}", "bad_topic"),
    ]:
        (item,) = items_of(topic, payload)
        assert isinstance(item, InvalidItem), (topic, payload)
        assert item.reason == reason, (topic, payload)
    assert items_of("metropilot/SL-1/telemetry", b"[]") == []


# --- against the broker -----------------------------------------------------------------------


def test_readings_and_events_reach_the_store_and_the_twin(
    platform: Platform, mqtt_broker: BrokerAddress, tag: str
) -> None:
    lights = small_city(platform)
    (a_id, a_ref), (b_id, _), (c_id, c_ref) = lights[:3]
    pipeline = fresh_pipeline(platform)
    t0 = recent_ms()
    publisher = Publisher(mqtt_broker)
    with consumer(pipeline, mqtt_broker, options(tag)) as adapter:
        # one reading, by external reference
        publisher.send(
            f"{tag}/{a_ref}/telemetry",
            {"ts": iso(t0), "metrics": {"power_w": 41.5, "lamp_failure": False}},
        )
        # an array, on the topic of the asset's id
        publisher.send(
            f"{tag}/{b_id}/telemetry",
            [{"ts": iso(t0 + i), "metrics": {"power_w": float(i)}} for i in range(10)],
        )
        # a TALQ-like gateway reading, reporting a lamp failure
        publisher.send(
            f"{tag}/{c_ref}/telemetry",
            {"device": c_ref, "time": iso(t0), "data": {"lampFailure": True, "activeEnergy": 2}},
        )
        # events, flat and nested
        publisher.send(
            f"{tag}/{a_ref}/events", {"ts": iso(t0), "code": "door_open", "payload": {"door": 1}}
        )
        publisher.send(
            f"{tag}/{a_ref}/events", {"ts": iso(t0 + 1), "event": {"code": "door_closed"}}
        )
        publisher.wait()
        eventually(lambda: adapter.stats.acknowledged == 5, what="five acknowledgements")
        assert adapter.stats.accepted == 14
        assert adapter.stats.rejected == 0
    publisher.close()

    with platform.engine.connect() as conn:
        raw = conn.execute(
            select(telemetry_raw.c.asset_id, telemetry_raw.c.metric, telemetry_raw.c.value)
        ).all()
        events = conn.execute(select(device_events.c.asset_id, device_events.c.code)).all()
    assert len(raw) == 2 + 10 + 2
    assert (a_id, "power_w", 41.5) in raw
    assert (c_id, "energy_wh", 2000.0) in raw
    assert sorted(events) == [(a_id, "door_closed"), (a_id, "door_open")]
    with platform.uow_factory() as uow:  # stop() wrote the twin
        twin_a = services.twin(uow, a_id)
        twin_b = services.twin(uow, b_id)
        twin_c = services.twin(uow, c_id)
        stats = services.ingest_stats(uow)
    assert twin_a["values"]["power_w"]["value"] == 41.5
    assert twin_a["status"] == "ok"
    assert twin_b["values"]["power_w"]["value"] == 9.0
    assert twin_c["status"] == "fault"
    assert stats["accepted"] == 14
    assert stats["rejected"] == 0


def test_bad_messages_are_refused_counted_and_acknowledged(
    platform: Platform, mqtt_broker: BrokerAddress, tag: str
) -> None:
    lights = small_city(platform)
    (_a_id, a_ref), (b_id, b_ref) = lights[:2]
    pipeline = fresh_pipeline(platform)
    t0 = recent_ms()
    bad: list[tuple[str, Any]] = [
        (f"{tag}/{a_ref}/telemetry", b"{this is not json"),
        (f"{tag}/NO-SUCH-ASSET/telemetry", {"ts": iso(t0), "metrics": {"power_w": 1}}),
        (f"{tag}/{a_ref}/telemetry", {"ts": iso(t0), "metrics": {"power_w": "high"}}),
        (f"{tag}/{a_ref}/telemetry", {"ts": "yesterday", "metrics": {"power_w": 1}}),
        (f"{tag}/{a_ref}/telemetry", {"asset": b_ref, "ts": iso(t0), "metrics": {"power_w": 1}}),
        (f"{tag}/{a_ref}/telemetry", [1, "two"]),
        (f"{tag}/{a_ref}/events", {"ts": iso(t0), "payload": {}}),
        (f"{tag}/{a_ref}/telemetry", b"\xff\xfe"),
    ]
    publisher = Publisher(mqtt_broker)
    opts = options(tag)
    with consumer(pipeline, mqtt_broker, opts, forget=False) as adapter:
        for topic, payload in bad:
            publisher.send(topic, payload)
        # the consumer keeps going: a good reading after the bad ones is stored
        publisher.send(f"{tag}/{b_ref}/telemetry", {"ts": iso(t0), "metrics": {"power_w": 7}})
        publisher.wait()
        eventually(lambda: adapter.stats.acknowledged == len(bad) + 1, what="every ack")
        assert adapter.alive
        assert adapter.stats.accepted == 1
        assert dict(adapter.stats.rejected_by_reason) == {
            "malformed_json": 2,
            "unknown_asset": 1,
            "bad_value": 1,
            "bad_timestamp": 1,
            "asset_mismatch": 1,
            "not_an_object": 2,
            "bad_event": 1,
        }
    # Acknowledged, so the broker does not deliver any of them again to the same session.
    with consumer(pipeline, mqtt_broker, opts) as again:
        time.sleep(0.5)
        assert again.stats.messages == 0
    publisher.close()
    with platform.uow_factory() as uow:
        stats = services.ingest_stats(uow)
    assert stats["accepted"] == 1
    assert stats["rejected"] == 9
    assert stats["rejected_by_reason"]["malformed_json"] == 2
    assert raw_count(platform) == 1
    with platform.uow_factory() as uow:
        assert services.twin(uow, b_id)["values"]["power_w"]["value"] == 7.0


class FailingDatabase:
    """The real pipeline behind a switch that makes every batch fail like a lost database."""

    def __init__(self, pipeline: IngestPipeline) -> None:
        self.pipeline = pipeline
        self.max_batch = pipeline.max_batch
        self.failing = True
        self.calls = 0

    def ingest(self, items: Sequence[Any], *, source: str) -> BatchResult:
        self.calls += 1
        if self.failing:
            raise OperationalError("INSERT INTO telemetry_raw …", {}, Exception("server closed"))
        return self.pipeline.ingest(items, source=source)

    def flush(self) -> None:
        self.pipeline.flush()


def test_a_database_failure_acknowledges_nothing_and_the_batch_is_retried_in_order(
    platform: Platform, mqtt_broker: BrokerAddress, tag: str
) -> None:
    lights = small_city(platform)
    pipeline = fresh_pipeline(platform)
    down = FailingDatabase(pipeline)
    t0 = recent_ms()
    publisher = Publisher(mqtt_broker)
    opts = options(tag, retry_initial_s=0.05, retry_max_s=0.2)

    # The database is down while these arrive; the consumer is then stopped.
    with consumer(down, mqtt_broker, opts, forget=False) as adapter:
        for i, (_, ref) in enumerate(lights[:3]):
            publisher.send(f"{tag}/{ref}/telemetry", {"ts": iso(t0), "metrics": {"power_w": i}})
        publisher.wait()
        eventually(lambda: adapter.stats.database_failures >= 3, what="retries")
        assert adapter.stats.acknowledged == 0
        assert adapter.alive
    assert raw_count(platform) == 0

    # Unacknowledged, the messages wait in the session; the database comes back while the
    # next consumer retries, and the same batch goes in whole.
    down.calls = 0
    with consumer(down, mqtt_broker, opts) as adapter:
        eventually(lambda: down.calls >= 2, what="a retry")
        publisher.send(
            f"{tag}/{lights[3][1]}/telemetry", {"ts": iso(t0), "metrics": {"power_w": 3}}
        )
        publisher.wait()
        down.failing = False
        eventually(lambda: adapter.stats.acknowledged == 4, what="every ack")
        assert adapter.stats.accepted == 4
    publisher.close()
    with platform.engine.connect() as conn:
        stored = conn.execute(select(telemetry_raw.c.asset_id, telemetry_raw.c.value)).all()
    assert sorted(stored) == [(asset_id, float(i)) for i, (asset_id, _) in enumerate(lights[:4])]


def test_the_consumer_reconnects_and_subscribes_again(
    platform: Platform, mqtt_broker: BrokerAddress, tag: str
) -> None:
    lights = small_city(platform)
    pipeline = fresh_pipeline(platform)
    t0 = recent_ms()
    publisher = Publisher(mqtt_broker)
    with consumer(pipeline, mqtt_broker, options(tag)) as adapter:
        publisher.send(f"{tag}/{lights[0][1]}/telemetry", {"ts": iso(t0), "metrics": {"online": 1}})
        publisher.wait()
        eventually(lambda: adapter.stats.acknowledged == 1)
        sock = adapter.client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)  # the network drops
        eventually(lambda: adapter.stats.connections == 2, what="a reconnection")
        assert adapter.subscribed.wait(5)
        publisher.send(f"{tag}/{lights[1][1]}/telemetry", {"ts": iso(t0), "metrics": {"online": 1}})
        publisher.wait()
        eventually(lambda: adapter.stats.acknowledged == 2, what="the second reading")
    publisher.close()
    assert raw_count(platform) == 2


def test_workers_of_a_group_share_the_topics(
    platform: Platform, mqtt_broker: BrokerAddress, tag: str
) -> None:
    lights = small_city(platform)[:20]
    pipeline = fresh_pipeline(platform)  # one database, two consumers: each gets some messages
    t0 = recent_ms()
    publisher = Publisher(mqtt_broker)
    group = options(tag, "one", group=tag), options(tag, "two", group=tag)
    with (
        consumer(pipeline, mqtt_broker, group[0]) as one,
        consumer(pipeline, mqtt_broker, group[1]) as two,
    ):
        for i in range(200):
            _, ref = lights[i % len(lights)]
            publisher.send(f"{tag}/{ref}/telemetry", {"ts": iso(t0 + i), "metrics": {"power_w": 1}})
        publisher.wait()
        eventually(lambda: one.stats.acknowledged + two.stats.acknowledged == 200)
        assert one.stats.messages > 0
        assert two.stats.messages > 0
    publisher.close()
    assert raw_count(platform) == 200


def session_present(broker: BrokerAddress, client_id: str) -> bool:
    present: list[bool] = []
    client = Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.on_connect = lambda c, u, flags, rc, p: present.append(flags.session_present)
    client.connect(broker.host, broker.port, clean_start=False)
    client.loop_start()
    eventually(lambda: bool(present), what="a CONNACK")
    client.disconnect()
    client.loop_stop()
    return present[0]


def test_a_retired_worker_hands_in_its_share_and_leaves_no_session(
    platform: Platform, mqtt_broker: BrokerAddress, tag: str
) -> None:
    lights = small_city(platform)[:20]
    pipeline = fresh_pipeline(platform)
    t0 = recent_ms()
    publisher = Publisher(mqtt_broker)
    staying, leaving = options(tag, "stays", group=tag), options(tag, "leaves", group=tag)

    def publish(start: int, count: int) -> None:
        for i in range(start, start + count):
            _, ref = lights[i % len(lights)]
            publisher.send(f"{tag}/{ref}/telemetry", {"ts": iso(t0 + i), "metrics": {"online": 1}})
        publisher.wait()

    with consumer(pipeline, mqtt_broker, staying) as stays:
        with consumer(pipeline, mqtt_broker, leaving, forget=False):
            pass  # joined the group, then stopped: the broker keeps its share for it
        publish(0, 100)
        eventually(lambda: raw_count(platform) >= 30, what="the staying worker's share")
        time.sleep(0.3)
        assert stays.stats.messages < 100
        retired = MqttIngest(pipeline, mqtt_broker, leaving)
        assert retired.retire(quiet_s=0.5, timeout=10)
        assert stays.stats.messages + retired.stats.messages == 100
        publish(100, 20)  # from now on the group is the staying worker alone
        eventually(lambda: stays.stats.messages + retired.stats.messages == 120, what="all")
    publisher.close()
    assert raw_count(platform) == 120
    assert not session_present(mqtt_broker, leaving.client_id)
    forget_session(mqtt_broker, leaving.client_id)
