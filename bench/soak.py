"""The soak: a real server under a busy command post, longer than the test runs it.

Issue 15's figures: clients, duration, requests, the health probe's p99 and worst answer, and
the stalls (a health answer slower than 2 s; the target is 0), on SQLite and on PostgreSQL.

`metropilot serve` runs in a process of its own on a small synthetic city (the workload of
tests/soak: nine clients signed in with bearer tokens, API keys and browser sessions, mixing
alarms, cases, commands, Open311 posts, telemetry and the admin call that once froze the server),
with the last uses written every second and the housekeeping every two, while a probe asks for
`/api/v1/health` every 250 ms. The reference, measured in the same run: the same probe against the
same server with no other client.

Usage: .venv/bin/python -m bench.soak [--seconds 120] [--postgres ADMIN_URL]
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from tests.soak.workload import STALL_S, City, SoakResult, prepare_city, serving, soak

from bench.common import header

BUSY_SETTINGS = {"last_use_write_s": "1", "housekeeping_interval_s": "2"}


def _postgres_database(admin_url: str) -> tuple[str, str]:
    name = f"metropilot_soak_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def _drop(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _line(label: str, result: SoakResult) -> str:
    tally = result.tally
    writes = sum(n for (what, status), n in tally.answers.items() if what.startswith("POST"))
    return (
        f"{label}: {result.clients} clients, {result.seconds:.0f} s, {tally.requests:,} requests "
        f"({writes:,} writes, {tally.requests / result.seconds:.0f}/s), "
        f"5xx {len(tally.server_errors)}, transport errors {len(tally.transport_errors)}; "
        f"health probe {len(result.probe_s)} calls, p50 {result.percentile_ms(50):.0f} ms, "
        f"p99 {result.percentile_ms(99):.0f} ms, max {max(result.probe_s) * 1000:.0f} ms, "
        f"stalls (> {STALL_S:.0f} s) {len(result.stalls)}"
    )


def run(city: City, seconds: float, label: str, log_dir: Path) -> None:
    with serving(city, log_dir / f"{label}.log", **BUSY_SETTINGS) as server:
        idle = soak(server, city, min(seconds, 20), probe_only=True)
        print(_line(f"{label}, reference (probe alone)", idle))
        busy = soak(server, city, seconds)
        print(_line(f"{label}, soak", busy))
        statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(busy.tally.statuses.items()))
        print(f"{label}: answers by status: {statuses}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--postgres", default="", help="admin URL of a PostgreSQL server")
    args = parser.parse_args()
    header("Soak: a busy command post against metropilot serve")
    with tempfile.TemporaryDirectory(prefix="metropilot-soak-") as scratch:
        root = Path(scratch)
        sqlite_dir = root / "sqlite"
        city = prepare_city(sqlite_dir, f"sqlite:///{sqlite_dir / 'metropilot.db'}")
        run(city, args.seconds, "SQLite", root)
        if args.postgres:
            name, url = _postgres_database(args.postgres)
            try:
                run(prepare_city(root / "postgresql", url), args.seconds, "PostgreSQL", root)
            finally:
                _drop(args.postgres, name)


if __name__ == "__main__":
    main()
