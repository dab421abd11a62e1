"""Storage of assets and of their change history."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from metropilot.accounts.repository import organisations
from metropilot.assets.model import Asset, AssetChange, AssetKind, AssetStatus, ChangeAction
from metropilot.db.schema import JSONDocument, UTCDateTime, metadata
from metropilot.shared.geo import METRES_PER_DEGREE_LAT, BBox, LocalPlane
from metropilot.shared.scope import UNRESTRICTED, Scope

__all__ = [
    "AssetFilter",
    "asset_history",
    "assets",
    "count_assets",
    "count_by",
    "delete_all",
    "existing_by_ref",
    "get_asset",
    "history_of",
    "ids_by_ref",
    "insert_assets",
    "insert_history",
    "iter_assets",
    "list_asset_documents",
    "list_assets",
    "positions",
    "scope_clause",
    "set_parents",
    "update_asset_rows",
]

assets = Table(
    "assets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_ref", String(100), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("subtype", String(32)),
    Column("name", String(200)),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("commune_insee", String(5), ForeignKey("communes.insee"), nullable=False),
    Column("maintainer_id", Integer, ForeignKey("organisations.id")),
    Column("parent_id", Integer, ForeignKey("assets.id")),
    Column("status", String(16), nullable=False),
    Column("attributes", JSONDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Index("ix_assets_kind_status", "kind", "status"),
    Index("ix_assets_commune_kind", "commune_insee", "kind"),
    Index("ix_assets_maintainer", "maintainer_id"),
    Index("ix_assets_parent", "parent_id"),
    Index("ix_assets_lat_lon", "lat", "lon"),
)

asset_history = Table(
    "asset_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("asset_id", Integer, ForeignKey("assets.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(160), nullable=False),
    Column("action", String(32), nullable=False),
    Column("changes", JSONDocument, nullable=False),
)

_parent = assets.alias("parent")


@dataclass(frozen=True, slots=True)
class AssetFilter:
    kinds: Sequence[AssetKind] = ()
    statuses: Sequence[AssetStatus] = ()
    communes: Sequence[str] = ()
    maintainer_ids: Sequence[int] = ()
    bbox: BBox | None = None
    near: tuple[float, float] | None = None
    radius_m: float | None = None
    after_id: int | None = None
    scope: Scope = UNRESTRICTED  # what the caller may see; applied in every query


def _base_select() -> Select[Any]:
    return (
        select(
            assets,
            organisations.c.code.label("maintainer_code"),
            _parent.c.external_ref.label("parent_ref"),
        )
        .select_from(assets)
        .outerjoin(organisations, organisations.c.id == assets.c.maintainer_id)
        .outerjoin(_parent, _parent.c.id == assets.c.parent_id)
    )


def scope_clause(scope: Scope) -> Any:
    """The SQL condition of a scope (``true`` when unrestricted)."""
    c = assets.c
    parts: list[Any] = []
    if scope.communes is not None:
        parts.append(c.commune_insee.in_(list(scope.communes)))
    if scope.maintainer_ids is not None:
        parts.append(c.maintainer_id.in_(list(scope.maintainer_ids)))
    if scope.kinds is not None:
        parts.append(c.kind.in_(list(scope.kinds)))
    if scope.any_of is not None:
        parts.append(or_(*(scope_clause(alt) for alt in scope.any_of)))
    return and_(true(), *parts)


def _apply_filter(query: Select[Any], flt: AssetFilter) -> Select[Any]:
    c = assets.c
    if not flt.scope.unrestricted:
        query = query.where(scope_clause(flt.scope))
    if flt.kinds:
        query = query.where(c.kind.in_([k.value for k in flt.kinds]))
    if flt.statuses:
        query = query.where(c.status.in_([s.value for s in flt.statuses]))
    if flt.communes:
        query = query.where(c.commune_insee.in_(list(flt.communes)))
    if flt.maintainer_ids:
        query = query.where(c.maintainer_id.in_(list(flt.maintainer_ids)))
    if flt.bbox is not None:
        b = flt.bbox
        query = query.where(
            c.lat.between(b.min_lat, b.max_lat), c.lon.between(b.min_lon, b.max_lon)
        )
    if flt.near is not None and flt.radius_m is not None:
        lon0, lat0 = flt.near
        box = BBox.around(lon0, lat0, flt.radius_m)
        k_lon = LocalPlane(lon0, lat0).metres_per_degree_lon
        # The box narrows the index range; the plane distance (exact to <0.1 % at this scale,
        # and plain arithmetic on every database) keeps the disc.
        dx = (c.lon - lon0) * k_lon
        dy = (c.lat - lat0) * METRES_PER_DEGREE_LAT
        query = query.where(
            c.lat.between(box.min_lat, box.max_lat),
            c.lon.between(box.min_lon, box.max_lon),
            dx * dx + dy * dy <= flt.radius_m * flt.radius_m,
        )
    if flt.after_id is not None:
        query = query.where(c.id > flt.after_id)
    return query


_KINDS = {k.value: k for k in AssetKind}
_STATUSES = {s.value: s for s in AssetStatus}


def _to_domain(row: Any) -> Asset:
    # Positional unpacking and dict lookups: this runs for every row of every page.
    (
        asset_id,
        external_ref,
        kind,
        subtype,
        name,
        lon,
        lat,
        commune_insee,
        maintainer_id,
        parent_id,
        status,
        attributes,
        created_at,
        updated_at,
        version,
        maintainer_code,
        parent_ref,
    ) = row
    return Asset(
        id=asset_id,
        external_ref=external_ref,
        kind=_KINDS[kind],
        subtype=subtype,
        name=name,
        lon=lon,
        lat=lat,
        commune_insee=commune_insee,
        status=_STATUSES[status],
        attributes=attributes,
        created_at=created_at,
        updated_at=updated_at,
        maintainer_id=maintainer_id,
        maintainer_code=maintainer_code,
        parent_id=parent_id,
        parent_ref=parent_ref,
        version=version,
    )


def list_assets(conn: Connection, flt: AssetFilter, limit: int) -> list[Asset]:
    query = _apply_filter(_base_select(), flt).order_by(assets.c.id).limit(limit)
    return [_to_domain(row) for row in conn.execute(query)]


def list_asset_documents(conn: Connection, flt: AssetFilter, limit: int) -> list[dict[str, Any]]:
    """A page of assets straight in their API shape, for the list endpoint's hot path.

    The read side skips domain objects: the attributes come back as the stored JSON text, wrapped
    so that orjson embeds them without parsing and re-serialising, and only the columns the
    answer shows are read. On a page of 1,000 this halves the time spent outside the database.
    """
    c = assets.c
    query = (
        select(
            c.id,
            c.external_ref,
            c.kind,
            c.subtype,
            c.name,
            c.status,
            c.commune_insee,
            c.lon,
            c.lat,
            organisations.c.code,
            c.parent_id,
            _parent.c.external_ref,
            cast(c.attributes, Text),
            c.updated_at,
            c.version,
        )
        .select_from(assets)
        .outerjoin(organisations, organisations.c.id == c.maintainer_id)
        .outerjoin(_parent, _parent.c.id == c.parent_id)
    )
    query = _apply_filter(query, flt).order_by(c.id).limit(limit)
    return [
        {
            "id": row[0],
            "external_ref": row[1],
            "kind": row[2],
            "subtype": row[3],
            "name": row[4],
            "status": row[5],
            "commune": row[6],
            "lon": row[7],
            "lat": row[8],
            "maintainer": row[9],
            "parent": row[10],
            "parent_ref": row[11],
            "attributes": orjson.Fragment(row[12]),
            "updated_at": row[13],
            "version": row[14],
        }
        for row in conn.execute(query)
    ]


def iter_assets(conn: Connection, flt: AssetFilter, chunk: int = 5000) -> Iterator[Asset]:
    """Every matching asset in id order, fetched in chunks so memory stays flat on export."""
    after = flt.after_id
    while True:
        page = list_assets(
            conn,
            AssetFilter(**{**_as_kwargs(flt), "after_id": after}),
            chunk,
        )
        yield from page
        if len(page) < chunk:
            return
        after = page[-1].id


def _as_kwargs(flt: AssetFilter) -> dict[str, Any]:
    return {name: getattr(flt, name) for name in AssetFilter.__slots__}


def get_asset(conn: Connection, asset_id: int, scope: Scope = UNRESTRICTED) -> Asset | None:
    query = _apply_filter(_base_select(), AssetFilter(scope=scope)).where(assets.c.id == asset_id)
    row = conn.execute(query).first()
    return _to_domain(row) if row else None


def count_by(conn: Connection, column: str, flt: AssetFilter) -> dict[str, int]:
    col = assets.c[column]
    query = _apply_filter(select(col, func.count()).select_from(assets), flt).group_by(col)
    return {str(key): int(n) for key, n in conn.execute(query)}


def existing_by_ref(conn: Connection, refs: Iterable[str]) -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    ref_list = list(refs)
    for start in range(0, len(ref_list), 500):
        chunk = ref_list[start : start + 500]
        for row in conn.execute(_base_select().where(assets.c.external_ref.in_(chunk))):
            found[row.external_ref] = _to_domain(row)
    return found


def ids_by_ref(conn: Connection, refs: Iterable[str]) -> dict[str, tuple[int, str]]:
    """``{external_ref: (id, kind)}`` for the references that exist."""
    found: dict[str, tuple[int, str]] = {}
    ref_list = list(refs)
    for start in range(0, len(ref_list), 500):
        chunk = ref_list[start : start + 500]
        query = select(assets.c.external_ref, assets.c.id, assets.c.kind).where(
            assets.c.external_ref.in_(chunk)
        )
        for ref, asset_id, kind in conn.execute(query):
            found[ref] = (int(asset_id), str(kind))
    return found


def insert_assets(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert new assets (without parents); returns their ids by external reference."""
    for start in range(0, len(rows), 5000):
        conn.execute(insert(assets), rows[start : start + 5000])
    return {
        ref: asset_id
        for ref, (asset_id, _) in ids_by_ref(conn, [r["external_ref"] for r in rows]).items()
    }


