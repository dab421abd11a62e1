"""The ingest pipeline and the telemetry queries.

One batch — from an HTTP request or a run of MQTT messages — is decoded, resolved to assets,
checked against the sender's permissions, applied to the twin, passed to the observers (the rules
engine), and written in one transaction. Only after the commit is the in-memory twin updated and
the sender acknowledged, so nothing acknowledged can be lost and a redelivered message is ignored.
"""

from __future__ import annotations

import gc
import threading
import time
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol, cast

import orjson
from sqlalchemy import or_, select

from metropilot.accounts.policy import Principal, telemetry_scope
from metropilot.assets import repository as assets_repository
from metropilot.assets import services as assets_services
from metropilot.assets.model import AssetStatus
from metropilot.db.uow import UnitOfWork, UnitOfWorkFactory
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Forbidden, InvalidInput
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.telemetry import repository
from metropilot.telemetry.model import (
    FAULT_FLAGS,
    MAX_FUTURE_MS,
    DecodedEvent,
    DecodedReading,
    InvalidItem,
    decode_item,
    derive_status,
    outside_window,
)
from metropilot.telemetry.twin import NEVER, AssetDirectory, AssetInfo, Twin, TwinView

__all__ = [
    "AssetDirectory",
    "AssetInfo",
    "BatchObserver",
    "BatchResult",
    "IngestPipeline",
    "TwinChange",
    "maintain",
    "prepare_partitions",
]

INGEST_ACTOR = Actor(ActorKind.SYSTEM, "telemetry", sector="public")
# Statuses people set on purpose; telemetry does not overrule them.
MANUAL_STATUSES = frozenset({AssetStatus.MAINTENANCE.value, AssetStatus.DECOMMISSIONED.value})
# How long a reference found nowhere is not looked up again.
UNKNOWN_REF_RETRY_S = 60.0
# After a crash the twin is rebuilt from the raw readings of this last stretch of time.
REPLAY_MS = 60 * 60 * 1000
# PostgreSQL: the days ahead that have their partition before any reading arrives for them.
PARTITIONS_AHEAD = 7
# The last hours whose rollups each maintenance run recomputes from the raw readings.
ROLLUP_RECOMPUTE = timedelta(hours=48)
HOUR_MS = repository.HOUR_MS


# What one batch did to one asset, for the rules engine: a plain tuple, since one is made for
# every asset of every batch and the engine unpacks it in one step (``alarms.rules.Change``):
#   asset          the asset (AssetInfo)
#   ts_ms          its newest reading in the batch
#   values         the metrics this batch brought (latest per metric)
#   previous       each metric's value before the batch (absent: never seen); read-only: on the
#                  straight road it reads the twin in place, which moves on after the commit
#   status_before, status_after
#   events         the event codes this batch brought
TwinChange = tuple[AssetInfo, int, dict[str, float], Mapping[str, float], str, str, tuple[str, ...]]

# What the twin takes from one asset's change once the batch has committed.
Update = tuple[
    int,  # asset id
    int,  # newest time, ms
    str,  # status
    str,  # derived status
    dict[str, tuple[int, float]] | None,  # the general road's values with their times
    int,  # the asset's row in its kind's columns (straight road)
    dict[str, tuple["array[float]", "array[int]"]] | None,  # those columns (straight road)
    dict[str, float],  # the values brought (straight road: all at the newest time)
    str,  # the asset's kind
]


class BatchObserver(Protocol):
    """Something that reacts to a batch inside its transaction (the rules engine)."""

    def __call__(self, uow: UnitOfWork, changes: Sequence[TwinChange], now: datetime) -> None: ...


class EventObserver(Protocol):
    """Something that reads a batch's device events, payloads included, inside its transaction
    (the command tracker: equipment answers commands with events). Each event is (asset id,
    time in ms, code, payload as JSON)."""

    def __call__(
        self, uow: UnitOfWork, events: Sequence[tuple[int, int, str, str]], now: datetime
    ) -> object: ...


