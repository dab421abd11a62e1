"""One batch on its way through the pipeline: what its items are, and what they change.

The hot path of the platform: every reading passes here. The common case — an asset once in
the batch, with a reading newer than its twin — takes the straight road, its twin change made as
the reading is read; an asset seen twice, a late reading or an event takes the general road,
merged by time once the whole batch has been read. Nothing here writes: the pipeline stores what
a batch gathered, then applies its updates to the twin once committed.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol, cast

import orjson

from metropilot.accounts.policy import Principal, telemetry_scope
from metropilot.assets.model import AssetStatus
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import ActorKind
from metropilot.shared.errors import Forbidden
from metropilot.shared.scope import Scope
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
from metropilot.telemetry.services.maintenance import ROLLUP_RECOMPUTE
from metropilot.telemetry.services.times import iso, ms, whole_ms
from metropilot.telemetry.twin import NEVER, AssetDirectory, AssetInfo, Twin, TwinView

__all__ = [
    "MANUAL_STATUSES",
    "STATUS_METRICS",
    "Batch",
    "BatchObserver",
    "BatchResult",
    "EventObserver",
    "TwinChange",
    "Update",
    "derive_merged_status",
]

# Statuses people set on purpose; telemetry does not overrule them.
MANUAL_STATUSES = frozenset({AssetStatus.MAINTENANCE.value, AssetStatus.DECOMMISSIONED.value})
STATUS_METRICS = frozenset({"online", *FAULT_FLAGS})
HOUR_MS = repository.HOUR_MS
NOTHING: Mapping[str, float] = MappingProxyType({})


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

# The general road's record of one asset: (info, [newest ts], {metric: (ts, value)}, [codes]).
Merged = tuple[AssetInfo, list[int], dict[str, tuple[int, float]], list[str]]


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


def derive_merged_status(brought: Mapping[str, float], current: Mapping[str, float]) -> str:
    """The status the asset's values imply once this batch's are merged over the twin's."""

    def value_of(metric: str) -> float | None:
        found = brought.get(metric)
        return current.get(metric) if found is None else found

    return derive_status(value_of)


def write_scope(principal: Principal | None) -> Scope | None:
    """The equipment a device key may send for (``policy.telemetry_scope``: its telemetry:write
    scopes within what its organisation looks after); None: the platform's own senders, which
    send for any. A key without telemetry:write sends for nothing, item by item refused."""
    if principal is None or principal.kind is not ActorKind.API_KEY:
        return None
    try:
        return telemetry_scope(principal)
    except Forbidden:
        return Scope(communes=())


