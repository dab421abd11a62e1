"""What an ingest process holds in memory: the asset directory and the twin.

Both hold every asset of the metropolis — 360,000 at scale 10 — for the life of the process, so
they are laid out for size as much as for speed:

- the directory keeps one small record per asset, with the strings it repeats (kind, commune,
  status) and the ids it repeats (maintainer, parent) shared rather than copied per asset;
- the twin is a column store: per asset kind, one pair of flat arrays per metric (the latest
  value, and when it was measured), an asset's row in its kind's columns, and flat arrays of
  last-seen times and statuses indexed by asset id. About 16 bytes per reported metric and
  25 per asset, where a dictionary of Python objects per asset cost ten times as much.

Nothing here touches the database: ``IngestPipeline`` (services) loads and writes them.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

__all__ = ["AssetDirectory", "AssetInfo", "Twin", "TwinView"]

NEVER = -1  # a time meaning "never reported"


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

    Built from the registry once per process, so that resolving a reading costs a dictionary
    lookup, not a query; assets added later are fetched on first sight (``add``).
    """

    def __init__(self) -> None:
        self._by_ref: dict[str, AssetInfo] = {}
        self._by_id: list[AssetInfo | None] = []
        self._shared: dict[object, object] = {}

    def _share(self, value: object) -> object:
        """One object per distinct value (a commune code, a maintainer id), not one per asset."""
        if isinstance(value, str):
            return sys.intern(value)
        return self._shared.setdefault(value, value)

    def info(
        self,
        asset_id: int,
        external_ref: str,
        kind: str,
        commune: str,
        maintainer_id: int | None,
        parent_id: int | None,
        status: str,
    ) -> AssetInfo:
        share = self._share
        return AssetInfo(
            asset_id,
            external_ref,
            share(kind),  # type: ignore[arg-type]
            share(commune),  # type: ignore[arg-type]
            share(maintainer_id),  # type: ignore[arg-type]
            share(parent_id),  # type: ignore[arg-type]
            share(status),  # type: ignore[arg-type]
        )

    def replace_all(self, infos: Iterable[AssetInfo]) -> None:
        by_ref: dict[str, AssetInfo] = {}
        by_id: list[AssetInfo | None] = []
        for info in infos:
            by_ref[info.external_ref] = info
            if info.id >= len(by_id):
                by_id.extend([None] * (info.id + 1 - len(by_id)))
            by_id[info.id] = info
        self._by_ref, self._by_id = by_ref, by_id

    def add(self, info: AssetInfo) -> None:
        by_id = self._by_id
        if info.id >= len(by_id):
            by_id.extend([None] * (info.id + 1 - len(by_id)))
        by_id[info.id] = info
        self._by_ref[info.external_ref] = info

    def resolve(self, ref: str) -> AssetInfo | None:
        found = self._by_ref.get(ref)
        if found is None and ref.isdigit():
            found = self.by_id(int(ref))
        return found

    def by_id(self, asset_id: int) -> AssetInfo | None:
        by_id = self._by_id
        return by_id[asset_id] if 0 <= asset_id < len(by_id) else None

    def set_status(self, asset_id: int, status: str) -> None:
        info = self.by_id(asset_id)
        if info is not None:
            self.add(
                AssetInfo(
                    info.id,
                    info.external_ref,
                    info.kind,
                    info.commune,
                    info.maintainer_id,
                    info.parent_id,
                    sys.intern(status),
                )
            )

    def __iter__(self) -> Iterator[AssetInfo]:
        return iter(self._by_ref.values())

    def __len__(self) -> int:
        return len(self._by_ref)


Columns = dict[str, tuple["array[float]", "array[int]"]]  # metric → (values, times)