@dataclass(slots=True)
class BatchResult:
    """The outcome of each item: the asset id it was stored for, or why it was refused.

    Kept compact (one int or one refusal per item) and spelled out as dictionaries only when
    someone asks, since the MQTT consumer only counts them."""

    outcomes: list[int | InvalidItem]
    accepted: int = 0
    rejected: int = 0

    @property
    def results(self) -> list[dict[str, Any]]:
        return [
            {"index": index, "status": "accepted", "asset": outcome}
            if type(outcome) is int
            else {
                "index": index,
                "status": "rejected",
                "reason": outcome.reason,  # type: ignore[union-attr]
                "message": outcome.message,  # type: ignore[union-attr]
            }
            for index, outcome in enumerate(self.outcomes)
        ]

    @property
    def refusals(self) -> list[InvalidItem]:
        return [outcome for outcome in self.outcomes if type(outcome) is not int]  # type: ignore[misc]

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected, "items": self.results}


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _whole_ms(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


class IngestPipeline:
    """One per process: the directory and the twin live here, between batches.

    The raw readings are the durable truth and are written with every batch. The twin is derived
    from them: it is kept in memory and written to the database every ``twin_flush_interval``
    (and on ``flush``), which keeps the per-reading cost of ingest close to the raw insert. The
    write is spread over the following batches, a slice each (the assets changed longest ago
    first), so that no batch — and no alarm it carries — waits behind a write of the whole
    twin. After a crash, ``warm_up`` replays the last hour of raw readings into the twin; merging
    by timestamp makes that replay idempotent.
    """

    # Assets whose twin one batch writes, at least; a batch writes twice its own size if larger,
    # so that the twin keeps up with any rate.
    FLUSH_SLICE = 500

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        raw_retention: timedelta,
        max_batch: int,
        observers: Sequence[BatchObserver] = (),
        event_observers: Sequence[EventObserver] = (),
        twin_flush_interval: float = 5.0,
    ) -> None:
        self._uow_factory = uow_factory
        self.raw_retention = raw_retention
        self.max_batch = max_batch
        self.observers = list(observers)
        self.event_observers = list(event_observers)
        self.twin_flush_interval = twin_flush_interval
        self.directory = AssetDirectory()
        self.twin = Twin()
        self._dirty: dict[int, None] = {}  # an ordered set: the oldest change first
        # asset id → its last contact as of its last flush: only metrics reported since are
        # written again (a light sends two of its six metrics a time; rewriting all six tripled
        # the twin's writes). NEVER: not flushed by this process yet.
        self._flushed_until = array("q")
        self._flush_all: set[int] = set()  # assets given an older value since: write everything
        self._flushing = False  # a flush is under way, a slice per batch
        self._unknown: dict[str, float] = {}  # reference → when it was last looked up in vain
        self._last_flush = 0.0
        self._lock = threading.Lock()  # one batch at a time per process keeps the twin coherent
        self._loaded = False
        self._pause_collections = False

    def warm_up(self, *, long_lived: bool = False) -> None:
        """Load the directory and the twin (done by the first batch otherwise).

        ``long_lived``: this process keeps them until it exits (``serve``, ``demo``, ``ingest``).
        What is loaded by then is moved out of the garbage collector's sight: otherwise every
        full collection walks the whole directory — hundreds of thousands of objects that never
        die — which cost the ingest path about a quarter of its throughput. And collections wait
        while a batch is processed: what a batch allocates (tens of thousands of objects) makes no
        reference cycles and dies with it by reference counting, yet would trigger dozens of
        collections on the way, about 7% of the time of a batch.
        """
        with self._lock:
            self._warm_up()
            self._pause_collections = long_lived
        if long_lived:
            gc.collect()
            gc.freeze()

    def _warm_up(self, now: datetime | None = None) -> None:
        """``now``: the time of the batch that asked for the warm-up, when it was given one."""
        now_ms = _ms(now or utcnow())
        with self._uow_factory(write=True) as uow:
            prepare_partitions(uow, now_ms, now_ms - _whole_ms(self.raw_retention))
            uow.commit()
        directory, twin = self.directory, Twin()
        with self._uow_factory() as uow:
            conn = uow.connection
            directory.replace_all(directory.info(*row) for row in _directory_rows(uow))
            twin.reserve((info.id, info.kind) for info in directory)
            for asset_id, last_seen, status in repository.twin_states(conn):
                if directory.by_id(asset_id) is not None:
                    twin.set_state(asset_id, last_seen, status, "ok")
            for asset_id, metric, ts_ms, value in repository.twin_value_rows(conn):
                info = directory.by_id(asset_id)
                if info is not None:
                    twin.record_one(asset_id, info.kind, metric, ts_ms, value)
            # What arrived after the last flush (or all of the last hour): replayed, by time.
            for asset_id, metric, ts_ms, value in repository.latest_raw_since(
                conn, now_ms - REPLAY_MS
            ):
                info = directory.by_id(asset_id)
                if info is None:
                    continue
                if not twin.known(asset_id):
                    twin.set_state(asset_id, ts_ms, info.status, "ok")
                if twin.record_one(asset_id, info.kind, metric, ts_ms, value):
                    self._dirty[asset_id] = None
                twin.set_state(asset_id, ts_ms, twin.status[asset_id] or info.status, "ok")
            if conn.dialect.name == "sqlite":
                # The warm-up read the whole twin through this connection's page cache: give
                # that memory back rather than hold it for the life of the process.
                conn.exec_driver_sql("PRAGMA shrink_memory")
        for info in directory:
            if twin.known(info.id):
                twin.derived[info.id] = _derive_status(_NOTHING, twin.view(info.id, info.kind))
        self.twin = twin
        self._flushed_until = array("q")
        self._flush_all = set()
        self._loaded = True

    def _newly_registered(self, ref: str) -> AssetInfo | None:
        """An asset registered since the directory was loaded, looked up on first sight.

        A reference found nowhere is remembered for a minute, so that a device sending for an
        asset that does not exist costs one query a minute, not one a reading."""
        now = time.monotonic()
        missed = self._unknown.get(ref)
        if missed is not None and now - missed < UNKNOWN_REF_RETRY_S:
            return None
        with self._uow_factory() as uow:
            rows = list(_directory_rows(uow, ref))
        if not rows:
            if len(self._unknown) >= 10_000:
                self._unknown.clear()
            self._unknown[ref] = now
            return None
        info = self.directory.info(*rows[0])
        self.directory.add(info)
        return info

    def latest_values(self, asset_id: int) -> dict[str, tuple[int, float]]:
        """What the twin holds for an asset: each metric's (time, value)."""
        with self._lock:
            info = self.directory.by_id(asset_id)
            return {} if info is None else self.twin.latest(asset_id, info.kind)

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
                self._warm_up(now)
            paused = self._pause_collections and gc.isenabled()
            if paused:
                gc.disable()
            try:
                result = self._ingest(items, source, principal, now or utcnow())
            finally:
                if paused:
                    gc.enable()
            if not self._flushing and (
                time.monotonic() - self._last_flush >= self.twin_flush_interval
            ):
                self._flushing = True
                self._last_flush = time.monotonic()
            if self._flushing:
                self._flush(max(self.FLUSH_SLICE, 2 * len(items)))
            return result

    def flush(self) -> None:
        """Write every change of the twin not written yet (call on shutdown)."""
        with self._lock:
            self._flush(None)

    def _flush(self, limit: int | None) -> None:
        """Write the twin of up to ``limit`` assets, those changed longest ago first."""
        pending = self._dirty
        if limit is None or limit >= len(pending):
            dirty, self._dirty = list(pending), {}
            self._flushing = False
            self._last_flush = time.monotonic()
        else:
            dirty = []
            for asset_id in pending:
                dirty.append(asset_id)
                if len(dirty) == limit:
                    break
            for asset_id in dirty:
                del pending[asset_id]
        if not dirty:
            return
        twin, by_id = self.twin, self.directory.by_id
        flushed_until, flush_all = self._flushed_until, self._flush_all
        if len(flushed_until) < len(twin.last_seen):
            flushed_until.extend([NEVER] * (len(twin.last_seen) - len(flushed_until)))
        value_rows: list[tuple[int, str, int, float]] = []
        twin_rows: list[tuple[int, int, str]] = []
        for asset_id in dirty:
            info = by_id(asset_id)
            status = twin.status[asset_id]
            if info is None or status is None:
                continue
            last_seen = twin.last_seen[asset_id]
            twin_rows.append((asset_id, last_seen, status))
            since = NEVER if asset_id in flush_all else flushed_until[asset_id]
            value_rows.extend(
                (asset_id, metric, ts_ms, value)
                for metric, ts_ms, value in twin.values_since(asset_id, info.kind, since)
            )
        try:
            with self._uow_factory(write=True) as uow:
                repository.write_batch(
                    uow.connection,
                    raw=(),
                    events=(),
                    twin_values_rows=value_rows,
                    twins=twin_rows,
                    counters=(),
                )
                uow.commit()
        except Exception:
            for asset_id in dirty:  # written with a later flush
                self._dirty[asset_id] = None
            raise
        for asset_id, last_seen, _status in twin_rows:
            flushed_until[asset_id] = last_seen
            flush_all.discard(asset_id)

    def _ingest(
        self, items: Sequence[Any], source: str, principal: Principal | None, now: datetime
    ) -> BatchResult:
        # The hot path of the platform: every reading passes here. The common case — an asset
        # once in the batch, with a reading newer than its twin — takes the straight road, its
        # twin change made as the reading is read; an asset seen twice, a late reading or an
        # event takes the general road, merged by time once the whole batch has been read.
        now_ms = _ms(now)
        oldest_ms = now_ms - _whole_ms(self.raw_retention)
        # Readings of the hours before this one are too late for the maintenance, which only
        # recomputes the rollups of the last ROLLUP_RECOMPUTE (a gateway back after a week): the
        # batch recomputes those of their series itself. The oldest hour the maintenance still
        # recomputes is included, as its next run may fall in the next hour.
        settled_ms = now_ms // HOUR_MS * HOUR_MS - _whole_ms(ROLLUP_RECOMPUTE) + HOUR_MS
        late: dict[int, set[tuple[int, str]]] = {}  # hour → its series (asset id, metric)
        outcomes: list[int | InvalidItem] = []
        refused: Counter[str] = Counter()
        raw_rows: list[tuple[int, str, int, float]] = []
        event_rows: list[tuple[int, int, str, str]] = []
        changes: list[TwinChange | None] = []
        updates: list[Update | None] = []
        # asset id → its change's position, while the asset took the straight road
        straight: dict[int, int] = {}
        # straight-road changes whose status differs from the registry's (if not undone)
        restated: list[TwinChange] = []
        # asset id → (info, [newest ts], {metric: (ts, value)}, [event codes]): the general road
        merged: dict[int, tuple[AssetInfo, list[int], dict[str, tuple[int, float]], list[str]]]
        merged = {}
        by_ref, resolve = self.directory._by_ref, self.directory.resolve
        write_scope = _write_scope(principal)
        seen_timestamps: dict[str, int] = {}
        max_batch = self.max_batch
        add_outcome, add_raw = outcomes.append, raw_rows.append
        add_change, add_update = changes.append, updates.append
        twin = self.twin
        statuses, last_seen, derived_of = twin.status, twin.last_seen, twin.derived
        row_index, columns_of = twin.row_index, twin.columns
        known_ids = len(statuses)
        accepted = 0
        decoded: DecodedReading | DecodedEvent
        values: dict[str, float]
        for item in items[:max_batch] if len(items) > max_batch else items:
            try:
                item_type = type(item)
                if item_type is DecodedReading:  # the fast road
                    decoded = item
                    ref, ts_ms, values = item
                    if ts_ms - now_ms > MAX_FUTURE_MS or ts_ms < oldest_ms:
                        raise outside_window(_iso(ts_ms), ts_ms, now_ms, oldest_ms)
                elif item_type is DecodedEvent:  # the fast road
                    decoded = item
                    ref, ts_ms = item.asset_ref, item.ts_ms
                    if ts_ms - now_ms > MAX_FUTURE_MS or ts_ms < oldest_ms:
                        raise outside_window(_iso(ts_ms), ts_ms, now_ms, oldest_ms)
                elif item_type is InvalidItem:
                    raise item
                else:
                    decoded = decode_item(item, now_ms, oldest_ms, seen_timestamps)
                    ref, ts_ms = decoded.asset_ref, decoded.ts_ms
                    if type(decoded) is DecodedReading:
                        values = decoded.values
                info = by_ref.get(ref) or resolve(ref) or self._newly_registered(ref)
                # An asset outside the key's scope is answered as one that does not exist:
                # a key cannot learn which equipment is registered beyond what it may write.
                if info is None or (
                    write_scope is not None
                    and not write_scope.allows(info.commune, info.maintainer_id, info.kind)
                ):
                    raise InvalidItem("unknown_asset", f"no asset {ref!r}")
            except InvalidItem as exc:
                add_outcome(exc)
                refused[exc.reason] += 1
                continue
            accepted += 1
            asset_id = info.id
            add_outcome(asset_id)
            if type(decoded) is DecodedReading:
                for metric, value in values.items():
                    add_raw((asset_id, metric, ts_ms, value))
                if ts_ms < settled_ms:
                    hour = late.setdefault(ts_ms // HOUR_MS * HOUR_MS, set())
                    hour.update((asset_id, metric) for metric in values)
                if asset_id not in straight and asset_id not in merged:
                    kind = info.kind
                    status_before = statuses[asset_id] if asset_id < known_ids else None
                    if status_before is None:  # first words from this asset
                        previous: Mapping[str, float] = _NOTHING
                        status_before = info.status
                        derived = (
                            "ok"
                            if STATUS_METRICS.isdisjoint(values)
                            else _derive_status(values, _NOTHING)
                        )
                        row, columns = NEVER, None
                    elif ts_ms > last_seen[asset_id]:  # newer than all the twin holds
                        row, columns = row_index[asset_id], columns_of.get(kind)
                        if row == NEVER or columns is None:
                            # Known, yet no row in its kind's columns (an asset registered
                            # since the warm-up whose first words were an event): the twin
                            # gives it one now, and records it after the commit by that row.
                            previous = twin.view(asset_id, kind)
                            row, columns = NEVER, None
                        else:
                            previous = TwinView(columns, row)
                        derived = (
                            derived_of[asset_id] or "ok"
                            if STATUS_METRICS.isdisjoint(values)
                            else _derive_status(values, previous)
                        )
                    else:  # a late reading: the twin may hold newer values
                        merged[asset_id] = (
                            info,
                            [ts_ms],
                            {m: (ts_ms, v) for m, v in values.items()},
                            [],
                        )
                        continue
                    registered = info.status
                    status_after = registered if registered in MANUAL_STATUSES else derived
                    straight[asset_id] = len(changes)
                    change: TwinChange = (
                        info,
                        ts_ms,
                        values,
                        previous,
                        status_before,
                        status_after,
                        (),
                    )
                    add_change(change)
                    if status_after != registered:
                        restated.append(change)
                    add_update(
                        (asset_id, ts_ms, status_after, derived, None, row, columns, values, kind)
                    )
                    continue
            else:
                event_rows.append(
                    (asset_id, ts_ms, decoded.code, orjson.dumps(decoded.payload).decode())  # type: ignore[union-attr]
                )
            # The general road: fold this item into the asset's merged record.
            entry = merged.get(asset_id)
            if entry is None:
                entry = merged[asset_id] = (info, [ts_ms], {}, [])
                position = straight.pop(asset_id, None)
                if position is not None:  # seen before on the straight road: undo that
                    first = changes[position]
                    assert first is not None
                    changes[position] = updates[position] = None
                    entry[1][0] = first[1]
                    entry[2].update((m, (first[1], v)) for m, v in first[2].items())
            if ts_ms > entry[1][0]:
                entry[1][0] = ts_ms
            if type(decoded) is DecodedReading:
                latest = entry[2]
                for metric, value in decoded.values.items():
                    seen = latest.get(metric)
                    if seen is None or ts_ms > seen[0]:  # as the raw table: first stored wins
                        latest[metric] = (ts_ms, value)
            else:
                entry[3].append(decoded.code)  # type: ignore[union-attr]
        for _ in range(len(items) - max_batch):
            add_outcome(InvalidItem("over_batch_limit", f"a batch holds at most {max_batch} items"))
            refused["over_batch_limit"] += 1

        if len(straight) < len(changes):  # some were undone
            changes = [change for change in changes if change is not None]
            updates = [update for update in updates if update is not None]
            add_change, add_update = changes.append, updates.append
        # The changes whose status the registry must record: the straight road's (unless
        # undone), and the general road's, judged below.
        status_changes = [c for c in restated if c[0].id in straight]
        for asset_id, (info, newest, latest, codes) in merged.items():
            known = twin.known(asset_id)
            current: Mapping[str, float] = twin.view(asset_id, info.kind) if known else _NOTHING
            earlier: dict[str, float] = {}
            brought: dict[str, tuple[int, float]] = {}
            for metric, pair in latest.items():
                old = current.get(metric)
                if old is not None:
                    earlier[metric] = old
                if old is None or pair[0] > twin.time_of(asset_id, info.kind, metric):
                    brought[metric] = pair
            values = {metric: pair[1] for metric, pair in brought.items()}
            derived = _derive_status(values, current)
            status_after = info.status if info.status in MANUAL_STATUSES else derived
            status_before = (statuses[asset_id] if known else None) or info.status
            change = (info, newest[0], values, earlier, status_before, status_after, tuple(codes))
            add_change(change)
            if status_after != info.status:
                status_changes.append(change)
            add_update(
                (
                    asset_id,
                    newest[0],
                    status_after,
                    derived,
                    brought,
                    NEVER,
                    None,
                    values,
                    info.kind,
                )
            )
        settled = cast(list[TwinChange], changes)
        settled_updates = cast(list[Update], updates)

        refused["accepted"] = accepted
        day = now.astimezone(UTC).strftime("%Y-%m-%d")
        counter_rows = [(day, source, outcome, n) for outcome, n in refused.items() if n]
        status_updates: list[tuple[int, str]] = []
        with self._uow_factory(write=True) as uow:
            if late:
                repository.lock_rollups(uow.connection)
            repository.write_batch(
                uow.connection,
                raw=raw_rows,
                events=event_rows,
                twin_values_rows=(),
                twins=(),
                counters=counter_rows,
            )
            if late:
                repository.roll_up_series(uow.connection, late)
            for asset, *_, status_after, _events in status_changes:
                assets_services.set_status(
                    uow,
                    asset.id,
                    AssetStatus(status_after),
                    INGEST_ACTOR,
                    reason="reported by the equipment",
                )
                status_updates.append((asset.id, status_after))
            for observer in self.observers:
                observer(uow, settled, now)
            if event_rows:
                for event_observer in self.event_observers:
                    event_observer(uow, event_rows, now)
            uow.commit()

        # Committed: now the process's memory may move on.
        dirty = self._dirty
        for (
            asset_id,
            newest_ms,
            status,
            derived,
            pairs,
            row,
            columns,
            values,
            kind,
        ) in settled_updates:
            if columns is None:  # the general road, or an asset the columns do not hold yet
                if pairs is None:
                    twin.record(asset_id, kind, newest_ms, values)
                else:
                    for metric, (ts_ms, value) in pairs.items():
                        twin.record_one(asset_id, kind, metric, ts_ms, value)
                    self._flush_all.add(asset_id)  # a value may be older than the last flush
                twin.set_state(asset_id, newest_ms, status, derived)
            else:  # the straight road, in line: the change's values share one time
                for metric, value in values.items():
                    column = columns.get(metric)
                    if column is None:
                        column = twin.column(kind, metric)
                    column[0][row] = value
                    column[1][row] = newest_ms
                last_seen[asset_id] = newest_ms
                statuses[asset_id] = status
                derived_of[asset_id] = derived
            dirty[asset_id] = None
        for asset_id, status in status_updates:
            self.directory.set_status(asset_id, status)
        return BatchResult(outcomes, accepted=accepted, rejected=len(outcomes) - accepted)


STATUS_METRICS = frozenset({"online", *FAULT_FLAGS})
_NOTHING: Mapping[str, float] = MappingProxyType({})


def _directory_rows(
    uow: UnitOfWork, ref: str | None = None
) -> Iterator[tuple[int, str, str, str, int | None, int | None, str]]:
    a = assets_repository.assets.c
    query = select(
        a.id, a.external_ref, a.kind, a.commune_insee, a.maintainer_id, a.parent_id, a.status
    )
    if ref is not None:
        query = query.where(
            or_(a.external_ref == ref, a.id == int(ref))
            if ref.isdigit() and len(ref) < 18
            else a.external_ref == ref
        )
    for row in uow.connection.execution_options(stream_results=True, yield_per=20_000).execute(
        query
    ):
        yield int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], row[5], str(row[6])