class Batch:
    """What one batch brings, gathered item by item (``read``) and judged against the twin
    (``settle``): the rows to store, the changes for the observers, the twin's updates."""

    __slots__ = (
        "accepted",
        "changes",
        "directory",
        "event_rows",
        "late",
        "max_batch",
        "merged",
        "newly_registered",
        "now_ms",
        "oldest_ms",
        "outcomes",
        "raw_rows",
        "refused",
        "restated",
        "scope",
        "seen_timestamps",
        "settled_ms",
        "status_changes",
        "straight",
        "twin",
        "updates",
    )

    def __init__(
        self,
        twin: Twin,
        directory: AssetDirectory,
        newly_registered: Callable[[str], AssetInfo | None],
        *,
        principal: Principal | None,
        now: datetime,
        raw_retention: timedelta,
        max_batch: int,
    ) -> None:
        self.twin, self.directory, self.newly_registered = twin, directory, newly_registered
        self.max_batch = max_batch
        self.now_ms = now_ms = ms(now)
        self.oldest_ms = now_ms - whole_ms(raw_retention)
        # Readings of the hours before this one are too late for the maintenance, which only
        # recomputes the rollups of the last ROLLUP_RECOMPUTE (a gateway back after a week): the
        # batch recomputes those of their series itself. The oldest hour the maintenance still
        # recomputes is included, as its next run may fall in the next hour.
        self.settled_ms = now_ms // HOUR_MS * HOUR_MS - whole_ms(ROLLUP_RECOMPUTE) + HOUR_MS
        self.late: dict[int, set[tuple[int, str]]] = {}  # hour → its series (asset id, metric)
        self.outcomes: list[int | InvalidItem] = []
        self.refused: Counter[str] = Counter()
        self.accepted = 0
        self.raw_rows: list[tuple[int, str, int, float]] = []
        self.event_rows: list[tuple[int, int, str, str]] = []
        self.changes: list[TwinChange | None] = []
        self.updates: list[Update | None] = []
        # asset id → its change's position, while the asset took the straight road
        self.straight: dict[int, int] = {}
        # straight-road changes whose status differs from the registry's (if not undone)
        self.restated: list[TwinChange] = []
        # asset id → its record on the general road
        self.merged: dict[int, Merged] = {}
        # the changes whose status the registry must record (``settle``)
        self.status_changes: list[TwinChange] = []
        self.scope = write_scope(principal)
        self.seen_timestamps: dict[str, int] = {}

    # step 1: read the items -------------------------------------------------------------------

    def read(self, items: Sequence[Any]) -> None:
        """Decode, validate and resolve every item, and fold it into its asset's change."""
        max_batch = self.max_batch
        decode, resolve, fold, first = self.decode, self.resolve, self.fold, self.first_reading
        outcomes, refused, straight, merged = (
            self.outcomes,
            self.refused,
            self.straight,
            self.merged,
        )
        add_outcome, add_raw, add_event = (
            outcomes.append,
            self.raw_rows.append,
            self.event_rows.append,
        )
        settled_ms, late = self.settled_ms, self.late
        accepted = 0
        for item in items[:max_batch] if len(items) > max_batch else items:
            try:
                decoded = decode(item)
                info = resolve(decoded.asset_ref)
            except InvalidItem as exc:
                add_outcome(exc)
                refused[exc.reason] += 1
                continue
            accepted += 1
            asset_id = info.id
            add_outcome(asset_id)
            if type(decoded) is DecodedReading:
                _ref, ts_ms, values = decoded
                for metric, value in values.items():
                    add_raw((asset_id, metric, ts_ms, value))
                if ts_ms < settled_ms:
                    hour = late.setdefault(ts_ms // HOUR_MS * HOUR_MS, set())
                    hour.update((asset_id, metric) for metric in values)
                if asset_id not in straight and asset_id not in merged:
                    first(info, ts_ms, values)
                    continue
            else:
                event = cast(DecodedEvent, decoded)
                add_event((asset_id, event.ts_ms, event.code, orjson.dumps(event.payload).decode()))
            fold(info, decoded)
        self.accepted = accepted
        for _ in range(len(items) - max_batch):
            add_outcome(InvalidItem("over_batch_limit", f"a batch holds at most {max_batch} items"))
            refused["over_batch_limit"] += 1

    def decode(self, item: Any) -> DecodedReading | DecodedEvent:
        """The item checked (what the fast road decoded already, only its time); or why not."""
        item_type = type(item)
        if item_type is DecodedReading or item_type is DecodedEvent:
            ts_ms = item.ts_ms
            if ts_ms - self.now_ms > MAX_FUTURE_MS or ts_ms < self.oldest_ms:
                raise outside_window(iso(ts_ms), ts_ms, self.now_ms, self.oldest_ms)
            return cast("DecodedReading | DecodedEvent", item)
        if item_type is InvalidItem:
            raise item
        return decode_item(item, self.now_ms, self.oldest_ms, self.seen_timestamps)

    def resolve(self, ref: str) -> AssetInfo:
        """The asset an item is for, if the sender may write for it."""
        info = (
            self.directory._by_ref.get(ref)
            or self.directory.resolve(ref)
            or self.newly_registered(ref)
        )
        # An asset outside the key's scope is answered as one that does not exist: a key
        # cannot learn which equipment is registered beyond what it may write.
        scope = self.scope
        if info is None or (
            scope is not None and not scope.allows(info.commune, info.maintainer_id, info.kind)
        ):
            raise InvalidItem("unknown_asset", f"no asset {ref!r}")
        return info

    # step 2: the straight road -----------------------------------------------------------------

    def first_reading(self, info: AssetInfo, ts_ms: int, values: dict[str, float]) -> None:
        """An asset's first reading in the batch: its change made now if the reading is newer
        than all the twin holds (the straight road), else handed to the general road."""
        asset_id, kind, twin = info.id, info.kind, self.twin
        statuses = twin.status
        status_before = statuses[asset_id] if asset_id < len(statuses) else None
        previous: Mapping[str, float]
        if status_before is None:  # first words from this asset
            previous = NOTHING
            status_before = info.status
            derived = (
                "ok" if STATUS_METRICS.isdisjoint(values) else derive_merged_status(values, NOTHING)
            )
            row, columns = NEVER, None
        elif ts_ms > twin.last_seen[asset_id]:  # newer than all the twin holds
            row, columns = twin.row_index[asset_id], twin.columns.get(kind)
            if row == NEVER or columns is None:
                # Known, yet no row in its kind's columns (an asset registered since the
                # warm-up whose first words were an event): the twin gives it one now, and
                # records it after the commit by that row.
                previous = twin.view(asset_id, kind)
                row, columns = NEVER, None
            else:
                previous = TwinView(columns, row)
            derived = (
                twin.derived[asset_id] or "ok"
                if STATUS_METRICS.isdisjoint(values)
                else derive_merged_status(values, previous)
            )
        else:  # a late reading: the twin may hold newer values
            self.merged[asset_id] = (info, [ts_ms], {m: (ts_ms, v) for m, v in values.items()}, [])
            return
        registered = info.status
        status_after = registered if registered in MANUAL_STATUSES else derived
        self.straight[asset_id] = len(self.changes)
        change: TwinChange = (info, ts_ms, values, previous, status_before, status_after, ())
        self.changes.append(change)
        if status_after != registered:
            self.restated.append(change)
        self.updates.append(
            (asset_id, ts_ms, status_after, derived, None, row, columns, values, kind)
        )

    # step 3: the general road (several items of one asset, late readings, events) --------------

    def fold(self, info: AssetInfo, decoded: DecodedReading | DecodedEvent) -> None:
        """Fold an item into its asset's merged record, the latest value of each metric kept."""
        asset_id, ts_ms = info.id, decoded.ts_ms
        entry = self.merged.get(asset_id)
        if entry is None:
            entry = self.merged[asset_id] = (info, [ts_ms], {}, [])
            position = self.straight.pop(asset_id, None)
            if position is not None:  # seen before on the straight road: undo that
                first = self.changes[position]
                assert first is not None
                self.changes[position] = self.updates[position] = None
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
            entry[3].append(cast(DecodedEvent, decoded).code)

    def settle(self) -> tuple[list[TwinChange], list[Update]]:
        """The batch's changes and twin updates: the straight road's (unless undone), then the
        general road's, each judged against what the twin holds."""
        straight, twin = self.straight, self.twin
        changes, updates = self.changes, self.updates
        if len(straight) < len(changes):  # some were undone
            changes = [change for change in changes if change is not None]
            updates = [update for update in updates if update is not None]
        self.status_changes = [c for c in self.restated if c[0].id in straight]
        for asset_id, (info, newest, latest, codes) in self.merged.items():
            known = twin.known(asset_id)
            current: Mapping[str, float] = twin.view(asset_id, info.kind) if known else NOTHING
            earlier: dict[str, float] = {}
            brought: dict[str, tuple[int, float]] = {}
            for metric, pair in latest.items():
                old = current.get(metric)
                if old is not None:
                    earlier[metric] = old
                if old is None or pair[0] > twin.time_of(asset_id, info.kind, metric):
                    brought[metric] = pair
            values = {metric: pair[1] for metric, pair in brought.items()}
            derived = derive_merged_status(values, current)
            status_after = info.status if info.status in MANUAL_STATUSES else derived
            status_before = (twin.status[asset_id] if known else None) or info.status
            change = (info, newest[0], values, earlier, status_before, status_after, tuple(codes))
            changes.append(change)
            if status_after != info.status:
                self.status_changes.append(change)
            updates.append(
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
        return cast(list[TwinChange], changes), cast(list[Update], updates)

    def result(self) -> BatchResult:
        outcomes = self.outcomes
        return BatchResult(outcomes, accepted=self.accepted, rejected=len(outcomes) - self.accepted)
