"""Generate and load the scale-1 synthetic metropolis into SQLite. Target: ≤ 15 s.

Usage: .venv/bin/python -m bench.generate [--scale 1] [--seed 1]
Prints the time to build the layout alone and the time for the whole generate-and-load
(layout + validation + commune assignment + insert + history + commit), on a fresh file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import BENCH_ACTOR, header, sqlite_platform
from metropilot.simulate.layout import build_metropolis, load_reference_communes
from metropilot.simulate.services import generate_metropolis

TARGET_S = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    header(f"generate the synthetic metropolis into SQLite, scale {args.scale:g}")

    started = time.perf_counter()
    layout = build_metropolis(load_reference_communes(), scale=args.scale, seed=args.seed)
    layout_s = time.perf_counter() - started
    print(f"layout only (no database):      {layout_s:6.2f} s  ({len(layout.assets):,} assets)")

    with tempfile.TemporaryDirectory() as tmp, sqlite_platform(Path(tmp)) as platform:
        started = time.perf_counter()
        with platform.uow_factory(write=True) as uow:
            report = generate_metropolis(uow, BENCH_ACTOR, scale=args.scale, seed=args.seed)
            uow.commit()
        total_s = time.perf_counter() - started
        size_mb = sum(p.stat().st_size for p in Path(tmp).glob("metropilot.db*")) / 2**20
    print(
        f"generate and load into SQLite:  {total_s:6.2f} s  ({report.assets:,} assets, "
        f"{report.streets:,} streets, {size_mb:.0f} MB on disk)"
    )
    print(f"rate:                           {report.assets / total_s:,.0f} assets/s")
    if args.scale == 1.0:
        verdict = "PASS" if total_s <= TARGET_S else "FAIL"
        print(f"target ≤ {TARGET_S:.0f} s at scale 1:       {verdict}")


if __name__ == "__main__":
    main()
