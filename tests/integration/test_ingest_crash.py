"""Kill -9 the ingest process mid-stream: every reading it acknowledged is stored, none twice.

Over MQTT: ``metropilot ingest`` runs as a subprocess, a device publishes readings at QoS 1 and
waits for each PUBACK, the worker is SIGKILLed while the stream flows and started again; the
broker delivers what was not acknowledged, and the store ends with every reading exactly once.
Over HTTP: a reading ``POST /api/v1/telemetry`` answered 200 is in the store even when
``metropilot serve`` is killed right after.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.bootstrap import Platform
from metropilot.shared.actors import SYSTEM
from metropilot.telemetry.mqtt import BrokerAddress
from tests.integration.test_mqtt_ingest import (
    Publisher,
    eventually,
    forget_session,
    iso,
    mqtt_broker,
    raw_count,
    recent_ms,
    small_city,
    tag,
)

__all__ = ["mqtt_broker", "tag"]  # fixtures shared with test_mqtt_ingest.py

READINGS = 5000
RATE = 1000  # readings a second from the device
# A stock Mosquitto queues at most max_queued_messages (1000) for a client, away or merely behind,
# and drops the rest (docs/telemetry-mqtt.md tells operators to lift the cap; the test runs on the
# machine's broker as installed). The device therefore keeps the readings the broker has taken but
# the store has not (those queued for the worker, those in its unfinished batch) under this figure:
# it pauses while the worker is dead or catching up, as a slow machine or a moved clock makes it.
BACKLOG_LIMIT = 600
BACKLOG_CHECK_EVERY = 25


class Process:
    """A ``metropilot`` subprocess whose stderr is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "metropilot", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.lines.append(line.rstrip())

    # A process's start (interpreter, imports, schema check, broker session) takes a second on a
    # quiet machine and much longer on a loaded one; the wait only bounds a process that hangs.
    def wait_for(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(needle in line for line in self.lines):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                output = "\n".join(self.lines[-30:])
                pytest.fail(f"never saw {needle!r} (exit {self.popen.poll()}):\n{output}")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)
        self._reader.join(5)


@contextmanager
def running(args: list[str], env: dict[str, str]) -> Iterator[list[Process]]:
    """Processes started through the yielded list are all killed on the way out."""
    processes: list[Process] = []
    try:
        yield processes
    finally:
        for process in processes:
            process.kill()


