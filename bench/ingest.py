"""Sustained end-to-end ingest on one core, against the raw insert of the same rows.

Target: ≥ 50,000 readings/s into SQLite and a ratio ≥ 0.5 to the raw insert of the same rows
into the same database with the same durability (synchronous=FULL, one transaction per batch).

End to end = decode (JSON bytes → items, as POST /api/v1/telemetry does) → validate → resolve
asset → twin → observers (the rules engine) → durable commit, and the twin written to the
database every 5 s as in production. A reading carries two metrics (``power_w`` and
``light_level_pct``), as a street light reports them; each street light reports in turn.

The reference inserts exactly the rows the pipeline stored — same assets, metrics, times and
values, in the same batches — into an identical database: a copy made before any telemetry
(SQLite), or the same metropolis generated again (PostgreSQL; the generator is deterministic).
Both runs pass through the same engine settings and transaction handling.

The two are measured in alternation, a tenth of the batches at a time, so that both see the
machine in the same state (a virtual machine's speed drifts by tens of percent within minutes,
which made a pipeline measured first and a reference measured second disagree from run to
run). The measurement is repeated (each time on later readings into the same two databases)
and the median ratio is the verdict.

Usage: .venv/bin/python -m bench.ingest [--scale 1] [--batch 2000] [--readings 200000]
       [--repeat 3] [--rounds 10] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import create_engine, text

from bench.common import BENCH_ACTOR, header
from metropilot.bootstrap import Platform, bootstrap
from metropilot.settings import Settings
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry import repository
from metropilot.telemetry.model import json_items

Row = tuple[int, str, int, float]


def workload(
    platform: Platform, total: int, batch: int, start: datetime
) -> tuple[list[bytes], list[list[Row]]]:
    """JSON request bodies as a gateway would send them (each street light in turn, 1 ms
    apart), and the rows each body stores."""
    with platform.uow_factory() as uow:
        lights = uow.connection.execute(
            text("SELECT id, external_ref FROM assets WHERE kind = 'streetlight' ORDER BY id")
        ).all()
    bodies: list[bytes] = []
    rows: list[list[Row]] = []
    start_ms = int(start.timestamp() * 1000)
    for first in range(0, total, batch):
        items, batch_rows = [], []
        for n in range(first, min(first + batch, total)):
            asset_id, ref = lights[n % len(lights)]
            power, level = 30.0 + n % 7, float(50 + n % 50)
            ts = start + timedelta(milliseconds=n)
            items.append(
                {
                    "asset": ref,
                    "ts": ts.isoformat(),
                    "metrics": {"power_w": power, "light_level_pct": level},
                }
            )
            batch_rows.append((asset_id, "power_w", start_ms + n, power))
            batch_rows.append((asset_id, "light_level_pct", start_ms + n, level))
        bodies.append(orjson.dumps(items))
        rows.append(batch_rows)
    return bodies, rows


def end_to_end(platform: Platform, bodies: list[bytes]) -> float:
    pipeline = platform.ingest_pipeline
    started = time.perf_counter()
    for body in bodies:
        result = pipeline.ingest(json_items(body), source="bench")
        assert result.rejected == 0, result.results[:3]
    return time.perf_counter() - started


def raw_insert(platform: Platform, batches: list[list[Row]]) -> float:
    started = time.perf_counter()
    for rows in batches:
        with platform.uow_factory(write=True) as uow:
            repository.write_batch(
                uow.connection, raw=rows, events=(), twin_values_rows=(), twins=(), counters=()
            )
            uow.commit()
    return time.perf_counter() - started


def stored(platform: Platform) -> int:
    with platform.uow_factory() as uow:
        return int(uow.connection.execute(text("SELECT count(*) FROM telemetry_raw")).scalar_one())


def compare(
    label: str,
    pipeline_platform: Platform,
    raw_platform: Platform,
    total: int,
    batch: int,
    repeat: int,
    rounds: int = 10,
) -> tuple[float, float]:
    """The median over ``repeat`` measurements of (end-to-end rate, raw insert rate)."""
    pipeline_platform.ingest_pipeline.warm_up(long_lived=True)  # as serve, demo and ingest do
    measured: list[tuple[float, float]] = []
    for attempt in range(repeat):
        # Each attempt reads on from where the last stopped: later times, the same lights.
        start = datetime.now(UTC) - timedelta(hours=2) + timedelta(milliseconds=attempt * total)
        bodies, batches = workload(pipeline_platform, total, batch, start)
        stored_before = stored(pipeline_platform)
        pipeline_s = raw_s = 0.0
        step = max(1, len(bodies) // rounds)
        for first in range(0, len(bodies), step):
            pipeline_s += end_to_end(pipeline_platform, bodies[first : first + step])
            raw_s += raw_insert(raw_platform, batches[first : first + step])
        written = sum(len(rows) for rows in batches)
        assert stored(pipeline_platform) - stored_before == written, "not the rows expected"
        assert stored(raw_platform) == stored(pipeline_platform), "not the same rows"
        pipeline_rate, raw_rate = total / pipeline_s, total / raw_s
        measured.append((pipeline_rate, raw_rate))
        print(
            f"{label:<11} end to end {pipeline_rate:>9,.0f} readings/s   raw insert "
            f"{raw_rate:>9,.0f} readings/s   ratio {pipeline_rate / raw_rate:.2f}   "
            f"({total:,} readings, {written:,} rows, batches of {batch})",
            flush=True,
        )
    measured.sort(key=lambda rates: rates[0] / rates[1])
    pipeline_rate, raw_rate = measured[len(measured) // 2]
    if repeat > 1:
        print(
            f"{label:<11} median     {pipeline_rate:>9,.0f} readings/s   raw insert "
            f"{raw_rate:>9,.0f} readings/s   ratio {pipeline_rate / raw_rate:.2f}   "
            f"(ratios {', '.join(f'{p / r:.2f}' for p, r in measured)})",
            flush=True,
        )
    return pipeline_rate, raw_rate


@contextmanager
def sqlite_platforms(scale: float) -> Iterator[tuple[Platform, Platform]]:
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp, "pipeline")
        platform = bootstrap(Settings(data_dir=first, database_url=""), upgrade=True)
        with platform.uow_factory(write=True) as uow:
            generate_metropolis(uow, BENCH_ACTOR, scale=scale)
            uow.commit()
        database = Path(platform.engine.url.database or "")
        platform.close()
        second = Path(tmp, "raw")
        second.mkdir()
        shutil.copy(database, second / database.name)  # closed cleanly: no WAL to copy
        pipeline_platform = bootstrap(Settings(data_dir=first, database_url=""), upgrade=True)
        raw_platform = bootstrap(Settings(data_dir=second, database_url=""), upgrade=True)
        try:
            yield pipeline_platform, raw_platform
        finally:
            pipeline_platform.close()
            raw_platform.close()


@contextmanager
def postgres_platform(server_url: str, scale: float) -> Iterator[Platform]:
    name = f"metropilot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server_url.rsplit("/", 1)[0] + "/" + name
        platform = bootstrap(
            Settings(data_dir=Path(tempfile.mkdtemp()), database_url=url), upgrade=True
        )
        with platform.uow_factory(write=True) as uow:
            generate_metropolis(uow, BENCH_ACTOR, scale=scale)
            uow.commit()
        try:
            yield platform
        finally:
            platform.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--rounds",
        type=int,
        default=10,
        help="alternations per measurement (1: one after the other)",
    )
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    # One core, as the target says: the pipeline is one thread, and nothing else of this
    # process may run beside it on the other core.
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    header("ingest: end to end against the raw insert of the same rows")
    workload_size = (args.readings, args.batch, args.repeat, args.rounds)
    with sqlite_platforms(args.scale) as (pipeline_platform, raw_platform):
        observers = len(pipeline_platform.wiring.batch_observers)
        print(f"observers registered: {observers} (the rules engine)\n")
        sqlite_rate, sqlite_raw = compare("SQLite", pipeline_platform, raw_platform, *workload_size)
    if args.postgres:
        with (
            postgres_platform(args.postgres, args.scale) as pipeline_platform,
            postgres_platform(args.postgres, args.scale) as raw_platform,
        ):
            compare("PostgreSQL", pipeline_platform, raw_platform, *workload_size)
    ok = sqlite_rate >= 50_000 and sqlite_rate / sqlite_raw >= 0.5
    print(
        f"\ntarget ≥ 50,000 readings/s into SQLite and ratio ≥ 0.5 (the median of {args.repeat}): "
        f"{'PASS' if ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
