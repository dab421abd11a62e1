"""The server under a busy command post, as it froze once: never a stall, never a 500.

Two signed-in clients once deadlocked `metropilot serve` within a minute: the event loop waited
for the database's writer, held by a request that needed the loop to finish. These tests run the
real server in a process of its own, on SQLite and on PostgreSQL, for longer than the interval
at which it writes when sessions and keys were last used (shortened by its setting), with more
than eight clients mixing reads and writes, while a probe asks for `/api/v1/health` every 250 ms.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS
from tests.soak.workload import (
    STALL_S,
    City,
    SoakResult,
    prepare_city,
    serving,
    soak,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.soak

SOAK_SECONDS = float(os.environ.get("METROPILOT_SOAK_SECONDS", "12"))
# Short intervals, so that a soak of seconds sees the last-use writes and the housekeeping many
# times over (they run every minute and every 30 s in production).
BUSY_SETTINGS = {"last_use_write_s": "1", "housekeeping_interval_s": "2"}


@pytest.fixture(scope="module", params=BACKENDS)
def city(
    request: pytest.FixtureRequest, databases: object, tmp_path_factory: pytest.TempPathFactory
) -> City:
    backend = str(request.param)
    data_dir = tmp_path_factory.mktemp(f"soak-{backend}")
    return prepare_city(data_dir, databases.url(backend))  # type: ignore[attr-defined]


def _count(city: City, sql: str) -> int:
    engine = create_engine(city.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_a_busy_command_post_never_stalls_the_server(city: City, tmp_path: Path) -> None:
    with serving(city, tmp_path / "server.log", **BUSY_SETTINGS) as server:
        result = soak(server, city, SOAK_SECONDS)
        log = server.log_text()
    tally = result.tally
    summary = (
        f"{result.clients} clients, {result.seconds:.0f} s, {tally.requests} requests "
        f"{dict(tally.statuses)}, health p99 {result.percentile_ms(99):.0f} ms, "
        f"max {max(result.probe_s, default=0) * 1000:.0f} ms, {len(result.stalls)} stalls"
    )
    print(summary)
    assert result.clients >= 8
    assert not result.probe_failures, result.probe_failures[:5]
    assert not result.stalls, f"health answered slower than {STALL_S} s: {summary}"
    assert not tally.server_errors, "\n".join(tally.server_errors[:10])
    assert not tally.transport_errors, "\n".join(tally.transport_errors[:10])
    assert "Traceback" not in log, log[-5000:]
    # Every kind of write went through: the soak soaked what it claims to.
    assert tally.count("POST users/no-such-user/disable", range(404, 405)) > 0
    for write in ("POST alarm comment", "POST case", "POST command", "POST telemetry"):
        assert tally.count(write) > 0, f"no {write} acknowledged: {tally.samples}"
    assert tally.count("POST open311 request") > 0, tally.samples
    assert len(result.probe_s) >= SOAK_SECONDS / 0.5
    # The last uses were written while serving (every second here), not only at the end.
    assert _count(city, "SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL") >= 1


def test_sigterm_under_load_ends_the_server_within_seconds_and_keeps_what_it_acknowledged(
    city: City, tmp_path: Path
) -> None:
    server = start_server(city, tmp_path / "server.log", **BUSY_SETTINGS)
    reports_before = _count(city, "SELECT count(*) FROM reports")
    finished: dict[str, SoakResult] = {}
    running = threading.Event()

    def load() -> None:
        # Another seed than the soak's: other places, so new reports rather than additions.
        finished["result"] = soak(server, city, 8, running=running, seed=2)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    # A live stream is open too: it never ends by itself.
    stream = subprocess.Popen(
        ["curl", "-sN", f"{server.url}/api/v1/stream", "-H", "Accept: text/event-stream"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert running.wait(60), "the clients did not start"
    time.sleep(2)  # in full swing
    took = stop_server(server, timeout_s=10)
    stream.kill()
    loader.join(30)
    log = server.log_text()
    assert took is not None, f"SIGTERM did not end the server within 10 s:\n{log[-3000:]}"
    assert took < 10
    assert server.process.returncode == 0, log[-3000:]
    assert "Traceback" not in log, log[-5000:]
    # Every report a client was told was stored is there after the stop (a report near an
    # earlier one of its category is added to it: the same id can come back twice).
    ids = set(finished["result"].tally.open311_ids)
    assert ids, "no Open311 report was acknowledged before the stop"
    assert _count(city, "SELECT count(*) FROM reports") > reports_before
    placeholders = ", ".join(str(int(i)) for i in ids)
    assert _count(city, f"SELECT count(*) FROM reports WHERE id IN ({placeholders})") == len(ids)


def test_a_second_server_on_the_same_database_is_refused_with_the_first_ones_whereabouts(
    city: City, tmp_path: Path
) -> None:
    with serving(city, tmp_path / "first.log") as first:
        env_port = first.url.rsplit(":", 1)[1]
        second = subprocess.run(
            [sys.executable, "-m", "metropilot", "serve", "--port", str(int(env_port) + 1)],
            env={
                **os.environ,
                "METROPILOT_DATA_DIR": str(city.data_dir),
                "METROPILOT_DATABASE_URL": city.database_url,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2, second.stderr
        message = " ".join(second.stderr.split())
        assert "another Metropilot server is already running" in message
        assert f"pid {first.process.pid}" in message
        # The first one serves on, undisturbed.
        assert httpx.get(f"{first.url}/api/v1/health", timeout=5).status_code == 200
    # Once it stopped, the lease is free again.
    with serving(city, tmp_path / "third.log") as third:
        assert httpx.get(f"{third.url}/api/v1/health", timeout=5).status_code == 200
