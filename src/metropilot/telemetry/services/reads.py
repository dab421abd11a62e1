"""What the API reads of telemetry: series, an asset's twin, the ingest counters."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from metropilot.assets import services as assets_services
from metropilot.db.uow import UnitOfWork
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.telemetry import repository
from metropilot.telemetry.services.results import IngestStats, Twin
from metropilot.telemetry.services.times import iso, ms

__all__ = ["BUCKETS", "ingest_stats", "series", "twin"]

BUCKETS = {"raw": 0, "hour": repository.HOUR_MS, "day": 24 * repository.HOUR_MS}


def series(
    uow: UnitOfWork,
    asset_id: int,
    metric: str,
    start: datetime,
    end: datetime,
    bucket: str,
    after_ms: int | None,
    limit: int,
    scope: Scope = UNRESTRICTED,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of one metric of one asset, raw or bucketed; and the cursor to continue after."""
    assets_services.get_asset(uow, asset_id, scope)  # 404 outside the caller's scope
    if bucket not in BUCKETS:
        raise InvalidInput(f"bucket must be raw, hour or day, got {bucket!r}")
    if end <= start:
        raise InvalidInput("to must be after from")
    start_ms, end_ms = ms(start), ms(end)
    if bucket == "raw":
        rows = repository.raw_series(
            uow.connection, asset_id, metric, start_ms, end_ms, after_ms, limit + 1
        )
        items = [{"ts": iso(t), "value": v} for t, v in rows[:limit]]
        return items, (rows[limit - 1][0] if len(rows) > limit else None)
    size = BUCKETS[bucket]
    buckets = repository.bucket_series(
        uow.connection, asset_id, metric, start_ms, end_ms, size, after_ms, limit + 1
    )
    items = [
        {"ts": iso(b), "min": mn, "max": mx, "avg": avg, "count": n}
        for b, mn, mx, avg, n in buckets[:limit]
    ]
    return items, (buckets[limit - 1][0] if len(buckets) > limit else None)


def twin(uow: UnitOfWork, asset_id: int, scope: Scope = UNRESTRICTED) -> Twin:
    asset = assets_services.get_asset(uow, asset_id, scope)
    state, values = repository.twin_of(uow.connection, asset_id)
    return {
        "asset": asset_id,
        "status": state[1] if state else asset.status.value,
        "last_seen": iso(state[0]) if state else None,
        "values": {m: {"value": v, "ts": iso(t)} for m, (t, v) in sorted(values.items())},
    }


def ingest_stats(uow: UnitOfWork, days: int = 7, now: datetime | None = None) -> IngestStats:
    since = ((now or utcnow()) - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    per_day: dict[str, dict[str, dict[str, int]]] = {}
    totals: Counter[str] = Counter()
    for day, source, outcome, count in repository.counters(uow.connection, since):
        per_day.setdefault(day, {}).setdefault(source, {})[outcome] = count
        totals[outcome] += count
    rejected = {k: v for k, v in totals.items() if k != "accepted"}
    return {
        "since": since,
        "accepted": totals.get("accepted", 0),
        "rejected": sum(rejected.values()),
        "rejected_by_reason": dict(sorted(rejected.items())),
        "by_day": per_day,
    }
