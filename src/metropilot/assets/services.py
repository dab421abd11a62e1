"""Equipment registry use cases: the only code that changes assets.

Routes, the CLI, importers and the synthetic generator all go through these functions, which
validate, write, record the history of every change and emit events for the other contexts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from metropilot.accounts import queries as accounts_queries
from metropilot.assets import repository
from metropilot.assets.model import (
    PARENT_KINDS,
    Asset,
    AssetChange,
    AssetDraft,
    AssetKind,
    AssetsImported,
    AssetStatus,
    AssetStatusChanged,
    ChangeAction,
    diff_assets,
    validate_draft_shape,
)
from metropilot.assets.repository import AssetFilter
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput, NotFound, Problem
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.territory import services as territory_services

__all__ = [
    "AssetFilter",
    "AssetStatusChanged",
    "AssetsImported",
    "ImportReport",
    "asset_detail",
    "get_asset",
    "import_assets",
    "iter_assets",
    "list_asset_documents",
    "list_assets",
    "relocate_all",
    "set_status",
    "summary",
]

MAX_LISTED_PROBLEMS = 1000
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_refs: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


class _Problems:
    """Collects every problem of an import so one run tells the user all that is wrong."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.count = 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.items) < MAX_LISTED_PROBLEMS:
            self.items.append(problem)

    def from_error(self, exc: InvalidInput, where: str) -> None:
        details = exc.details if isinstance(exc.details, list) and exc.details else None
        if details:
            for item in details:
                self.add(Problem(item.get("loc", where), item.get("message", exc.message)))
        else:
            self.add(Problem(where, exc.message))

    def raise_if_any(self, source: str) -> None:
        if not self.count:
            return
        first = self.items[0]
        raise InvalidInput(
            f"{source}: {self.count} problem(s), nothing imported. First: {first['loc']}: "
            f"{first['message']}",
            details=self.items,
            code="import_rejected",
        )


def import_assets(
    uow: UnitOfWork,
    drafts: Sequence[AssetDraft],
    actor: Actor,
    *,
    source: str = "import",
    progress: Progress | None = None,
) -> ImportReport:
    """Create or update assets by external reference, all or nothing.

    Every problem in the input is reported at once, each naming where it is (line, feature or
    reference) and which field; if there is any, nothing is written.
    """
    conn = uow.connection
    problems = _Problems()
    clean = _validated(drafts, problems, progress)
    located = _located(uow, clean, problems)
    org_ids = _organisation_ids(conn, clean, problems)
    in_file_kinds = {d.external_ref: d.kind for d in clean}
    stored_parents = _check_parents(conn, clean, in_file_kinds, problems)
    problems.raise_if_any(source)

    existing = repository.existing_by_ref(conn, in_file_kinds)
    plan = _ImportPlan(now=utcnow(), actor=actor.label())
    for draft, commune in zip(clean, located, strict=True):
        assert commune is not None
        plan.add(draft, commune, existing.get(draft.external_ref), org_ids)

    to_write = len(plan.new_rows) + len(plan.updated_rows)
    if progress:
        progress("Writing assets", 0, to_write)
    ids_by_ref = {ref: a.id for ref, a in existing.items()}
    ids_by_ref.update({ref: i for ref, (i, _) in stored_parents.items()})
    new_ids = _insert_parents_first(
        conn,
        plan.new_rows,
        ids_by_ref,
        (lambda done: progress("Writing assets", done, to_write)) if progress else None,
    )
    repository.update_asset_rows(conn, plan.updated_rows)
    ids_by_ref.update(new_ids)
    moved: dict[int, int | None] = {}
    for draft in clean:
        before = existing.get(draft.external_ref)
        parent = ids_by_ref[draft.parent_ref] if draft.parent_ref else None
        if before is not None and before.parent_id != parent:
            moved[before.id] = parent
    repository.set_parents(conn, moved)
    _record(uow, actor, plan, new_ids)
    if progress:
        progress("Writing assets", to_write, to_write)
    return plan.report


