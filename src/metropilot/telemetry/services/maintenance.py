"""Housekeeping of the telemetry tables: rollups, retention, the raw table's partitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from metropilot.db.uow import UnitOfWork
from metropilot.telemetry import repository
from metropilot.telemetry.services.times import ms, whole_ms

__all__ = [
    "PARTITIONS_AHEAD",
    "ROLLUP_RECOMPUTE",
    "MaintenanceReport",
    "maintain",
    "prepare_partitions",
]

# PostgreSQL: the days ahead that have their partition before any reading arrives for them.
PARTITIONS_AHEAD = 7
# The last hours whose rollups each maintenance run recomputes from the raw readings.
ROLLUP_RECOMPUTE = timedelta(hours=48)


def prepare_partitions(uow: UnitOfWork, now_ms: int, oldest_ms: int) -> int:
    """PostgreSQL: give yesterday, today and the coming week their partitions, and every day
    since ``oldest_ms`` whose readings wait in the default partition (late readings, whose day
    had none when they arrived); returns how many were made. The caller commits at once: a new
    partition locks the raw table until then."""
    day = repository.DAY_MS
    days = set(range(now_ms // day - 1, now_ms // day + PARTITIONS_AHEAD + 1))
    days.update(
        repository.days_in_default_partition(
            uow.connection, oldest_ms, (now_ms // day + PARTITIONS_AHEAD + 1) * day
        )
    )
    return repository.ensure_partitions(uow.connection, days)


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    hours_rolled: int
    rollup_rows: int
    raw_deleted: int
    partitions_dropped: int
    partitions_made: int
    hourly_deleted: int
    events_deleted: int


def maintain(
    uow: UnitOfWork,
    *,
    now: datetime,
    raw_retention: timedelta,
    rollup_retention: timedelta,
    raw_retention_by_metric: dict[str, timedelta] | None = None,
    recompute: timedelta = ROLLUP_RECOMPUTE,
) -> MaintenanceReport:
    """Roll up the recent hours (recomputed, so late readings are counted), apply retention, and
    prepare the raw table's partitions (PostgreSQL, ``prepare_partitions``)."""
    end_hour = ms(now) // repository.HOUR_MS * repository.HOUR_MS
    start_hour = end_hour - whole_ms(recompute)
    rows = repository.roll_up(uow.connection, start_hour, end_hour)
    overrides = raw_retention_by_metric or {}
    # Whole days go at once on PostgreSQL; what remains (SQLite, the default partition, metrics
    # kept longer or shorter) is deleted row by row.
    longest = max([raw_retention, *overrides.values()])
    dropped = repository.drop_partitions_before(uow.connection, ms(now - longest))
    raw_deleted = repository.delete_raw_before(
        uow.connection, ms(now - raw_retention), except_metrics=overrides
    )
    for metric, keep in overrides.items():
        raw_deleted += repository.delete_raw_before(
            uow.connection, ms(now - keep), metrics=[metric]
        )
    hourly_deleted = repository.delete_hourly_before(uow.connection, ms(now - rollup_retention))
    events_deleted = repository.delete_events_before(uow.connection, ms(now - rollup_retention))
    # Last: a new partition locks the raw table until the commit, which follows at once.
    partitions_made = prepare_partitions(uow, ms(now), ms(now - longest))
    return MaintenanceReport(
        hours_rolled=(end_hour - start_hour) // repository.HOUR_MS,
        rollup_rows=rows,
        raw_deleted=raw_deleted,
        partitions_dropped=dropped,
        partitions_made=partitions_made,
        hourly_deleted=hourly_deleted,
        events_deleted=events_deleted,
    )
