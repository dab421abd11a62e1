"""How telemetry plugs into the platform: rollups and retention run by housekeeping."""

from __future__ import annotations

from datetime import timedelta

from metropilot.db.wiring import Wiring
from metropilot.shared.clock import utcnow
from metropilot.telemetry import services

__all__ = ["maintain", "wire"]

# Housekeeping rounds between two maintenances (a round every ``housekeeping_interval_s``).
MAINTAIN_EVERY_ROUNDS = 10


def wire(w: Wiring) -> None:
    w.housekeeping("telemetry-maintenance", lambda: maintain(w), every_rounds=MAINTAIN_EVERY_ROUNDS)


def maintain(w: Wiring) -> str:
    """Roll up recent hours, apply retention, prepare partitions."""
    s = w.settings
    with w.uow_factory(write=True) as uow:
        report = services.maintain(
            uow,
            now=utcnow(),
            raw_retention=timedelta(days=s.telemetry_raw_retention_days),
            rollup_retention=timedelta(days=s.telemetry_rollup_retention_days),
            raw_retention_by_metric={
                m: timedelta(days=d) for m, d in s.telemetry_raw_retention_by_metric.items()
            },
        )
        uow.commit()
    return (
        f"{report.rollup_rows} hourly rollups over {report.hours_rolled} h, "
        f"{report.raw_deleted} raw readings and {report.partitions_dropped} partitions purged"
    )