def _validated(
    drafts: Sequence[AssetDraft], problems: _Problems, progress: Progress | None
) -> list[AssetDraft]:
    """The drafts whose shape is right, each reference once (later duplicates are problems)."""
    clean: list[AssetDraft] = []
    first_seen: dict[str, str] = {}
    total = len(drafts)
    for index, draft in enumerate(drafts):
        if progress and index % 2000 == 0:
            progress("Validating assets", index, total)
        try:
            checked = validate_draft_shape(draft)
        except InvalidInput as exc:
            problems.from_error(exc, draft.where)
            continue
        if checked.external_ref in first_seen:
            problems.add(
                Problem(
                    f"{draft.where}.external_ref",
                    f"duplicate external reference {checked.external_ref!r} "
                    f"(first at {first_seen[checked.external_ref]})",
                )
            )
            continue
        first_seen[checked.external_ref] = draft.where
        clean.append(checked)
    if progress:
        progress("Validating assets", total, total)
    return clean


def _located(uow: UnitOfWork, clean: list[AssetDraft], problems: _Problems) -> list[str | None]:
    """The commune of each draft (None, and a problem, outside the metropolis)."""
    communes = territory_services.locator(uow)
    if not len(communes):
        raise InvalidInput("the territory has no communes yet: generate or import them first")
    located = communes.locate_many([(d.lon, d.lat) for d in clean])
    for draft, commune in zip(clean, located, strict=True):
        if commune is None:
            problems.add(
                Problem(
                    f"{draft.where}.geometry",
                    f"point ({draft.lon:.6f}, {draft.lat:.6f}) is outside the metropolis",
                )
            )
    return located


def _organisation_ids(
    conn: Connection, clean: list[AssetDraft], problems: _Problems
) -> dict[str, int]:
    """The organisations' ids by code; a draft naming an unknown maintainer is a problem."""
    org_ids: dict[str, int] = {
        org.code: org.id for org in accounts_queries.organisations(conn) if org.id is not None
    }
    for draft in clean:
        if draft.maintainer is not None and draft.maintainer not in org_ids:
            problems.add(
                Problem(f"{draft.where}.maintainer", f"unknown organisation {draft.maintainer!r}")
            )
    return org_ids


def _check_parents(
    conn: Connection,
    clean: list[AssetDraft],
    in_file_kinds: dict[str, AssetKind],
    problems: _Problems,
) -> dict[str, tuple[int, str]]:
    """Each parent is in the file or the registry and of a kind the child may hang off; returns
    the stored parents the file names (id and kind by reference)."""
    wanted_parents = {d.parent_ref for d in clean if d.parent_ref} - set(in_file_kinds)
    stored_parents = repository.ids_by_ref(conn, wanted_parents)
    for draft in clean:
        if not draft.parent_ref:
            continue
        if draft.parent_ref == draft.external_ref:
            problems.add(Problem(f"{draft.where}.parent", "an asset cannot be its own parent"))
            continue
        parent_kind: AssetKind | None = in_file_kinds.get(draft.parent_ref)
        if parent_kind is None and draft.parent_ref in stored_parents:
            parent_kind = AssetKind(stored_parents[draft.parent_ref][1])
        if parent_kind is None:
            problems.add(
                Problem(f"{draft.where}.parent", f"unknown parent asset {draft.parent_ref!r}")
            )
        elif parent_kind not in PARENT_KINDS.get(draft.kind, frozenset()):
            problems.add(
                Problem(
                    f"{draft.where}.parent",
                    f"a {draft.kind.value} cannot hang off a {parent_kind.value}",
                )
            )
    return stored_parents


@dataclass
class _ImportPlan:
    """What an import writes: rows to insert and update, their history, the status changes."""

    now: datetime
    actor: str
    report: ImportReport = field(default_factory=ImportReport)
    new_rows: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    updated_rows: list[dict[str, Any]] = field(default_factory=list)
    history: list[AssetChange] = field(default_factory=list)
    pending_created: list[tuple[AssetDraft, str]] = field(default_factory=list)
    status_events: list[AssetStatusChanged] = field(default_factory=list)

    def add(
        self, draft: AssetDraft, commune: str, before: Asset | None, org_ids: dict[str, int]
    ) -> None:
        if before is None:
            status = draft.status or AssetStatus.OK
            row = _row(draft, commune, org_ids, status, self.now, version=1)
            row["created_at"] = self.now
            self.new_rows.append((row, draft.parent_ref))
            self.pending_created.append((draft, commune))
            return
        status = draft.status or before.status
        changes = diff_assets(before, _as_asset(draft, commune, before, status))
        if not changes:
            self.report.unchanged += 1
            return
        row = _row(draft, commune, org_ids, status, self.now, version=before.version + 1)
        row["id"] = before.id
        row.pop("parent_id")  # parents are settled once every asset has an id
        self.updated_rows.append(row)
        self.history.append(
            AssetChange(before.id, self.now, self.actor, ChangeAction.UPDATED, changes)
        )
        if status is not before.status:
            self.status_events.append(
                AssetStatusChanged(
                    asset_id=before.id,
                    commune_insee=commune,
                    kind=draft.kind.value,
                    maintainer_id=row["maintainer_id"],
                    before=before.status.value,
                    after=status.value,
                    actor=self.actor,
                )
            )
        self.report.updated += 1


