"""How long the contract's figures take on the reference metropolis (34,000 street lights).

The issue names no target; these are the figures a contract manager waits for, from the service
layer on a generated scale-1 metropolis in SQLite (the reference contract and the metropolis on
the 23:00–05:00 program):
- the lighting energy of a year, month by month (the transparency page's chart), cold (nights
  computed from the astronomical clock) then warm (nights cached by the process);
- the KPIs of every lot for a month (lighting availability over 34,000 lamps included);
- the lighting lot's period report (KPIs, penalty statement, energy);
- a what-if over a year (another program in one commune, against the current one).
Printed beside them, in the same run: the time to read the 34,000 lamps' rows alone.

Usage: .venv/bin/python -m bench.contracts [--scale 1] [--year 2026]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import BENCH_ACTOR, header, sqlite_platform
from metropilot.contracts import services
from metropilot.contracts.model import Period
from metropilot.simulate.services import generate_metropolis


def timed(label: str, call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = call()
    print(f"{label:<58} {time.perf_counter() - started:8.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()
    header(f"Performance-contract figures, scale {args.scale:g}")
    with tempfile.TemporaryDirectory() as tmp, sqlite_platform(Path(tmp)) as platform:
        with platform.uow_factory(write=True) as uow:
            generate_metropolis(uow, BENCH_ACTOR, scale=args.scale, seed=1)
            uow.commit()
        year = Period.whole_year(args.year)
        march = Period.month(args.year, 3)
        with platform.uow_factory() as uow:
            lamps = timed(
                "reference: read the lamps' rows",
                lambda: services.lamp_rows(uow, None),
            )
            print(f"{'lamps':<58} {len(lamps):8,}")
            energy = timed(
                f"energy {year.label}, 12 months, cold",
                lambda: services.energy_report(uow, (year,), months=True),
            )
            timed(
                f"energy {year.label}, 12 months, warm",
                lambda: services.energy_report(uow, (year,), months=True),
            )
            timed(
                f"energy {march.label}, one commune (21231), warm",
                lambda: services.energy_report(uow, (march,), commune="21231", months=False),
            )
            timed(f"KPIs of every lot, {march.label}", lambda: services.kpi_report(uow, march))
            timed(
                f"period report, lighting {march.label}",
                lambda: services.period_report(uow, march, "lighting"),
            )
            timed(
                f"what-if {year.label}: lights off 01:00-05:00 in 21231",
                lambda: services.energy_what_if(
                    uow, args.year, programs_by_commune={"21231": "off-01-05"}
                ),
            )
        print()
        print(
            f"energy {year.label}: baseline {energy['baseline_kwh']:,.0f} kWh, current "
            f"{energy['current_kwh']:,.0f} kWh, saving {energy['saving_pct']:.1f}% "
            f"(target {energy['target_pct']:.1f}%), {energy['eur']:,.0f} €, "
            f"{energy['co2_kg']:,.0f} kg CO2"
        )


if __name__ == "__main__":
    main()
