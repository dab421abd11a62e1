"""Commands through Mosquitto and the simulated equipment: the round trip of one command, and an
area command on 5,000 street lights.

Issue 9's figures: the command round trip through Mosquitto and the simulator, p50 and p99; an
area command on 5,000 lights fully acknowledged in ≤ 5 s.

Three processes on a copy of the cached scale-1 metropolis (SQLite, bench/.cache; or PostgreSQL
with ``--postgres``) and a private Mosquitto configured as docs/telemetry-mqtt.md asks
(``max_queued_messages 0``; a stock one drops what exceeds 1,000 messages queued for a client, so
an area command loses commands and answers), or the broker at ``--broker``:
- ``metropilot serve`` with ``METROPILOT_MQTT_URL``: the API, and the dispatcher that publishes
  what is due on ``metropilot/<asset>/commands`` every 250 ms;
- ``metropilot ingest``: consumes the equipment's answers (``metropilot/<asset>/events`` and
  ``…/telemetry``) and applies them to the commands;
- the simulated equipment answering over MQTT (``python -m metropilot.simulate.mqtt_commands``),
  answering only: no telemetry flood.

Measured, over loopback HTTP as an operator (bearer token):
- **single commands**: ``POST /api/v1/commands`` (``set_light_level`` to a random street light),
  then ``GET /api/v1/commands/{id}`` every ``--poll-ms`` until ``acknowledged`` and until
  ``done`` (or ``failed``); ``--commands`` of them, one after the other. Twice: with the
  simulator's realistic delays (acknowledges after 20–150 ms, carries out 50–600 ms later — the
  issue's figure), and with equipment answering at once (what the platform and the broker add);
- **reference**, in the same run: a bare MQTT publish (QoS 1) → subscriber round trip on the same
  broker, and a request → reply round trip (publish, an echo client answers on another topic);
- **area command**: one ``POST`` for ``{"area": {"assets": [5,000 refs]}, "confirm": true}``, then
  ``GET /api/v1/command-batches/{id}`` every 50 ms until every command is acknowledged
  (acknowledged, done or failed), and until every one is settled.

Usage: .venv/bin/python -m bench.commands [--commands 200] [--area 5000] [--poll-ms 5]
       [--workers 1] [--postgres ADMIN_URL]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import text

from bench.assets_api import ensure_database
from bench.common import BENCH_ACTOR, free_port, header, percentile, postgres_platform
from bench.stream_latency import own_broker
from metropilot.accounts.model import Role, User
from metropilot.accounts.services import create_user
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry.mqtt import parse_mqtt_url

PASSWORD = "bench password, long enough"
ACKNOWLEDGED = ("acknowledged", "done", "failed")
SETTLED = ("done", "failed", "timed_out")
REALISTIC = ("0.02,0.15", "0.05,0.6")  # the simulator's defaults (simulate/commands.py)
INSTANT = ("0,0", "0,0")


# --- processes --------------------------------------------------------------------------------


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_for(check: Any, what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"{what} did not start:\n{tail}")
        time.sleep(0.1)


def answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def equipment(
    env: dict[str, str], broker: str, work_dir: Path, delays: tuple[str, str], failures: float
) -> Iterator[None]:
    log = work_dir / f"equipment-{uuid.uuid4().hex[:6]}.log"
    args = [
        sys.executable,
        "-m",
        "metropilot.simulate.mqtt_commands",
        "--url",
        broker,
        f"--ack-delay={delays[0]}",
        f"--work-delay={delays[1]}",
        f"--failure-rate={failures}",
    ]
    with process(args, env, log) as proc:
        wait_for(lambda: "answering commands on" in log.read_text(), "the equipment", proc, log)
        yield


# --- the bare broker --------------------------------------------------------------------------


def mqtt_client() -> Client:
    return Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)


def broker_round_trips(broker_url: str, samples: int) -> tuple[list[float], list[float]]:
    """(publish → subscriber, request → reply) round trips at QoS 1, in seconds."""
    broker = parse_mqtt_url(broker_url)
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    arrived = threading.Event()
    one_way: list[float] = []
    replies: list[float] = []
    started = [0.0]

    def on_message(client: Client, userdata: Any, message: MQTTMessage) -> None:
        arrived.set()

    def on_echo(client: Client, userdata: Any, message: MQTTMessage) -> None:
        client.publish(f"{prefix}/reply", message.payload, qos=1)

    subscriber, echo, sender = mqtt_client(), mqtt_client(), mqtt_client()
    subscriber.on_message = on_message
    echo.on_message = on_echo
    clients = (subscriber, echo, sender)
    for client in clients:
        client.connect(broker.host, broker.port)
        client.loop_start()
    try:
        subscriber.subscribe([(f"{prefix}/one-way", 1), (f"{prefix}/reply", 1)])
        echo.subscribe(f"{prefix}/request", 1)
        time.sleep(0.5)
        for topic, into in ((f"{prefix}/one-way", one_way), (f"{prefix}/request", replies)):
            for i in range(samples + 10):
                arrived.clear()
                started[0] = time.perf_counter()
                sender.publish(topic, b'{"command": 1, "type": "set_light_level"}', qos=1)
                if not arrived.wait(5):
                    raise RuntimeError(f"no message back on {topic}")
                if i >= 10:  # warm-up
                    into.append(time.perf_counter() - started[0])
                time.sleep(0.002)
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
    return one_way, replies


# --- through the platform ---------------------------------------------------------------------


def single_commands(
    client: httpx.Client, refs: list[str], count: int, poll_s: float, rng: random.Random
) -> dict[str, Any]:
    to_ack: list[float] = []
    to_done: list[float] = []
    to_send: list[float] = []
    sent_to_ack: list[float] = []
    failed = timed_out = 0
    for _ in range(count):
        body = {
            "asset": rng.choice(refs),
            "command": "set_light_level",
            "params": {"level_pct": rng.randrange(0, 101)},
            "reason": "benchmark of the command round trip",
        }
        started = time.perf_counter()
        response = client.post("/api/v1/commands", json=body)
        assert response.status_code == 201, response.text
        command_id = response.json()["id"]
        acked_at: float | None = None
        while True:
            found = client.get(f"/api/v1/commands/{command_id}").json()
            status = found["status"]
            now = time.perf_counter()
            if acked_at is None and status in ACKNOWLEDGED:
                acked_at = now
            if status in SETTLED:
                break
            if now - started > 60:
                raise RuntimeError(f"command {command_id} still {status} after 60 s")
            time.sleep(poll_s)
        if status == "timed_out":
            timed_out += 1
            if not to_ack:
                raise RuntimeError("the first commands timed out: is the equipment answering?")
            continue
        assert acked_at is not None
        to_ack.append(acked_at - started)
        # Where the time went, on the server's clock.
        created, sent, acked = (
            datetime.fromisoformat(found[k]) for k in ("created_at", "sent_at", "acknowledged_at")
        )
        to_send.append((sent - created).total_seconds())
        sent_to_ack.append((acked - sent).total_seconds())
        if status == "failed":
            failed += 1
        else:
            to_done.append(now - started)
    return {
        "ack": to_ack,
        "done": to_done,
        "failed": failed,
        "timed_out": timed_out,
        "to_send": to_send,
        "sent_to_ack": sent_to_ack,
    }


def area_command(client: httpx.Client, refs: list[str]) -> dict[str, Any]:
    body = {
        "area": {"assets": refs},
        "command": "set_light_level",
        "params": {"level_pct": 70},
        "reason": "benchmark of an area command",
        "confirm": True,
    }
    started = time.perf_counter()
    response = client.post("/api/v1/commands", json=body)
    accepted = time.perf_counter() - started
    assert response.status_code == 201, response.text
    batch = response.json()
    targets = batch["targets"]
    marks: dict[str, float] = {"accepted": accepted}
    counts: dict[str, int] = {}
    while time.perf_counter() - started < 120:
        counts = client.get(f"/api/v1/command-batches/{batch['id']}").json()["counts"]
        now = time.perf_counter() - started
        if "sent" not in marks and counts["pending"] == 0:
            marks["sent"] = now
        if "acknowledged" not in marks and sum(counts[s] for s in ACKNOWLEDGED) == targets:
            marks["acknowledged"] = now
        if sum(counts[s] for s in SETTLED) == targets:
            marks["settled"] = now
            break
        time.sleep(0.05)
    return {"targets": targets, "marks": marks, "counts": counts}


def token(base: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "bench-operator", "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def line(label: str, values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return (
        f"  {label:<46} p50 {percentile(ms, 50):7.1f}  p90 {percentile(ms, 90):7.1f}  "
        f"p99 {percentile(ms, 99):7.1f}  max {max(ms):7.1f} ms  (n={len(ms)})"
    )


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A throw-away PostgreSQL database on the server of ``admin_url``; its URL."""
    from sqlalchemy import create_engine, text

    name = f"metropilot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(args: argparse.Namespace) -> bool:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work_dir = Path(tmp)
        data_dir = work_dir / "data"
        data_dir.mkdir()
        if args.broker is None:  # a Mosquitto of our own, configured as docs/telemetry-mqtt.md asks
            args.broker = stack.enter_context(own_broker(work_dir)).url
        database_url = ""
        if args.postgres:
            database_url = stack.enter_context(postgres_database(args.postgres))
            say("generating scale 1 into PostgreSQL …")
            plat = postgres_platform(database_url, data_dir)
            with plat.uow_factory(write=True) as uow:
                generate_metropolis(uow, BENCH_ACTOR, scale=1.0, seed=1)
                uow.commit()
            plat.close()
        else:
            cached = ensure_database(1.0, 1, fresh=False)
            shutil.copy(cached / "metropilot.db", data_dir / "metropilot.db")
        kept = Path(tempfile.gettempdir()) / "bench-commands-logs"

        def keep_logs() -> None:  # for a look after the run
            shutil.rmtree(kept, ignore_errors=True)
            kept.mkdir()
            for log in work_dir.glob("*.log"):
                shutil.copy(log, kept / log.name)

        stack.callback(keep_logs)
        plat = postgres_platform(database_url, data_dir)
        with plat.uow_factory(write=True) as uow:
            operator = User("bench-operator", Role.OPERATOR, "metropole-command-post")
            create_user(uow, operator, PASSWORD, BENCH_ACTOR)
            uow.commit()
        with plat.engine.connect() as conn:
            refs = [
                str(r)
                for (r,) in conn.execute(
                    text(
                        "SELECT external_ref FROM assets WHERE kind = 'streetlight' "
                        "AND status != 'decommissioned' ORDER BY id"
                    )
                )
            ]
        plat.close()
        rng = random.Random(args.seed)
        env = {
            **os.environ,
            "METROPILOT_DATA_DIR": str(data_dir),
            "METROPILOT_DATABASE_URL": database_url,
            "METROPILOT_MQTT_URL": args.broker,
        }
        say("starting the server and the ingest …")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve_log = work_dir / "serve.log"
        server = stack.enter_context(
            process(
                [sys.executable, "-m", "metropilot", "serve", "--port", str(port)],
                env,
                serve_log,
            )
        )
        # One worker, or several sharing the topics (an MQTT shared subscription), as
        # docs/telemetry-mqtt.md describes for more messages than one worker takes.
        group = ["--group", f"bench-{uuid.uuid4().hex[:8]}"] if args.workers > 1 else []
        workers = []
        for n in range(1, args.workers + 1):
            ingest_log = work_dir / (f"ingest-{n}.log" if args.workers > 1 else "ingest.log")
            ingest_args = [
                sys.executable,
                "-m",
                "metropilot",
                "ingest",
                *group,
                "--client-id",
                f"bench-commands-ingest-{uuid.uuid4().hex[:8]}",
                "--session-expiry-hours",
                "0",  # the broker forgets this worker's session when it leaves
                "--stats-every",
                "1",
            ]
            workers.append((stack.enter_context(process(ingest_args, env, ingest_log)), ingest_log))
        wait_for(lambda: answers(base), "metropilot serve", server, serve_log)
        for ingest, ingest_log in workers:
            wait_for(
                lambda log=ingest_log: "subscribed to" in log.read_text(errors="replace"),
                "metropilot ingest",
                ingest,
                ingest_log,
            )
        say("server and ingest up; the bare broker …")
        one_way, request_reply = broker_round_trips(args.broker, args.commands)
        client = stack.enter_context(
            httpx.Client(
                base_url=base, timeout=60, headers={"Authorization": f"Bearer {token(base)}"}
            )
        )
        poll_s = args.poll_ms / 1000
        results: dict[str, dict[str, Any]] = {}
        for name, delays, failures in (
            ("realistic", REALISTIC, 0.01),
            ("instant", INSTANT, 0.0),
        ):
            with equipment(env, args.broker, work_dir, delays, failures):
                say(f"single commands, {name} equipment …")
                single_commands(client, refs, 10, poll_s, rng)  # warm-up
                results[name] = single_commands(client, refs, args.commands, poll_s, rng)
                if name == "realistic":
                    say(f"area command on {args.area:,} lights …")
                    area = area_command(client, rng.sample(refs, args.area))

    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"scale 1, {database}, broker {args.broker}; {len(refs):,} street lights")
    print("reference, the bare broker (QoS 1, same machine):")
    print(line("publish → subscriber", one_way))
    print(line("request → echo → reply", request_reply))
    for name, what in (
        ("realistic", "equipment acks after 20–150 ms, done 50–600 ms later, fails 1%"),
        ("instant", "equipment answering at once"),
    ):
        r = results[name]
        print(f"single commands, {what} (POST, then GET every {args.poll_ms:g} ms):")
        print(line("POST → acknowledged", r["ack"]))
        print(line("POST → done", r["done"]))
        print(line("of which: stored → sent (server clock)", r["to_send"]))
        print(line("          sent → acknowledged (server clock)", r["sent_to_ack"]))
        print(f"  failed {r['failed']}, timed out {r['timed_out']}")
    marks = area["marks"]
    acked = marks.get("acknowledged")
    verdict = "PASS" if acked is not None and acked <= 5.0 else "FAIL"
    print(f"area command on {area['targets']:,} street lights (realistic equipment):")
    print(f"  POST answered (stored pending)       {marks['accepted']:6.2f} s")
    print(f"  all sent                             {marks.get('sent', float('nan')):6.2f} s")
    print(
        f"  all acknowledged                     {acked if acked is not None else float('nan'):6.2f}"
        f" s  (target ≤ 5 s: {verdict})"
    )
    print(f"  all settled                          {marks.get('settled', float('nan')):6.2f} s")
    print(f"  final counts: {area['counts']}")
    return verdict == "PASS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--broker",
        default=None,
        help="mqtt://host:port of a running broker; default: a private Mosquitto without the "
        "per-client queue limit (a stock one drops what exceeds 1,000 queued messages a client)",
    )
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--area", type=int, default=5000)
    parser.add_argument("--poll-ms", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument(
        "--workers", type=int, default=1, help="ingest workers sharing the topics (a group)"
    )
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="on a throw-away PostgreSQL database of this server (e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres) instead of SQLite",
    )
    args = parser.parse_args()
    header("Commands through Mosquitto and the simulated equipment")
    run(args)


if __name__ == "__main__":
    main()