def _record(uow: UnitOfWork, actor: Actor, plan: _ImportPlan, new_ids: dict[str, int]) -> None:
    """The history of every change, its audit entries and the import's events."""
    for draft, commune in plan.pending_created:
        created = _as_asset(draft, commune, None, draft.status or AssetStatus.OK)
        plan.history.append(
            AssetChange(
                new_ids[draft.external_ref],
                plan.now,
                plan.actor,
                ChangeAction.CREATED,
                diff_assets(None, created),
            )
        )
    repository.insert_history(uow.connection, plan.history)
    uow.audit_many(
        [
            AuditEntry(
                actor,
                f"asset.{change.action.value}",
                "asset",
                str(change.asset_id),
                change.changes,
                at=change.at,
            )
            for change in plan.history
        ]
    )
    plan.report.created = len(plan.new_rows)
    plan.report.created_refs = [d.external_ref for d, _ in plan.pending_created]
    uow.record(
        AssetsImported(created=plan.report.created, updated=plan.report.updated, actor=plan.actor)
    )
    for event in plan.status_events:
        uow.record(event)


def _insert_parents_first(
    conn: Any,
    pending: list[tuple[dict[str, Any], str | None]],
    known_ids: dict[str, int],
    written: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Insert new assets in waves so that each row's parent already has an id when it goes in.

    The kinds allowed as parents form no cycle (sensor → light → cabinet at most), so this takes
    at most three waves and no second pass of updates.
    """
    inserted: dict[str, int] = {}
    while pending:
        ready: list[dict[str, Any]] = []
        later: list[tuple[dict[str, Any], str | None]] = []
        for row, parent_ref in pending:
            parent_id = None if parent_ref is None else known_ids.get(parent_ref)
            if parent_ref is not None and parent_id is None:
                parent_id = inserted.get(parent_ref)
            if parent_ref is None or parent_id is not None:
                row["parent_id"] = parent_id
                ready.append(row)
            else:
                later.append((row, parent_ref))
        if not ready:
            raise RuntimeError("parent references form a cycle")  # excluded by PARENT_KINDS
        for start in range(0, len(ready), 5000):
            inserted.update(repository.insert_assets(conn, ready[start : start + 5000]))
            if written:
                written(len(inserted))
        pending = later
    return inserted


def _row(
    draft: AssetDraft,
    commune: str,
    org_ids: dict[str, int],
    status: AssetStatus,
    now: Any,
    *,
    version: int,
) -> dict[str, Any]:
    return {
        "external_ref": draft.external_ref,
        "kind": draft.kind.value,
        "subtype": draft.subtype,
        "name": draft.name,
        "lon": draft.lon,
        "lat": draft.lat,
        "commune_insee": commune,
        "maintainer_id": org_ids[draft.maintainer] if draft.maintainer else None,
        "parent_id": None,
        "status": status.value,
        "attributes": draft.attributes,
        "updated_at": now,
        "version": version,
    }


def _as_asset(draft: AssetDraft, commune: str, before: Asset | None, status: AssetStatus) -> Asset:
    now = utcnow()
    return Asset(
        id=before.id if before else 0,
        external_ref=draft.external_ref,
        kind=draft.kind,
        subtype=draft.subtype,
        name=draft.name,
        lon=draft.lon,
        lat=draft.lat,
        commune_insee=commune,
        status=status,
        attributes=draft.attributes,
        created_at=before.created_at if before else now,
        updated_at=now,
        maintainer_code=draft.maintainer,
        parent_ref=draft.parent_ref,
    )


def relocate_all(uow: UnitOfWork, actor: Actor) -> int:
    """Re-derive every asset's commune from the stored boundaries (after new boundaries were
    imported), recording each move. Refuses, so that the caller rolls back, when an asset would
    stand outside every commune. Returns how many assets changed commune."""
    conn = uow.connection
    rows = repository.positions(conn)
    located = territory_services.locator(uow).locate_many(
        [(lon, lat) for _, _, lon, lat, _ in rows]
    )
    outside = [
        ref for (_, ref, _, _, _), commune in zip(rows, located, strict=True) if commune is None
    ]
    if outside:
        raise InvalidInput(
            f"{len(outside)} asset(s) would stand outside every commune with these boundaries "
            f"(first: {', '.join(outside[:5])}); nothing imported",
            code="assets_outside_territory",
        )
    now = utcnow()
    moved = [
        (asset_id, ref, before, after)
        for (asset_id, ref, _, _, before), after in zip(rows, located, strict=True)
        if after != before
    ]
    repository.update_asset_rows(
        conn, [{"id": a, "commune_insee": after, "updated_at": now} for a, _, _, after in moved]
    )
    changes = [
        AssetChange(a, now, actor.label(), ChangeAction.UPDATED, {"commune_insee": [before, after]})
        for a, _, before, after in moved
    ]
    repository.insert_history(conn, changes)
    uow.audit_many(
        [
            AuditEntry(actor, "asset.relocated", "asset", str(c.asset_id), c.changes, at=now)
            for c in changes
        ]
    )
    return len(moved)


def list_assets(uow: UnitOfWork, flt: AssetFilter, limit: int) -> tuple[list[Asset], int | None]:
    """One page of assets in id order, and the id to continue after (None on the last page)."""
    rows = repository.list_assets(uow.connection, flt, limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def list_asset_documents(
    uow: UnitOfWork, flt: AssetFilter, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Like ``list_assets`` but already in the API's shape (the list endpoint's fast path)."""
    rows = repository.list_asset_documents(uow.connection, flt, limit + 1)
    if len(rows) > limit:
        return rows[:limit], int(rows[limit - 1]["id"])
    return rows, None