def environment(platform: Platform, tmp_path: Path, mqtt_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METROPILOT_")}
    env.update(
        METROPILOT_DATA_DIR=str(tmp_path),
        METROPILOT_DATABASE_URL=platform.settings.database_url,
        METROPILOT_MQTT_URL=mqtt_url,
    )
    return env


def duplicates(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return len(
            conn.execute(
                text(
                    "SELECT asset_id, metric, ts_ms FROM telemetry_raw "
                    "GROUP BY asset_id, metric, ts_ms HAVING COUNT(*) > 1"
                )
            ).all()
        )


def stored(platform: Platform, metric: str) -> set[tuple[int, int]]:
    with platform.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT asset_id, ts_ms FROM telemetry_raw WHERE metric = :m"), {"m": metric}
        ).all()
    return {(int(a), int(t)) for a, t in rows}


def test_mqtt_worker_killed_mid_stream_loses_nothing_and_stores_nothing_twice(
    platform: Platform, mqtt_broker: BrokerAddress, tag: str, tmp_path: Path
) -> None:
    lights = small_city(platform)[:50]
    t0 = recent_ms(30)
    expected = {(lights[i % len(lights)][0], t0 + i) for i in range(READINGS)}
    env = environment(platform, tmp_path, f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}")
    client_id = f"{tag}-worker"
    args = [
        "ingest",
        *("--client-id", client_id, "--topic-prefix", tag),
        *("--batch", "200", "--linger-ms", "20", "--stats-every", "1"),
    ]
    published: list[int] = []  # readings the broker acknowledged (PUBACK)

    def wait_for_backlog_below_limit() -> None:
        give_up = time.monotonic() + 30
        while len(published) - raw_count(platform) >= BACKLOG_LIMIT:
            if time.monotonic() > give_up:
                return  # the worker is stuck: the final count says so
            time.sleep(0.02)

    def device() -> None:
        publisher = Publisher(mqtt_broker, inflight=100)
        started = time.monotonic()
        for i in range(READINGS):
            if i % BACKLOG_CHECK_EVERY == 0:
                wait_for_backlog_below_limit()
            delay = started + i / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            _asset_id, ref = lights[i % len(lights)]
            info = publisher.send(
                f"{tag}/{ref}/telemetry", {"ts": iso(t0 + i), "metrics": {"power_w": i % 500}}
            )
            info.wait_for_publish(10)
            if info.is_published():
                published.append(i)
        publisher.close()

    try:
        with running(args, env) as processes:
            processes.append(Process(args, env))
            processes[0].wait_for("subscribed to")
            sender = threading.Thread(target=device, daemon=True)
            sender.start()
            # Kill while readings flow: some stored, some received but not yet committed.
            eventually(lambda: len(published) >= READINGS * 0.4, what="40 % published")
            processes[0].popen.send_signal(signal.SIGKILL)
            processes[0].kill()
            in_store_at_kill = raw_count(platform)
            assert 0 < in_store_at_kill < READINGS
            processes.append(Process(args, env))
            processes[1].wait_for("subscribed to")
            assert any("resumed session" in line for line in processes[1].lines)
            sender.join(30)
            assert not sender.is_alive()
            assert len(published) == READINGS
            eventually(lambda: raw_count(platform) >= READINGS, timeout=15, what="every reading")
            time.sleep(0.3)  # quiet: nothing more arrives
    finally:
        forget_session(mqtt_broker, client_id)
    assert stored(platform, "power_w") == expected
    assert raw_count(platform) == READINGS
    assert duplicates(platform) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_http_reading_answered_200_survives_kill_9_of_the_server(
    platform: Platform, tmp_path: Path
) -> None:
    lights = small_city(platform)[:20]
    with platform.uow_factory(write=True) as uow:
        _, key = create_key(uow, "gateway", [parse_scope("telemetry:write")], SYSTEM)
        uow.commit()
    port = _free_port()
    env = environment(platform, tmp_path)  # HTTP only
    base = f"http://127.0.0.1:{port}"
    t0 = recent_ms(30)
    acknowledged: set[tuple[int, int]] = set()
    posts = [0]
    stop = threading.Event()

    def gateway() -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=5) as http:
            n = 0
            while not stop.is_set():
                batch = [lights[(n + k) % len(lights)] for k in range(5)]
                body = [
                    {"asset": ref, "ts": iso(t0 + n + k), "metrics": {"power_w": 1}}
                    for k, (_, ref) in enumerate(batch)
                ]
                try:
                    response = http.post("/api/v1/telemetry", json=body)
                except httpx.TransportError:
                    return  # the server is gone
                assert response.status_code == 200, response.text
                assert response.json()["accepted"] == 5
                acknowledged.update((asset_id, t0 + n + k) for k, (asset_id, _) in enumerate(batch))
                posts[0] += 1
                n += 5

    serve = ["serve", "--port", str(port)]
    with running(serve, env) as processes:
        processes.append(Process(serve, env))
        deadline = time.monotonic() + 60  # a start on a loaded machine takes long
        while True:
            try:
                if httpx.get(f"{base}/api/v1/telemetry/metrics", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "\n".join(processes[0].lines[-30:])
            time.sleep(0.1)
        sender = threading.Thread(target=gateway, daemon=True)
        sender.start()
        eventually(lambda: posts[0] >= 40, what="forty answered posts")
        processes[0].popen.send_signal(signal.SIGKILL)  # mid-stream, no chance to tidy up
        processes[0].kill()
        stop.set()
        sender.join(10)
    assert len(acknowledged) >= 200
    assert acknowledged <= stored(platform, "power_w")
    assert duplicates(platform) == 0
