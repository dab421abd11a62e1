"""The ingest pipeline and the telemetry queries.

One batch — from an HTTP request or a run of MQTT messages — is decoded, resolved to assets,
checked against the sender's permissions, applied to the twin, passed to the observers (the rules
engine), and written in one transaction. Only after the commit is the in-memory twin updated and
the sender acknowledged, so nothing acknowledged can be lost and a redelivered message is ignored.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import select

from metropilot.accounts.policy import Principal
from metropilot.assets import repository as assets_repository
from metropilot.assets import services as assets_services
from metropilot.assets.model import AssetStatus
from metropilot.db.uow import UnitOfWork, UnitOfWorkFactory
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.telemetry import repository
from metropilot.telemetry.model import (
    DecodedEvent,
    DecodedReading,
    InvalidItem,
    decode_item,
    derive_status,
)

__all__ = [
    "AssetDirectory",
    "AssetInfo",
    "BatchObserver",
    "BatchResult",
    "IngestPipeline",
    "TwinChange",
    "maintain",
]

INGEST_ACTOR = Actor(ActorKind.SYSTEM, "telemetry", sector="public")
# Statuses people set on purpose; telemetry does not overrule them.
MANUAL_STATUSES = frozenset({AssetStatus.MAINTENANCE.value, AssetStatus.DECOMMISSIONED.value})


@dataclass(frozen=True, slots=True)
class AssetInfo:
    id: int
    external_ref: str
    kind: str
    commune: str
    maintainer_id: int | None
    parent_id: int | None
    status: str


class AssetDirectory:
    """Asset id and external reference → what ingest needs to know, held in memory.

    Built from the registry once per process and refreshed when assets are imported, so that
    resolving a reading costs a dictionary lookup, not a query.
    """

    def __init__(self) -> None:
        self._by_ref: dict[str, AssetInfo] = {}
        self._by_id: dict[int, AssetInfo] = {}
        self._lock = threading.Lock()

    def load(self, uow: UnitOfWork) -> None:
        a = assets_repository.assets.c
        rows = uow.connection.execute(
            select(
                a.id,
                a.external_ref,
                a.kind,
                a.commune_insee,
                a.maintainer_id,
                a.parent_id,
                a.status,
            )
        )
        by_ref: dict[str, AssetInfo] = {}
        by_id: dict[int, AssetInfo] = {}
        for row in rows:
            info = AssetInfo(
                int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], row[5], str(row[6])
            )
            by_ref[info.external_ref] = info
            by_id[info.id] = info
        with self._lock:
            self._by_ref, self._by_id = by_ref, by_id

    def resolve(self, ref: str) -> AssetInfo | None:
        found = self._by_ref.get(ref)
        if found is None and ref.isdigit():
            found = self._by_id.get(int(ref))
        return found

    def by_id(self, asset_id: int) -> AssetInfo | None:
        return self._by_id.get(asset_id)

    def set_status(self, asset_id: int, status: str) -> None:
        info = self._by_id.get(asset_id)
        if info is not None:
            updated = AssetInfo(
                info.id,
                info.external_ref,
                info.kind,
                info.commune,
                info.maintainer_id,
                info.parent_id,
                status,
            )
            self._by_id[asset_id] = updated
            self._by_ref[info.external_ref] = updated

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass(slots=True)
class TwinState:
    last_seen_ms: int
    status: str
    values: dict[str, tuple[int, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TwinChange:
    """What one batch did to one asset, for the rules engine."""

    asset: AssetInfo
    ts_ms: int  # the newest reading of this asset in the batch
    values: dict[str, float]  # the metrics this batch brought (latest per metric)
    previous: dict[str, float]  # those metrics' values before the batch (absent: never seen)
    status_before: str
    status_after: str
    events: tuple[str, ...] = ()  # event codes this batch brought


class BatchObserver(Protocol):
    """Something that reacts to a batch inside its transaction (the rules engine)."""

    def __call__(self, uow: UnitOfWork, changes: Sequence[TwinChange], now: datetime) -> None: ...


@dataclass(slots=True)
class BatchResult:
    results: list[dict[str, Any]]
    accepted: int = 0
    rejected: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected, "items": self.results}


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


class IngestPipeline:
    """One per process: the directory and the twin live here, between batches."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        raw_retention: timedelta,
        max_batch: int,
        observers: Sequence[BatchObserver] = (),
    ) -> None:
        self._uow_factory = uow_factory
        self.raw_retention = raw_retention
        self.max_batch = max_batch
        self.observers = list(observers)
        self.directory = AssetDirectory()
        self.twin: dict[int, TwinState] = {}
        self._lock = threading.Lock()  # one batch at a time per process keeps the twin coherent
        self._loaded = False

    def warm_up(self) -> None:
        with self._uow_factory(write=True) as uow:
            # PostgreSQL: today's and the coming week's partitions, before any reading arrives.
            repository.ensure_partitions(uow.connection, _ms(utcnow()) - repository.DAY_MS, 9)
            uow.commit()
        with self._uow_factory() as uow:
            self.directory.load(uow)
            states, values = repository.load_twins(uow.connection)
        self.twin = {
            asset_id: TwinState(last_seen, status, values.get(asset_id, {}))
            for asset_id, (last_seen, status) in states.items()
        }
        self._loaded = True

    def ingest(
        self,
        items: Sequence[Any],
        *,
        source: str,
        principal: Principal | None = None,
        now: datetime | None = None,
    ) -> BatchResult:
        """Ingest a batch; returns a result per item. Valid items are kept when others fail."""
        with self._lock:
            if not self._loaded:
                self.warm_up()
            return self._ingest(items, source, principal, now or utcnow())

    def _ingest(
        self, items: Sequence[Any], source: str, principal: Principal | None, now: datetime
    ) -> BatchResult:
        results: list[dict[str, Any]] = []
        accepted: list[tuple[AssetInfo, DecodedReading | DecodedEvent]] = []
        outcomes: Counter[str] = Counter()
        for index, item in enumerate(items):
            try:
                if index >= self.max_batch:
                    raise InvalidItem(
                        "over_batch_limit", f"a batch holds at most {self.max_batch} items"
                    )
                if isinstance(item, InvalidItem):
                    raise item
                decoded = decode_item(item, now, self.raw_retention)
                info = self.directory.resolve(decoded.asset_ref)
                if info is None:
                    raise InvalidItem("unknown_asset", f"no asset {decoded.asset_ref!r}")
                if principal is not None and not _may_write(principal, info):
                    raise InvalidItem(
                        "forbidden", f"this key may not send telemetry for {info.external_ref}"
                    )
            except InvalidItem as exc:
                results.append(
                    {
                        "index": index,
                        "status": "rejected",
                        "reason": exc.reason,
                        "message": exc.message,
                    }
                )
                outcomes[exc.reason] += 1
                continue
            accepted.append((info, decoded))
            results.append({"index": index, "status": "accepted", "asset": info.id})
        outcomes["accepted"] = len(accepted)

        raw_rows: list[tuple[int, str, int, float]] = []
        event_rows: list[tuple[int, int, str, str]] = []
        latest: dict[int, dict[str, tuple[int, float]]] = {}
        newest_ms: dict[int, int] = {}
        codes: dict[int, list[str]] = {}
        for info, decoded in accepted:
            ts_ms = _ms(decoded.ts)
            newest_ms[info.id] = max(ts_ms, newest_ms.get(info.id, 0))
            if isinstance(decoded, DecodedEvent):
                event_rows.append(
                    (info.id, ts_ms, decoded.code, orjson.dumps(decoded.payload).decode())
                )
                codes.setdefault(info.id, []).append(decoded.code)
                continue
            per_asset = latest.setdefault(info.id, {})
            for metric, value in decoded.values.items():
                raw_rows.append((info.id, metric, ts_ms, value))
                seen = per_asset.get(metric)
                if seen is None or ts_ms >= seen[0]:
                    per_asset[metric] = (ts_ms, value)

        changes: list[TwinChange] = []
        twin_value_rows: list[tuple[int, str, int, float]] = []
        twin_rows: list[tuple[int, int, str]] = []
        new_states: dict[int, TwinState] = {}
        for asset_id, last_ms in newest_ms.items():
            info = self.directory.by_id(asset_id)
            assert info is not None
            state = self.twin.get(asset_id)
            merged = dict(state.values) if state else {}
            previous: dict[str, float] = {}
            brought: dict[str, float] = {}
            for metric, (ts_ms, value) in latest.get(asset_id, {}).items():
                old = merged.get(metric)
                if old is not None:
                    previous[metric] = old[1]
                if old is None or ts_ms >= old[0]:
                    merged[metric] = (ts_ms, value)
                    brought[metric] = value
                twin_value_rows.append((asset_id, metric, ts_ms, value))
            status_before = state.status if state else info.status
            status_after = derive_status({m: v for m, (_, v) in merged.items()})
            if info.status in MANUAL_STATUSES:
                status_after = info.status
            seen_ms = max(last_ms, state.last_seen_ms if state else 0)
            new_states[asset_id] = TwinState(seen_ms, status_after, merged)
            twin_rows.append((asset_id, seen_ms, status_after))
            changes.append(
                TwinChange(
                    info,
                    last_ms,
                    brought,
                    previous,
                    status_before,
                    status_after,
                    tuple(codes.get(asset_id, ())),
                )
            )
        day = now.astimezone(UTC).strftime("%Y-%m-%d")
        counter_rows = [(day, source, outcome, n) for outcome, n in outcomes.items() if n]

        status_updates: list[tuple[int, str]] = []
        with self._uow_factory(write=True) as uow:
            repository.write_batch(
                uow.connection,
                raw=raw_rows,
                events=event_rows,
                twin_values_rows=twin_value_rows,
                twins=twin_rows,
                counters=counter_rows,
            )
            for change in changes:
                if change.status_after != change.asset.status:
                    assets_services.set_status(
                        uow,
                        change.asset.id,
                        AssetStatus(change.status_after),
                        INGEST_ACTOR,
                        reason="reported by the equipment",
                    )
                    status_updates.append((change.asset.id, change.status_after))
            for observer in self.observers:
                observer(uow, changes, now)
            uow.commit()
        # Committed: now the process's memory may move on.
        self.twin.update(new_states)
        for asset_id, status in status_updates:
            self.directory.set_status(asset_id, status)
        return BatchResult(results, accepted=len(accepted), rejected=len(results) - len(accepted))