def _derive_status(brought: Mapping[str, float], current: Mapping[str, float]) -> str:
    """The status the asset's values imply once this batch's are merged over the twin's."""

    def value_of(metric: str) -> float | None:
        found = brought.get(metric)
        return current.get(metric) if found is None else found

    return derive_status(value_of)


def _write_scope(principal: Principal | None) -> Scope | None:
    """The equipment a device key may send for (``policy.telemetry_scope``: its telemetry:write
    scopes within what its organisation looks after); None: the platform's own senders, which
    send for any. A key without telemetry:write sends for nothing, item by item refused."""
    if principal is None or principal.kind is not ActorKind.API_KEY:
        return None
    try:
        return telemetry_scope(principal)
    except Forbidden:
        return Scope(communes=())


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
    end_hour = _ms(now) // repository.HOUR_MS * repository.HOUR_MS
    start_hour = end_hour - _whole_ms(recompute)
    rows = repository.roll_up(uow.connection, start_hour, end_hour)
    overrides = raw_retention_by_metric or {}
    # Whole days go at once on PostgreSQL; what remains (SQLite, the default partition, metrics
    # kept longer or shorter) is deleted row by row.
    longest = max([raw_retention, *overrides.values()])
    dropped = repository.drop_partitions_before(uow.connection, _ms(now - longest))
    raw_deleted = repository.delete_raw_before(
        uow.connection, _ms(now - raw_retention), except_metrics=overrides
    )
    for metric, keep in overrides.items():
        raw_deleted += repository.delete_raw_before(
            uow.connection, _ms(now - keep), metrics=[metric]
        )
    hourly_deleted = repository.delete_hourly_before(uow.connection, _ms(now - rollup_retention))
    events_deleted = repository.delete_events_before(uow.connection, _ms(now - rollup_retention))
    # Last: a new partition locks the raw table until the commit, which follows at once.
    partitions_made = prepare_partitions(uow, _ms(now), _ms(now - longest))
    return MaintenanceReport(
        hours_rolled=(end_hour - start_hour) // repository.HOUR_MS,
        rollup_rows=rows,
        raw_deleted=raw_deleted,
        partitions_dropped=dropped,
        partitions_made=partitions_made,
        hourly_deleted=hourly_deleted,
        events_deleted=events_deleted,
    )