def iter_assets(uow: UnitOfWork, flt: AssetFilter) -> Iterator[Asset]:
    return repository.iter_assets(uow.connection, flt)


def summary(uow: UnitOfWork, flt: AssetFilter) -> dict[str, dict[str, int]]:
    conn = uow.connection
    return {
        "by_kind": repository.count_by(conn, "kind", flt),
        "by_status": repository.count_by(conn, "status", flt),
        "by_commune": repository.count_by(conn, "commune_insee", flt),
    }


def get_asset(uow: UnitOfWork, asset_id: int, scope: Scope = UNRESTRICTED) -> Asset:
    """One asset; outside the caller's scope it does not exist (404, not 403: no probing)."""
    asset = repository.get_asset(uow.connection, asset_id, scope)
    if asset is None:
        raise NotFound(f"no asset with id {asset_id}")
    return asset


def asset_detail(
    uow: UnitOfWork, asset_id: int, scope: Scope = UNRESTRICTED
) -> tuple[Asset, list[AssetChange]]:
    asset = get_asset(uow, asset_id, scope)
    return asset, repository.history_of(uow.connection, asset_id)


def set_status(
    uow: UnitOfWork, asset_id: int, status: AssetStatus, actor: Actor, *, reason: str = ""
) -> Asset:
    """Change an asset's status, recording who did it and why."""
    before = get_asset(uow, asset_id)
    if before.status is status:
        return before
    now = utcnow()
    repository.update_asset_rows(
        uow.connection,
        [
            {
                "id": asset_id,
                "status": status.value,
                "updated_at": now,
                "version": before.version + 1,
            }
        ],
    )
    changes: dict[str, list[Any]] = {"status": [before.status.value, status.value]}
    if reason:
        changes["reason"] = [None, reason]
    repository.insert_history(
        uow.connection,
        [AssetChange(asset_id, now, actor.label(), ChangeAction.STATUS_CHANGED, changes)],
    )
    uow.audit(AuditEntry(actor, "asset.status_changed", "asset", str(asset_id), changes, at=now))
    uow.record(
        AssetStatusChanged(
            asset_id=asset_id,
            commune_insee=before.commune_insee,
            kind=before.kind.value,
            maintainer_id=before.maintainer_id,
            before=before.status.value,
            after=status.value,
            actor=actor.label(),
        )
    )
    return get_asset(uow, asset_id)