def _may_write(principal: Principal, info: AssetInfo) -> bool:
    if principal.kind is not ActorKind.API_KEY:
        return True
    return any(s.covers("telemetry:write", info.kind, info.commune) for s in principal.key_scopes)


# --- queries ----------------------------------------------------------------------------------

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
    start_ms, end_ms = _ms(start), _ms(end)
    if bucket == "raw":
        rows = repository.raw_series(
            uow.connection, asset_id, metric, start_ms, end_ms, after_ms, limit + 1
        )
        items = [{"ts": _iso(t), "value": v} for t, v in rows[:limit]]
        return items, (rows[limit - 1][0] if len(rows) > limit else None)
    size = BUCKETS[bucket]
    buckets = repository.bucket_series(
        uow.connection, asset_id, metric, start_ms, end_ms, size, after_ms, limit + 1
    )
    items = [
        {"ts": _iso(b), "min": mn, "max": mx, "avg": avg, "count": n}
        for b, mn, mx, avg, n in buckets[:limit]
    ]
    return items, (buckets[limit - 1][0] if len(buckets) > limit else None)


def twin(uow: UnitOfWork, asset_id: int, scope: Scope = UNRESTRICTED) -> dict[str, Any]:
    asset = assets_services.get_asset(uow, asset_id, scope)
    state, values = repository.twin_of(uow.connection, asset_id)
    return {
        "asset": asset_id,
        "status": state[1] if state else asset.status.value,
        "last_seen": _iso(state[0]) if state else None,
        "values": {m: {"value": v, "ts": _iso(t)} for m, (t, v) in sorted(values.items())},
    }