class TwinView(Mapping[str, float]):
    """One asset's latest values, read in place from its kind's columns (no copy)."""

    __slots__ = ("_columns", "_row")

    def __init__(self, columns: Columns, row: int) -> None:
        self._columns = columns
        self._row = row

    def get(self, metric: str, default: float | None = None) -> float | None:  # type: ignore[override]
        column = self._columns.get(metric)
        if column is None or column[1][self._row] == NEVER:
            return default
        return column[0][self._row]

    def __getitem__(self, metric: str) -> float:
        value = self.get(metric)
        if value is None:
            raise KeyError(metric)
        return value

    def __iter__(self) -> Iterator[str]:
        row = self._row
        return (metric for metric, (_, times) in self._columns.items() if times[row] != NEVER)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Twin:
    """The latest value and time of every metric of every asset, its last contact and status."""

    def __init__(self) -> None:
        self.columns: dict[str, Columns] = {}  # kind → its columns
        self._kind_rows: dict[str, int] = {}  # kind → rows allocated
        self.row_index = array("q")  # asset id → its row in its kind's columns (NEVER: none yet)
        self.last_seen = array("q")  # asset id → last contact, ms (NEVER: never heard of)
        self.status: list[str | None] = []  # asset id → status the registry shows
        self.derived: list[str | None] = []  # asset id → status its values alone imply

    # --- layout -------------------------------------------------------------------------------

    def _grow(self, asset_id: int) -> None:
        missing = asset_id + 1 - len(self.row_index)
        if missing > 0:
            self.row_index.extend([NEVER] * missing)
            self.last_seen.extend([NEVER] * missing)
            self.status.extend([None] * missing)
            self.derived.extend([None] * missing)

    def reserve(self, assets: Iterable[tuple[int, str]]) -> None:
        """Give rows to these (asset id, kind) at once: the columns are then allocated once."""
        for asset_id, kind in assets:
            self.row_of(asset_id, kind)

    def row_of(self, asset_id: int, kind: str) -> int:
        """The asset's row in its kind's columns, given one on first use."""
        if asset_id >= len(self.row_index):
            self._grow(asset_id)
        row = self.row_index[asset_id]
        if row == NEVER:
            row = self._kind_rows.get(kind, 0)
            self._kind_rows[kind] = row + 1
            self.row_index[asset_id] = row
            for values, times in self.columns.setdefault(sys.intern(kind), {}).values():
                values.append(0.0)
                times.append(NEVER)
        return row

    def column(self, kind: str, metric: str) -> tuple[array[float], array[int]]:
        columns = self.columns.setdefault(sys.intern(kind), {})
        found = columns.get(metric)
        if found is None:
            size = self._kind_rows.get(kind, 0)
            found = columns[sys.intern(metric)] = (array("d", bytes(8 * size)), array("q"))
            found[1].extend([NEVER] * size)
        return found

    # --- reading ------------------------------------------------------------------------------

    def known(self, asset_id: int) -> bool:
        return asset_id < len(self.status) and self.status[asset_id] is not None

    def view(self, asset_id: int, kind: str) -> TwinView:
        return TwinView(self.columns.setdefault(kind, {}), self.row_of(asset_id, kind))

    def latest(self, asset_id: int, kind: str) -> dict[str, tuple[int, float]]:
        """Every metric the asset reported: (when, value)."""
        if not self.known(asset_id) or self.row_index[asset_id] == NEVER:
            return {}
        row = self.row_index[asset_id]
        return {
            metric: (times[row], values[row])
            for metric, (values, times) in self.columns.get(kind, {}).items()
            if times[row] != NEVER
        }

    def values_since(self, asset_id: int, kind: str, since_ms: int) -> list[tuple[str, int, float]]:
        """The asset's metrics last reported after ``since_ms``: (metric, time, value)."""
        row = self.row_index[asset_id] if asset_id < len(self.row_index) else NEVER
        if row == NEVER:
            return []
        return [
            (metric, times[row], values[row])
            for metric, (values, times) in self.columns.get(kind, {}).items()
            if times[row] > since_ms
        ]

    def __len__(self) -> int:
        return sum(1 for status in self.status if status is not None)

    # --- writing ------------------------------------------------------------------------------

    def record(self, asset_id: int, kind: str, ts_ms: int, values: Mapping[str, float]) -> None:
        """Values measured together at ``ts_ms``, newer than what the twin holds for them."""
        row = self.row_of(asset_id, kind)
        columns = self.columns[kind]
        for metric, value in values.items():
            column = columns.get(metric)
            if column is None:
                column = self.column(kind, metric)
            column[0][row] = value
            column[1][row] = ts_ms

    def record_one(self, asset_id: int, kind: str, metric: str, ts_ms: int, value: float) -> bool:
        """One value, kept only if newer than the one held; whether it was."""
        row = self.row_of(asset_id, kind)
        values, times = self.column(kind, metric)
        if ts_ms <= times[row]:
            return False
        values[row] = value
        times[row] = ts_ms
        return True

    def time_of(self, asset_id: int, kind: str, metric: str) -> int:
        column = self.columns.get(kind, {}).get(metric)
        row = self.row_index[asset_id] if asset_id < len(self.row_index) else NEVER
        if column is None or row == NEVER:
            return NEVER
        return column[1][row]

    def set_state(self, asset_id: int, last_seen_ms: int, status: str, derived: str) -> None:
        if asset_id >= len(self.status):
            self._grow(asset_id)
        if last_seen_ms > self.last_seen[asset_id]:
            self.last_seen[asset_id] = last_seen_ms
        self.status[asset_id] = sys.intern(status)
        self.derived[asset_id] = derived
