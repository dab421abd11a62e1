"""Sustained end-to-end ingest on one core, against the raw insert of the same rows.

Target: ≥ 50,000 readings/s into SQLite and a ratio ≥ 0.5 to the raw insert of the same rows
into the same database with the same durability (synchronous=FULL, one transaction per batch).

End to end = decode (JSON bytes → items, as POST /api/v1/telemetry does) → validate → resolve asset → twin → observers (the
rules engine, when registered) → durable commit. A reading here carries two metrics
(``power_w`` and ``light_level_pct``), as a street light reports them.

Usage: .venv/bin/python -m bench.ingest [--scale 1] [--batch 2000] [--readings 200000]
       [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import create_engine, text

from bench.common import BENCH_ACTOR, header
from metropilot.bootstrap import BATCH_OBSERVERS, Platform, bootstrap
from metropilot.settings import Settings
from metropilot.simulate.services import generate_metropolis
from metropilot.telemetry import repository
from metropilot.telemetry.model import json_items


def payloads(refs: list[str], total: int, batch: int, start: datetime) -> list[bytes]:
    """JSON request bodies as a gateway would send them (timestamps 1 ms apart per asset)."""
    bodies = []
    for first in range(0, total, batch):
        items = []
        for n in range(first, min(first + batch, total)):
            ts = start + timedelta(milliseconds=n)
            items.append(
                {
                    "asset": refs[n % len(refs)],
                    "ts": ts.isoformat(),
                    "metrics": {"power_w": 30.0 + n % 7, "light_level_pct": 50 + n % 50},
                }
            )
        bodies.append(orjson.dumps(items))
    return bodies


def run(platform: Platform, label: str, total: int, batch: int) -> tuple[float, float]:
    pipeline = platform.ingest_pipeline
    pipeline.warm_up(long_lived=True)  # as the serve, demo and ingest processes do
    refs = [
        info.external_ref
        for info in pipeline.directory
        if info.kind == "streetlight"
    ]
    start = datetime.now(UTC) - timedelta(hours=2)
    bodies = payloads(refs, total, batch, start)
    started = time.perf_counter()
    for body in bodies:
        result = pipeline.ingest(json_items(body), source="bench")
        assert result.rejected == 0, result.results[:3]
    pipeline_s = time.perf_counter() - started

    # Reference: the same rows (two per reading), raw, into the same table, same durability.
    rows = []
    for n in range(total):
        ts_ms = int((start + timedelta(milliseconds=n, days=-1)).timestamp() * 1000)
        asset_id = n % 100_000 + 10_000_000  # ids no asset has: no conflict with the run above
        rows.append((asset_id, "power_w", ts_ms, 30.0))
        rows.append((asset_id, "light_level_pct", ts_ms, 50.0))
    per_batch = batch * 2
    started = time.perf_counter()
    for first in range(0, len(rows), per_batch):
        with platform.uow_factory(write=True) as uow:
            repository.write_batch(
                uow.connection,
                raw=rows[first : first + per_batch],
                events=(),
                twin_values_rows=(),
                twins=(),
                counters=(),
            )
            uow.commit()
    raw_s = time.perf_counter() - started
    pipeline_rate, raw_rate = total / pipeline_s, total / raw_s
    print(
        f"{label:<11} end to end {pipeline_rate:>9,.0f} readings/s   raw insert {raw_rate:>9,.0f} "
        f"readings/s   ratio {pipeline_rate / raw_rate:.2f}   ({total:,} readings, batches of {batch})",
        flush=True,
    )
    return pipeline_rate, raw_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    header("ingest: end to end against raw insert of the same rows")
    print(f"observers registered: {len(BATCH_OBSERVERS)} (the rules engine when wired)\n")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url="")
        platform = bootstrap(settings, upgrade=True)
        with platform.uow_factory(write=True) as uow:
            generate_metropolis(uow, BENCH_ACTOR, scale=args.scale)
            uow.commit()
        sqlite_rate, sqlite_raw = run(platform, "SQLite", args.readings, args.batch)
        platform.close()
    if args.postgres:
        name = f"metropilot_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.postgres.rsplit("/", 1)[0] + "/" + name
            platform = bootstrap(
                Settings(data_dir=Path(tempfile.mkdtemp()), database_url=url), upgrade=True
            )
            with platform.uow_factory(write=True) as uow:
                generate_metropolis(uow, BENCH_ACTOR, scale=args.scale)
                uow.commit()
            run(platform, "PostgreSQL", args.readings, args.batch)
            platform.close()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    ok = sqlite_rate >= 50_000 and sqlite_rate / sqlite_raw >= 0.5
    print(f"\ntarget ≥ 50,000 readings/s into SQLite and ratio ≥ 0.5: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