def ingest_stats(uow: UnitOfWork, days: int = 7, now: datetime | None = None) -> dict[str, Any]:
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


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


# --- maintenance ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    hours_rolled: int
    rollup_rows: int
    raw_deleted: int
    hourly_deleted: int
    events_deleted: int


def maintain(
    uow: UnitOfWork,
    *,
    now: datetime,
    raw_retention: timedelta,
    rollup_retention: timedelta,
    raw_retention_by_metric: dict[str, timedelta] | None = None,
    recompute: timedelta = timedelta(hours=48),
) -> MaintenanceReport:
    """Roll up the recent hours (recomputed, so late readings are counted) and apply retention."""
    end_hour = _ms(now) // repository.HOUR_MS * repository.HOUR_MS
    start_hour = end_hour - int(recompute.total_seconds() * 1000)
    repository.ensure_partitions(uow.connection, _ms(now) - repository.DAY_MS, 9)
    rows = repository.roll_up(uow.connection, start_hour, end_hour)
    overrides = raw_retention_by_metric or {}
    # Whole days go at once on PostgreSQL; what remains (SQLite, the default partition, metrics
    # kept longer or shorter) is deleted row by row.
    longest = max([raw_retention, *overrides.values()])
    repository.drop_partitions_before(uow.connection, _ms(now - longest))
    raw_deleted = repository.delete_raw_before(
        uow.connection, _ms(now - raw_retention), except_metrics=overrides
    )
    for metric, keep in overrides.items():
        raw_deleted += repository.delete_raw_before(
            uow.connection, _ms(now - keep), metrics=[metric]
        )
    hourly_deleted = repository.delete_hourly_before(uow.connection, _ms(now - rollup_retention))
    events_deleted = repository.delete_events_before(uow.connection, _ms(now - rollup_retention))
    return MaintenanceReport(
        hours_rolled=(end_hour - start_hour) // repository.HOUR_MS,
        rollup_rows=rows,
        raw_deleted=raw_deleted,
        hourly_deleted=hourly_deleted,
        events_deleted=events_deleted,
    )
