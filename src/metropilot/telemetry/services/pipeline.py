"""The ingest pipeline: one per process, the directory and the twin kept between batches.

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
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from metropilot.accounts.policy import Principal
from metropilot.assets import queries as assets_queries
from metropilot.assets import services as assets_services
from metropilot.assets.model import AssetStatus
from metropilot.db.uow import UnitOfWorkFactory
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.clock import utcnow
from metropilot.telemetry import repository
from metropilot.telemetry.services.batch import (
    NOTHING,
    Batch,
    BatchObserver,
    BatchResult,
    EventObserver,
    TwinChange,
    Update,
    derive_merged_status,
)
from metropilot.telemetry.services.maintenance import prepare_partitions
from metropilot.telemetry.services.times import ms, whole_ms
from metropilot.telemetry.twin import NEVER, AssetDirectory, AssetInfo, Twin

__all__ = ["INGEST_ACTOR", "IngestPipeline"]

INGEST_ACTOR = Actor(ActorKind.SYSTEM, "telemetry", sector="public")
# How long a reference found nowhere is not looked up again.
UNKNOWN_REF_RETRY_S = 60.0
# After a crash the twin is rebuilt from the raw readings of this last stretch of time.
REPLAY_MS = 60 * 60 * 1000


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
        now_ms = ms(now or utcnow())
        with self._uow_factory(write=True) as uow:
            prepare_partitions(uow, now_ms, now_ms - whole_ms(self.raw_retention))
            uow.commit()
        directory, twin = self.directory, Twin()
        with self._uow_factory() as uow:
            conn = uow.connection
            directory.replace_all(
                directory.info(*row) for row in assets_queries.directory_rows(conn)
            )
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
                twin.derived[info.id] = derive_merged_status(NOTHING, twin.view(info.id, info.kind))
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
            rows = list(assets_queries.directory_rows(uow.connection, ref))
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
        batch = Batch(
            self.twin,
            self.directory,
            self._newly_registered,
            principal=principal,
            now=now,
            raw_retention=self.raw_retention,
            max_batch=self.max_batch,
        )
        batch.read(items)
        changes, updates = batch.settle()
        status_updates = self._store(batch, changes, source, now)
        # Committed: now the process's memory may move on.
        self._apply(updates)
        for asset_id, status in status_updates:
            self.directory.set_status(asset_id, status)
        return batch.result()

    def _store(
        self, batch: Batch, changes: Sequence[TwinChange], source: str, now: datetime
    ) -> list[tuple[int, str]]:
        """Write the batch in one transaction: its raw readings and events, the day's counters,
        the rollups of late hours, the statuses the registry must record, and what the
        observers write in reaction. Returns the statuses the directory takes once committed."""
        refused = batch.refused
        refused["accepted"] = batch.accepted
        day = now.astimezone(UTC).strftime("%Y-%m-%d")
        counter_rows = [(day, source, outcome, n) for outcome, n in refused.items() if n]
        late, event_rows = batch.late, batch.event_rows
        status_updates: list[tuple[int, str]] = []
        with self._uow_factory(write=True) as uow:
            if late:
                repository.lock_rollups(uow.connection)
            repository.write_batch(
                uow.connection,
                raw=batch.raw_rows,
                events=event_rows,
                twin_values_rows=(),
                twins=(),
                counters=counter_rows,
            )
            if late:
                repository.roll_up_series(uow.connection, late)
            for asset, *_, status_after, _events in batch.status_changes:
                assets_services.set_status(
                    uow,
                    asset.id,
                    AssetStatus(status_after),
                    INGEST_ACTOR,
                    reason="reported by the equipment",
                )
                status_updates.append((asset.id, status_after))
            for observer in self.observers:
                observer(uow, changes, now)
            if event_rows:
                for event_observer in self.event_observers:
                    event_observer(uow, event_rows, now)
            uow.commit()
        return status_updates

    def _apply(self, updates: Sequence[Update]) -> None:
        """Move the twin on by a committed batch's updates, and mark those assets to flush."""
        twin, dirty = self.twin, self._dirty
        statuses, last_seen, derived_of = twin.status, twin.last_seen, twin.derived
        for asset_id, newest_ms, status, derived, pairs, row, columns, values, kind in updates:
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
