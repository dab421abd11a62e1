"""``GET /api/v1/assets`` for 1,000 assets in a bounding box, against the raw SQL for the same rows.

Targets: p50 ≤ 50 ms at scale 1 and ≤ 100 ms at scale 10 (340,000 street lights).

Usage: .venv/bin/python -m bench.assets_api [--scales 1,10] [--requests 200] [--fresh]
The generated databases are kept in bench/.cache/ (deterministic for a seed) so that a second
run measures without regenerating; --fresh rebuilds them. A real uvicorn server runs in a
subprocess and is queried over loopback HTTP, as a browser or script would.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import time
from pathlib import Path

import httpx
import orjson

from bench.common import (
    BENCH_ACTOR,
    header,
    serving,
    sqlite_platform,
    summarise,
    time_calls,
)
from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.simulate.services import generate_metropolis

CACHE = Path(__file__).parent / ".cache"
TARGETS_MS = {1.0: 50.0, 10.0: 100.0}
PAGE = 1000
RAW_SQL = (
    "SELECT * FROM assets WHERE lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? ORDER BY id LIMIT ?"
)


def ensure_database(scale: float, seed: int, fresh: bool) -> Path:
    data_dir = CACHE / f"scale-{scale:g}-seed-{seed}"
    marker = data_dir / "complete"
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    if marker.exists():
        return data_dir
    if data_dir.exists():
        shutil.rmtree(data_dir)
    print(f"generating scale {scale:g} into {data_dir} …", flush=True)
    started = time.perf_counter()
    with sqlite_platform(data_dir) as platform, platform.uow_factory(write=True) as uow:
        report = generate_metropolis(uow, BENCH_ACTOR, scale=scale, seed=seed)
        uow.commit()
    print(f"  {report.assets:,} assets in {time.perf_counter() - started:.1f} s", flush=True)
    marker.write_text("ok\n")
    return data_dir


def boxes_with_at_least(db: Path, count: int, how_many: int, seed: int) -> list[tuple[float, ...]]:
    """Bounding boxes around random assets, grown until each holds at least ``count`` assets."""
    conn = sqlite3.connect(db)
    rng = random.Random(seed)
    total = conn.execute("SELECT max(id) FROM assets").fetchone()[0]
    boxes = []
    while len(boxes) < how_many:
        row = conn.execute("SELECT lon, lat FROM assets WHERE id = ?", (rng.randint(1, total),))
        found = row.fetchone()
        if found is None:
            continue
        lon, lat = found
        half = 0.001
        while True:
            box = (lon - half * 1.48, lat - half, lon + half * 1.48, lat + half)
            n = conn.execute(
                "SELECT count(*) FROM assets WHERE lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?",
                (box[1], box[3], box[0], box[2]),
            ).fetchone()[0]
            if n >= count:
                boxes.append(box)
                break
            half *= 1.25
    conn.close()
    return boxes


def measure(scale: float, seed: int, requests: int, fresh: bool) -> dict[str, float]:
    data_dir = ensure_database(scale, seed, fresh)
    db = data_dir / "metropilot.db"
    boxes = boxes_with_at_least(db, PAGE, 20, seed)

    raw = sqlite3.connect(db)
    box_cycle = iter(boxes * (requests // len(boxes) + 10))

    def raw_query() -> None:
        b = next(box_cycle)
        rows = raw.execute(RAW_SQL, (b[1], b[3], b[0], b[2], PAGE)).fetchall()
        assert len(rows) == PAGE

    raw_times = time_calls(raw_query, requests)

    # An integrator's read-only key, as a real client would present on every request.
    with sqlite_platform(data_dir) as platform, platform.uow_factory(write=True) as uow:
        _, api_key = create_key(uow, "bench reader", [parse_scope("assets:read")], BENCH_ACTOR)
        uow.commit()
    with (
        serving(data_dir) as base,
        httpx.Client(base_url=base, timeout=30, headers={"X-API-Key": api_key}) as client,
    ):
        api_cycle = iter(boxes * (requests // len(boxes) + 10))

        responses: list[httpx.Response] = []

        def api_query() -> None:
            b = next(api_cycle)
            responses.append(
                client.get(
                    "/api/v1/assets",
                    params={"bbox": ",".join(f"{v:.6f}" for v in b), "limit": PAGE},
                )
            )

        # Timed: request sent to body received. The client's JSON parsing is checked after.
        api_times = time_calls(api_query, requests)
        for response in responses:
            assert response.status_code == 200, response.text
            assert len(orjson.loads(response.content)["items"]) == PAGE
    api = summarise(api_times)
    sql = summarise(raw_times)
    return {
        "api_p50": api["p50"],
        "api_p99": api["p99"],
        "sql_p50": sql["p50"],
        "sql_p99": sql["p99"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    header("GET /api/v1/assets?bbox=…&limit=1000 against raw SQL (SQLite)")
    print(
        f"{'scale':>5} {'API p50':>9} {'API p99':>9} {'SQL p50':>9} {'SQL p99':>9} "
        f"{'ratio':>6} {'target':>8}  verdict"
    )
    for scale in (float(s) for s in args.scales.split(",")):
        r = measure(scale, args.seed, args.requests, args.fresh)
        target = TARGETS_MS.get(scale)
        verdict = "" if target is None else ("PASS" if r["api_p50"] <= target else "FAIL")
        print(
            f"{scale:>5g} {r['api_p50']:>7.1f}ms {r['api_p99']:>7.1f}ms {r['sql_p50']:>7.1f}ms "
            f"{r['sql_p99']:>7.1f}ms {r['api_p50'] / r['sql_p50']:>5.1f}x "
            f"{'≤' + format(target, '.0f') + 'ms' if target else '':>8}  {verdict}",
            flush=True,
        )
    print("\nratio = API p50 / raw SQL p50 for the same rows (SQL: sqlite3, same file, no HTTP).")


if __name__ == "__main__":
    main()