def update_asset_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Update assets by id; each row carries ``id`` and the new values of every stored field."""
    if not rows:
        return
    stmt = (
        update(assets)
        .where(assets.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in rows[0] if name != "id"})
    )
    params = [{f"b_{k}": v for k, v in row.items()} for row in rows]
    for start in range(0, len(params), 5000):
        conn.execute(stmt, params[start : start + 5000])


def set_parents(conn: Connection, parent_by_id: dict[int, int | None]) -> None:
    if not parent_by_id:
        return
    stmt = (
        update(assets)
        .where(assets.c.id == bindparam("b_id"))
        .values(parent_id=bindparam("b_parent"))
    )
    params = [{"b_id": a, "b_parent": p} for a, p in parent_by_id.items()]
    for start in range(0, len(params), 5000):
        conn.execute(stmt, params[start : start + 5000])


def insert_history(conn: Connection, changes: list[AssetChange]) -> None:
    rows = [
        {
            "asset_id": ch.asset_id,
            "at": ch.at,
            "actor": ch.actor,
            "action": ch.action.value,
            "changes": ch.changes,
        }
        for ch in changes
    ]
    for start in range(0, len(rows), 5000):
        conn.execute(insert(asset_history), rows[start : start + 5000])


def history_of(conn: Connection, asset_id: int, limit: int = 200) -> list[AssetChange]:
    query = (
        select(asset_history)
        .where(asset_history.c.asset_id == asset_id)
        .order_by(asset_history.c.id.desc())
        .limit(limit)
    )
    return [
        AssetChange(
            id=row.id,
            asset_id=row.asset_id,
            at=row.at,
            actor=row.actor,
            action=ChangeAction(row.action),
            changes=row.changes,
        )
        for row in conn.execute(query)
    ]


def positions(conn: Connection) -> list[tuple[int, str, float, float, str]]:
    """(id, external reference, lon, lat, commune) of every asset."""
    c = assets.c
    query = select(c.id, c.external_ref, c.lon, c.lat, c.commune_insee).order_by(c.id)
    return [(int(i), str(r), float(x), float(y), str(k)) for i, r, x, y, k in conn.execute(query)]


def count_assets(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(assets)).scalar_one())


def delete_all(conn: Connection) -> None:
    """Erase the registry and its history (only the synthetic generator's replace does this)."""
    conn.execute(asset_history.delete())
    conn.execute(assets.update().values(parent_id=None))
    conn.execute(assets.delete())


# --- the command centre's map -----------------------------------------------------------------


def map_count(conn: Connection, flt: AssetFilter) -> int:
    query = _apply_filter(select(func.count()).select_from(assets), flt)
    return int(conn.execute(query).scalar_one())


def map_points(conn: Connection, flt: AssetFilter) -> list[tuple[int, str, str, str, float, float]]:
    """(id, reference, kind, status, lon, lat) of the matching assets."""
    c = assets.c
    query = _apply_filter(
        select(c.id, c.external_ref, c.kind, c.status, c.lon, c.lat).select_from(assets), flt
    )
    return [
        (int(i), str(r), str(k), str(s), float(x), float(y))
        for i, r, k, s, x, y in conn.execute(query.order_by(c.id))
    ]


def map_cells(
    conn: Connection, flt: AssetFilter, cell_deg: float
) -> list[tuple[int, int, str, str, int, float, float]]:
    """The matching assets counted per grid cell (``cell_deg`` wide, from 180° W and 90° S, so
    that truncation is a floor), kind and status: (x, y, kind, status, count, Σlon, Σlat)."""
    c = assets.c
    if conn.dialect.name == "postgresql":  # PostgreSQL's cast to integer rounds
        gx = func.floor((c.lon + 180.0) / cell_deg).label("gx")
        gy = func.floor((c.lat + 90.0) / cell_deg).label("gy")
    else:  # SQLite's truncates, a floor on these positive values
        gx = cast((c.lon + 180.0) / cell_deg, Integer).label("gx")
        gy = cast((c.lat + 90.0) / cell_deg, Integer).label("gy")
    query = _apply_filter(
        select(gx, gy, c.kind, c.status, func.count(), func.sum(c.lon), func.sum(c.lat))
        .select_from(assets)
        .group_by(gx, gy, c.kind, c.status),
        flt,
    )
    return [
        (int(x), int(y), str(k), str(s), int(n), float(sx), float(sy))
        for x, y, k, s, n, sx, sy in conn.execute(query)
    ]
