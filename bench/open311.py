"""Open311 requests per second on SQLite with one server process: POST and GET.

The issue asks for the figure, with no target; the reference city handles 700 to 1,000 citizen
contacts a day (about 0.01 a second). Printed beside it, measured in the same run on the same
server: ``GET /api/v1/health`` (what one request costs the framework and the server at all).

A real ``metropilot serve`` (uvicorn, one process) on a generated scale-1 metropolis in SQLite;
``--clients`` threads send requests back to back over loopback HTTP for ``--seconds`` each:
- POST /open311/v2/requests.json: a citizen app's report, form-encoded, at a random street light
  in a random category among the common ones (some land close to an open one: "me too");
- GET /open311/v2/requests/{id}.json: one report;
- GET /open311/v2/requests.json?page_size=100: the newest 100 of the last 90 days.

Usage: .venv/bin/python -m bench.open311 [--seconds 10] [--clients 8] [--scale 1]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.common import BENCH_ACTOR, header, percentile, serving, sqlite_platform
from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.simulate.services import generate_metropolis

CATEGORIES = ("pothole", "graffiti", "bin-overflowing", "bench-broken", "streetlight-daytime")


def run_for(
    seconds: float, clients: int, make_call: Callable[[httpx.Client, random.Random], int], base: str
) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and errors, for ``clients`` threads calling for ``seconds``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        failed = 0
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = make_call(client, rng)
                mine.append(time.perf_counter() - started)
                if status >= 400:
                    failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ms = [v * 1000 for v in latencies]
    return len(latencies) / elapsed, percentile(ms, 50), percentile(ms, 99), errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    header("Open311: requests/s on SQLite, one server process")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        with sqlite_platform(data_dir) as platform, platform.uow_factory(write=True) as uow:
            generate_metropolis(uow, BENCH_ACTOR, scale=args.scale)
            _, api_key = create_key(
                uow, "bench citizen app", [parse_scope("open311:post")], BENCH_ACTOR
            )
            uow.commit()
        db = sqlite3.connect(data_dir / "metropilot.db")
        lights = db.execute("SELECT lon, lat FROM assets WHERE kind = 'streetlight'").fetchall()
        db.close()
        extra_env = {
            "METROPILOT_SMTP_HOST": "",
            # The throughput is measured here, not the rate limits that protect it.
            "METROPILOT_OPEN311_POSTS_PER_MINUTE": "1000000",
            "METROPILOT_OPEN311_POSTS_PER_MINUTE_PER_KEY": "1000000",
        }
        with serving(data_dir, extra_env) as base:

            def health(client: httpx.Client, rng: random.Random) -> int:
                return client.get("/api/v1/health").status_code

            def post(client: httpx.Client, rng: random.Random) -> int:
                lon, lat = rng.choice(lights)
                category = rng.choice(CATEGORIES)
                data = {
                    "api_key": api_key,
                    "service_code": category,
                    "lat": f"{lat + rng.uniform(-0.0003, 0.0003):.6f}",
                    "long": f"{lon + rng.uniform(-0.0003, 0.0003):.6f}",
                    "description": "Seen on my way to work",
                    "email": f"citizen{rng.randint(1, 10**6)}@example.org",
                }
                if category == "pothole":
                    data |= {"attribute[size]": "small", "attribute[danger]": "no"}
                return client.post("/open311/v2/requests.json", data=data).status_code

            print(f"{args.clients} clients, {args.seconds:g} s each, scale {args.scale:g}\n")
            rows = [
                (
                    "GET /api/v1/health (reference)",
                    run_for(args.seconds, args.clients, health, base),
                )
            ]
            rows.append(
                ("POST /open311/v2/requests.json", run_for(args.seconds, args.clients, post, base))
            )
            with httpx.Client(base_url=base) as client:
                listed = client.get("/open311/v2/requests.json?page_size=1000").json()
            ids = [r["service_request_id"] for r in listed]

            def get_one(client: httpx.Client, rng: random.Random) -> int:
                return client.get(f"/open311/v2/requests/{rng.choice(ids)}.json").status_code

            def get_list(client: httpx.Client, rng: random.Random) -> int:
                return client.get("/open311/v2/requests.json?page_size=100").status_code

            rows.append(
                (
                    "GET /open311/v2/requests/{id}.json",
                    run_for(args.seconds, args.clients, get_one, base),
                )
            )
            rows.append(
                (
                    "GET /open311/v2/requests.json?page_size=100",
                    run_for(args.seconds, args.clients, get_list, base),
                )
            )
    print(f"{'request':<46} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, (rate, p50, p99, errors) in rows:
        print(f"{name:<46} {rate:>8,.0f} {p50:>8.1f} {p99:>8.1f} {errors:>7}")
    print(
        f"\nreports stored: {len(ids):,} (newest 1,000 listed); the reference city's 1,000 "
        "contacts a day are 0.012 POST/s"
    )


if __name__ == "__main__":
    main()