# --- the command centre's map -----------------------------------------------------------------

MAP_POINTS_MAX = 4000  # a viewport with more is sent as grid cells
MAP_POINTS_ZOOM = 17  # from this zoom on, points whatever their number
MAP_CELL_PX = 48  # a cell is about this many screen pixels wide


def map_cell_deg(zoom: int) -> float:
    """Degrees of longitude a cell spans at a zoom level (256-pixel Web Mercator tiles)."""
    return 360.0 / (256 * (1 << zoom)) * MAP_CELL_PX


# Where vehicles last reported being, by asset id (the telemetry context's twin knows).
LivePositions = Callable[[Connection, Sequence[int]], dict[int, tuple[float, float]]]


def map_view(
    uow: UnitOfWork, flt: AssetFilter, zoom: int, live_positions: LivePositions | None = None
) -> dict[str, Any]:
    """What the map draws for a viewport: the assets as points when few enough, else counted
    in grid cells by kind and status (each with its assets' centroid). Vehicles are always
    points, where they last reported being (their registry position until they do)."""
    conn = uow.connection
    wants_vehicles = not flt.kinds or AssetKind.VEHICLE in flt.kinds
    fixed_kinds = [k for k in (flt.kinds or list(AssetKind)) if k is not AssetKind.VEHICLE]
    fixed = AssetFilter(**{**_filter_fields(flt), "kinds": fixed_kinds})
    total = repository.map_count(conn, fixed) if fixed_kinds else 0
    columns: dict[str, list[Any]] = {k: [] for k in ("id", "ref", "kind", "status", "lon", "lat")}

    def add_points(rows: Sequence[tuple[int, str, str, str, float, float]]) -> None:
        for row in rows:
            for name, value in zip(("id", "ref", "kind", "status", "lon", "lat"), row, strict=True):
                columns[name].append(value)

    clusters: list[dict[str, Any]] = []
    cell_deg = map_cell_deg(zoom)
    as_points = total <= MAP_POINTS_MAX or zoom >= MAP_POINTS_ZOOM
    if not fixed_kinds:
        pass
    elif as_points:
        add_points(repository.map_points(conn, fixed))
    else:
        cells: dict[tuple[int, int], dict[str, Any]] = {}
        for x, y, kind, status, count, sum_lon, sum_lat in repository.map_cells(
            conn, fixed, cell_deg
        ):
            cell = cells.setdefault(
                (x, y), {"count": 0, "lon": 0.0, "lat": 0.0, "statuses": {}, "kinds": {}}
            )
            cell["count"] += count
            cell["lon"] += sum_lon
            cell["lat"] += sum_lat
            cell["statuses"][status] = cell["statuses"].get(status, 0) + count
            cell["kinds"][kind] = cell["kinds"].get(kind, 0) + count
        for cell in cells.values():
            cell["lon"] = round(cell["lon"] / cell["count"], 6)
            cell["lat"] = round(cell["lat"] / cell["count"], 6)
            clusters.append(cell)
    if wants_vehicles:
        vehicles = AssetFilter(
            **{**_filter_fields(flt), "kinds": [AssetKind.VEHICLE], "bbox": None}
        )
        found = repository.map_points(conn, vehicles)
        ids = [row[0] for row in found]
        where = live_positions(uow.connection, ids) if live_positions is not None else {}
        placed = []
        for asset_id, ref, kind, status, lon, lat in found:
            lon, lat = where.get(asset_id, (lon, lat))
            if flt.bbox is None or flt.bbox.contains(lon, lat):
                placed.append((asset_id, ref, kind, status, lon, lat))
        total += len(placed)
        add_points(placed)
    return {
        "mode": "points" if as_points else "clusters",
        "zoom": zoom,
        "total": total,
        "cell_deg": cell_deg,
        "clusters": clusters,
        "points": columns,
    }


def _filter_fields(flt: AssetFilter) -> dict[str, Any]:
    return {name: getattr(flt, name) for name in AssetFilter.__slots__}


# --- written by simulate ---


def erase_registry(uow: UnitOfWork, actor: Actor) -> int:
    """Erase every asset and its history (the generator's replace); how many there were."""
    conn = uow.connection
    erased = repository.count_assets(conn)
    repository.delete_all(conn)
    uow.audit(AuditEntry(actor, "assets.erased", "registry", "assets", {"count": [erased, 0]}))
    return erased
