"""The simulator against the platform: in-process, over HTTP, and through a Mosquitto broker."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.assets.repository import assets
from metropilot.bootstrap import Platform
from metropilot.shared.actors import SYSTEM
from metropilot.simulate.runner import (
    HttpSink,
    InProcessSink,
    MqttSink,
    Simulator,
    SinkRefused,
    SinkUnavailable,
    load_city,
)
from metropilot.simulate.services import generate_metropolis
from metropilot.simulate.telemetry import TelemetryModel
from metropilot.telemetry.model import decode_item
from metropilot.telemetry.repository import asset_twin, telemetry_raw, twin_values
from metropilot.web.app import create_app
from tests.conftest import IN_CI, TEST_ACTOR

HOUR = timedelta(hours=1)


def _tiny_city(platform: Platform) -> None:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=1)
        uow.commit()
    platform.ingest_pipeline.warm_up()  # the directory learns the new registry


def _count(platform: Platform, query: Any) -> int:
    with platform.uow_factory() as uow:
        return int(uow.connection.execute(query).scalar_one())


def test_in_process_simulator_fills_the_series_and_the_twin(platform: Platform) -> None:
    _tiny_city(platform)
    city = load_city(platform.uow_factory)
    start = datetime.now(UTC).replace(microsecond=0) - HOUR
    sink = InProcessSink(platform.ingest_pipeline)
    simulator = Simulator(
        TelemetryModel(city, start=start, seed=1), sink, speed=1e6, rate=1e6, until=start + HOUR
    )
    stats = simulator.run()
    sink.close()

    assert stats.produced > len(city.assets)  # every lamp at least four times
    assert (stats.accepted, stats.rejected) == (stats.produced, 0)
    assert simulator.model.now == start + HOUR
    raw = _count(platform, select(func.count()).select_from(telemetry_raw))
    assert raw > stats.produced  # several metrics per reading
    lamps = select(assets.c.id).where(assets.c.kind == "streetlight")
    reported = select(func.count(func.distinct(telemetry_raw.c.asset_id))).where(
        telemetry_raw.c.asset_id.in_(lamps)
    )
    assert _count(platform, reported) == _count(
        platform, select(func.count()).select_from(lamps.subquery())
    )
    assert _count(platform, select(func.count()).select_from(asset_twin)) >= len(
        {a.ref for a in city.assets if a.kind in ("streetlight", "lighting_cabinet")}
    )
    energy = select(func.count()).where(twin_values.c.metric == "energy_wh")
    assert _count(platform, energy) > 0

    # A second run carries the lamps' counters on from what the platform stored.
    resumed = load_city(platform.uow_factory)
    assert len(resumed.counters) >= len([a for a in city.assets if a.kind == "streetlight"])


def test_http_sink_delivers_through_the_api(platform: Platform) -> None:
    _tiny_city(platform)
    with platform.uow_factory(write=True) as uow:
        _, key = create_key(uow, "simulator", [parse_scope("telemetry:write")], SYSTEM)
        uow.commit()
    city = load_city(platform.uow_factory)
    start = datetime.now(UTC) - timedelta(minutes=20)
    with TestClient(create_app(platform)) as client:
        sink = HttpSink("http://testserver", key, client=client)
        stats = Simulator(
            TelemetryModel(city, start=start, seed=2),
            sink,
            speed=1e6,
            rate=1e6,
            until=start + timedelta(minutes=15),
        ).run()
        refused = HttpSink("http://testserver", "mp_wrong", client=client)
        with pytest.raises(SinkRefused, match=r"HTTP 40[13]"):
            refused.send([{"asset": "x", "ts": start.isoformat(), "metrics": {"power_w": 1}}])
    assert stats.produced > 300
    assert (stats.accepted, stats.rejected) == (stats.produced, 0)
    rows = _count(platform, select(func.count()).select_from(telemetry_raw))
    assert rows > stats.produced


# --------------------------------------------------------------------------- MQTT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_broker(port: int, config: Path | None = None) -> subprocess.Popen[bytes]:
    command = ["mosquitto", "-c", str(config)] if config else ["mosquitto", "-p", str(port)]
    broker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return broker
        except OSError:
            time.sleep(0.05)
    broker.kill()
    pytest.fail("mosquitto did not start")


def _stop_broker(broker: subprocess.Popen[bytes]) -> None:
    broker.terminate()  # a clean stop: a persistent broker saves its sessions
    broker.wait(10)


@pytest.fixture
def broker_port() -> int:
    """A free port for a Mosquitto of this test's own (started by the test)."""
    if shutil.which("mosquitto") is None:
        if IN_CI:
            pytest.fail("mosquitto is not installed (CI must run the MQTT tests)")
        pytest.skip("mosquitto is not installed")
    return _free_port()


