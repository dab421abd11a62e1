"""A busy command post against a real server: the soak test's and the soak benchmark's workload.

The server is `metropilot serve` in a process of its own, on a small synthetic city, as an
operator would start it. Clients in threads sign in as a command post does — bearer tokens,
API keys and browser sessions with their CSRF token — and mix reads and writes: alarms, cases,
commands, Open311 posts, telemetry, and the admin call that froze the server once. A probe asks
`/api/v1/health` every 250 ms; every answer slower than the limit is a stall.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.bootstrap import bootstrap
from metropilot.settings import Settings
from metropilot.shared.actors import SYSTEM
from metropilot.simulate.services import generate_metropolis, install_reference_routing
from tests.factories import PASSWORD, create_world_accounts

PROBE_INTERVAL_S = 0.25
STALL_S = 2.0
CITY_SCALE = 0.02
CITY_SEED = 11
# Cheap hashing and generous limits: the soak measures the server, not the sign-in throttle.
SERVER_ENV = {
    "METROPILOT_ARGON2_TIME_COST": "1",
    "METROPILOT_ARGON2_MEMORY_KIB": "1024",
    "METROPILOT_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
    "METROPILOT_OPEN311_POSTS_PER_MINUTE": "100000",
    "METROPILOT_OPEN311_POSTS_PER_MINUTE_PER_KEY": "100000",
}


@dataclass
class City:
    """A prepared database: its settings and the keys the clients use."""

    data_dir: Path
    database_url: str
    device_key: str
    open311_key: str
    lights: list[str]
    dijon_light_ids: list[int]


def prepare_city(data_dir: Path, database_url: str) -> City:
    settings = Settings(
        data_dir=data_dir, database_url=database_url, argon2_time_cost=1, argon2_memory_kib=1024
    )
    platform = bootstrap(settings, upgrade=True)
    try:
        with platform.uow_factory(write=True) as uow:
            generate_metropolis(uow, SYSTEM, scale=CITY_SCALE, seed=CITY_SEED)
            install_reference_routing(uow, SYSTEM)
            uow.commit()
        create_world_accounts(platform)
        with platform.uow_factory(write=True) as uow:
            _, device_key = create_key(
                uow, "soak gateway", [parse_scope("telemetry:write")], SYSTEM
            )
            _, open311_key = create_key(uow, "soak app", [parse_scope("open311:post")], SYSTEM)
            uow.commit()
        with platform.uow_factory() as uow:
            rows = uow.connection.exec_driver_sql(
                "SELECT id, external_ref, commune_insee FROM assets "
                "WHERE kind = 'streetlight' ORDER BY id LIMIT 400"
            ).all()
    finally:
        platform.close()
    return City(
        data_dir=data_dir,
        database_url=database_url,
        device_key=device_key,
        open311_key=open311_key,
        lights=[str(ref) for _, ref, _ in rows],
        dijon_light_ids=[int(i) for i, _, commune in rows if commune == "21231"],
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def server_command(port: int) -> list[str]:
    return [sys.executable, "-m", "metropilot", "serve", "--port", str(port)]


def server_environment(city: City, **settings: str) -> dict[str, str]:
    env = {**os.environ, **SERVER_ENV}
    env["METROPILOT_DATA_DIR"] = str(city.data_dir)
    env["METROPILOT_DATABASE_URL"] = city.database_url
    for name, value in settings.items():
        env[f"METROPILOT_{name.upper()}"] = value
    return env


def start_server(city: City, log: Path, **settings: str) -> Server:
    """`metropilot serve` on the city, answering; ``settings``: METROPILOT_* values by name."""
    port = free_port()
    handle = log.open("wb")
    process = subprocess.Popen(
        server_command(port),
        env=server_environment(city, **settings),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server ended at start:\n{server.log_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/api/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"the server did not answer within 60 s:\n{server.log_text()[-3000:]}")


def stop_server(server: Server, timeout_s: float = 15) -> float | None:
    """SIGTERM, then wait; returns the seconds it took, or None when it had to be killed."""
    if server.process.poll() is not None:
        return 0.0
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)
        return None
    return time.monotonic() - started


@contextmanager
def serving(city: City, log: Path, **settings: str) -> Iterator[Server]:
    server = start_server(city, log, **settings)
    try:
        yield server
    finally:
        stop_server(server)


# --- the clients ------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw: answers by status, the server errors, the acknowledged writes."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    open311_ids: list[str] = field(default_factory=list)
    # The first answer of each action and status, to say why when something is refused.
    samples: dict[tuple[str, int], str] = field(default_factory=dict)

    def answer(self, who: str, what: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[f"{response.status_code}"] += 1
            self.answers[(what, response.status_code)] += 1
            self.samples.setdefault((what, response.status_code), response.text[:300])
            if response.status_code >= 500:
                self.server_errors.append(
                    f"{who} {what} → {response.status_code} {response.text[:300]}"
                )

    def failed(self, who: str, what: str, error: Exception) -> None:
        with self.lock:
            self.transport_errors.append(f"{who} {what}: {error!r}")

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def count(self, what: str, statuses: range = range(200, 300)) -> int:
        return sum(
            n
            for (action, status), n in self.answers.items()
            if action == what and status in statuses
        )


def bearer(base: str, username: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": username, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def browser_session(base: str, username: str) -> httpx.Client:
    """A client signed in through the /login form, as a browser is, with its CSRF header."""
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, "the sign-in form has no login_csrf field"
    signed = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "login_csrf": token.group(1)},
    )
    assert signed.status_code == 303, signed.text[:500]
    home = client.get("/")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', home.text)
    assert csrf, "the command centre gives no CSRF token"
    client.headers["X-CSRF-Token"] = csrf.group(1)
    return client


Action = Callable[[httpx.Client, random.Random], tuple[str, httpx.Response]]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def workload(city: City, tally: Tally) -> dict[str, tuple[str, list[Action]]]:
    """Who does what: client name → (how it signs in, its actions)."""

    def alarms_read(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET alarms", c.get("/api/v1/alarms", params={"limit": 20})

    def alarm_comment(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        found = c.get("/api/v1/alarms", params={"limit": 5}).json().get("items", [])
        if not found:
            return "GET alarms/summary", c.get("/api/v1/alarms/summary")
        alarm = r.choice(found)["id"]
        return "POST alarm comment", c.post(
            f"/api/v1/alarms/{alarm}/comments", json={"text": "seen on the wall screen"}
        )

    def alarm_acknowledge(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        found = c.get("/api/v1/alarms", params={"limit": 5, "state": "raised"}).json()
        items = found.get("items", [])
        if not items:
            return "GET alarms", c.get("/api/v1/alarms", params={"limit": 5})
        return "POST alarm acknowledge", c.post(
            f"/api/v1/alarms/{items[0]['id']}/acknowledge", json={}
        )

    def cases_read(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET cases", c.get("/api/v1/cases", params={"limit": 20})

    def case_open(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        body = {
            "category": "streetlight-broken",
            "priority": "P3",
            "asset": r.choice(city.dijon_light_ids),
            "title": "reported by the soak test",
        }
        return "POST case", c.post("/api/v1/cases", json=body)

    def command(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        body = {
            "asset": r.choice(city.lights),
            "command": "set_light_level",
            "params": {"level_pct": r.choice([50, 80, 100])},
            "reason": "soak test of the command post",
        }
        return "POST command", c.post("/api/v1/commands", json=body)

    def commands_read(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET commands", c.get("/api/v1/commands", params={"limit": 20})

    def telemetry(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        items = [
            {
                "asset": ref,
                "ts": _now(),
                "metrics": {
                    "power_w": round(r.uniform(20, 60), 1),
                    "light_level_pct": 100,
                    "lamp_failure": r.random() < 0.05,
                },
            }
            for ref in r.sample(city.lights, 20)
        ]
        return "POST telemetry", c.post("/api/v1/telemetry", json=items)

    def open311_post(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        response = c.post(
            "/open311/v2/requests.json",
            data={
                "api_key": city.open311_key,
                "service_code": "pothole",
                "lat": f"{47.322 + r.uniform(-0.004, 0.004):.6f}",
                "long": f"{5.041 + r.uniform(-0.004, 0.004):.6f}",
                "description": "a pothole reported during the soak",
                "attribute[size]": r.choice(["small", "medium", "large"]),
                "attribute[danger]": r.choice(["yes", "no"]),
            },
        )
        if response.status_code == 201:
            with tally.lock:
                tally.open311_ids.extend(
                    str(item["service_request_id"])
                    for item in response.json()
                    if item.get("service_request_id")
                )
        return "POST open311 request", response

    def disable_nobody(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        # The call that froze the server (404 each time) while the token's use was noted.
        return "POST users/no-such-user/disable", c.post("/api/v1/users/no-such-user/disable")

    def users_read(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET users", c.get("/api/v1/users")

    def assets_read(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET assets", c.get("/api/v1/assets", params={"limit": 50})

    def map_read(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET map", c.get(
            "/api/v1/map/assets", params={"bbox": "4.95,47.25,5.15,47.40", "zoom": 13}
        )

    def work_orders_read(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET work-orders", c.get("/api/v1/work-orders", params={"limit": 20})

    def command_centre(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET /", c.get("/")

    def kpis(c: httpx.Client, r: random.Random) -> tuple[str, httpx.Response]:
        return "GET kpis", c.get("/api/v1/kpis")

    return {
        "admin (bearer)": ("bearer:admin", [disable_nobody, disable_nobody, users_read]),
        "admin 2 (bearer)": ("bearer:admin", [disable_nobody]),
        "operator (bearer)": (
            "bearer:operator",
            [alarms_read, alarm_comment, case_open, cases_read, command, commands_read],
        ),
        "operator (browser)": (
            "session:operator",
            [command_centre, alarms_read, alarm_acknowledge, alarm_comment, case_open],
        ),
        "supervisor (browser)": ("session:supervisor", [kpis, cases_read, command, map_read]),
        "agent Dijon (bearer)": ("bearer:agent-dijon", [assets_read, map_read, alarm_comment]),
        "contractor (bearer)": ("bearer:contractor-lighting", [work_orders_read, alarms_read]),
        "gateway (API key)": (f"key:{city.device_key}", [telemetry]),
        "citizen app (Open311 key)": ("anonymous", [open311_post]),
    }


def _client_for(base: str, how: str) -> httpx.Client:
    kind, _, who = how.partition(":")
    if kind == "bearer":
        return httpx.Client(base_url=base, timeout=30, headers=bearer(base, who))
    if kind == "session":
        return browser_session(base, who)
    if kind == "key":
        return httpx.Client(base_url=base, timeout=30, headers={"X-API-Key": who})
    return httpx.Client(base_url=base, timeout=30)


@dataclass
class SoakResult:
    clients: int
    seconds: float
    tally: Tally
    probe_s: list[float]
    probe_failures: list[str]

    @property
    def stalls(self) -> list[float]:
        return [s for s in self.probe_s if s > STALL_S]

    def percentile_ms(self, pct: float) -> float:
        ordered = sorted(self.probe_s)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
        return ordered[index] * 1000


def soak(
    server: Server,
    city: City,
    seconds: float,
    *,
    seed: int = 1,
    running: threading.Event | None = None,
    probe_only: bool = False,
) -> SoakResult:
    """Run every client and the probe for ``seconds`` against the server (``running`` is set
    once every client has signed in and started); ``probe_only``: the probe alone, the
    reference of a quiet server."""
    tally = Tally()
    plan = {} if probe_only else workload(city, tally)
    clients = {name: _client_for(server.url, how) for name, (how, _) in plan.items()}
    stop = threading.Event()
    probe_s: list[float] = []
    probe_failures: list[str] = []

    def probe() -> None:
        with httpx.Client(base_url=server.url, timeout=STALL_S * 5) as client:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    response = client.get("/api/v1/health")
                    if response.status_code != 200:
                        probe_failures.append(f"health → {response.status_code}")
                except httpx.HTTPError as error:
                    probe_failures.append(f"health: {error!r}")
                probe_s.append(time.monotonic() - started)
                stop.wait(PROBE_INTERVAL_S)

    def run(name: str, actions: list[Action], number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        client = clients[name]
        while not stop.is_set():
            action = rng.choice(actions)
            try:
                what, response = action(client, rng)
            except httpx.HTTPError as error:
                tally.failed(name, action.__name__, error)
                continue
            tally.answer(name, what, response)

    threads = [threading.Thread(target=probe, name="probe", daemon=True)]
    threads += [
        threading.Thread(target=run, args=(name, actions, n), name=name, daemon=True)
        for n, (name, (_, actions)) in enumerate(plan.items())
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    if running is not None:
        running.set()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(STALL_S * 10)
    elapsed = time.monotonic() - started
    for client in clients.values():
        client.close()
    return SoakResult(len(plan), elapsed, tally, probe_s, probe_failures)