class _Listener:
    """Subscribes to every simulator topic and keeps what arrives.

    A persistent session (``clean_session=False``): while it is away, a broker with persistence
    keeps the QoS 1 messages for it, across a restart of the broker.
    """

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._subscribed = threading.Event()
        self.client = Client(
            CallbackAPIVersion.VERSION2, client_id=f"listener-{port}", clean_session=False
        )
        self.client.on_connect = lambda c, *_: c.subscribe("metropilot/#", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._keep
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(5)

    def _keep(self, _client: Any, _userdata: Any, message: MQTTMessage) -> None:
        self.messages.append((message.topic, orjson.loads(message.payload)))

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _tiny_model(start: datetime) -> TelemetryModel:
    from metropilot.simulate.layout import build_metropolis, load_reference_communes
    from metropilot.simulate.telemetry import city_from_layout

    metropolis = build_metropolis(load_reference_communes(), scale=0.005, seed=1)
    return TelemetryModel(city_from_layout(metropolis), start=start, seed=1)


def test_mqtt_sink_publishes_each_item_on_its_assets_topic(broker_port: int) -> None:
    broker = _start_broker(broker_port)
    try:
        listener = _Listener(broker_port)
        sink = MqttSink(f"mqtt://127.0.0.1:{broker_port}")
        start = datetime.now(UTC) - timedelta(minutes=30)
        stats = Simulator(
            _tiny_model(start), sink, speed=1e6, rate=1e6, until=start + timedelta(minutes=15)
        ).run()
        sink.close()
        listener.wait_for(stats.produced)
        listener.close()
    finally:
        _stop_broker(broker)
    assert stats.produced > 100
    assert stats.accepted == stats.produced
    assert len(listener.messages) == stats.produced
    now_ms = int(time.time() * 1000)
    for topic, item in listener.messages:
        kind = "events" if "event" in item else "telemetry"
        assert topic == f"metropilot/{item['asset']}/{kind}"
        decode_item(item, now_ms, now_ms - 86_400_000)


def test_mqtt_sink_waits_for_a_broker_that_is_down_and_loses_nothing(
    broker_port: int, tmp_path: Path
) -> None:
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {broker_port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        "user root\n"  # as root it would switch to the mosquitto user, who cannot write here
        f"persistence_location {tmp_path}/\nmax_queued_messages 0\n",
        encoding="utf-8",
    )
    # The listener's session is known to the broker before the outage and survives it.
    broker = _start_broker(broker_port, config)
    _Listener(broker_port).close()
    _stop_broker(broker)

    sink = MqttSink(f"mqtt://127.0.0.1:{broker_port}", connect_timeout=0.2)
    with pytest.raises(SinkUnavailable):
        sink.send([{"asset": "SL-1", "ts": "2026-01-01T00:00:00+00:00", "metrics": {}}])
    start = datetime.now(UTC) - timedelta(minutes=30)
    end = start + timedelta(minutes=15)
    lines: list[str] = []
    simulator = Simulator(
        _tiny_model(start),
        sink,
        speed=1e6,
        rate=1e6,
        until=end,
        report=lines.append,
        min_backoff_s=0.2,
        max_backoff_s=1.0,
    )
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(simulator.run()))
    thread.start()
    deadline = time.monotonic() + 20
    while simulator.stats.retries < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the first batch waits, offered again and again
    assert simulator.stats.retries >= 2
    assert simulator.stats.accepted == 0
    broker = _start_broker(broker_port, config)
    try:
        thread.join(90)
        assert not thread.is_alive()
        sink.close()
        stats = result[0]
        listener = _Listener(broker_port)  # collects what the broker kept for it
        listener.wait_for(stats.produced)
        listener.close()
    finally:
        _stop_broker(broker)
    assert stats.accepted == stats.produced > 100
    assert {orjson.dumps(m) for _, m in listener.messages} == {
        orjson.dumps(i) for i in _tiny_model(start).advance(end)
    }
    assert any("unavailable" in line for line in lines)
