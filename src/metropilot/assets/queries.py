"""What other contexts and the entry points may read of the asset registry: small typed reads,
no table leaves here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, func, or_, select

from metropilot.assets import repository
from metropilot.shared.geo import BBox
from metropilot.shared.journal import AssetFacts
from metropilot.shared.scope import Scope

__all__ = [
    "AssetPlace",
    "AssetReference",
    "AssetSelection",
    "DirectoryRow",
    "LightingCabinet",
    "LocatedAsset",
    "PlacedAsset",
    "RegistryRow",
    "Streetlight",
    "asset_count",
    "asset_facts",
    "asset_place",
    "assets_in_service_within",
    "directory_rows",
    "in_scope",
    "lighting_cabinet_ids",
    "lighting_cabinets",
    "live_assets",
    "maintainer_of",
    "registry_rows",
    "search_by_reference",
    "streetlights",
]


def asset_facts(conn: Any, asset_ids: set[int]) -> dict[int, AssetFacts]:
    """Commune, maintainer and kind of each asset, for the live stream's scoping (``conn`` is a
    SQLAlchemy Connection, typed as the stream's reader expects)."""
    if not asset_ids:
        return {}
    a = repository.assets.c
    rows = conn.execute(
        select(a.id, a.commune_insee, a.maintainer_id, a.kind).where(a.id.in_(asset_ids))
    )
    return {int(r[0]): AssetFacts(str(r[1]), r[2], str(r[3])) for r in rows}


# --- read by simulate ---


def asset_count(conn: Connection) -> int:
    """How many assets the registry holds."""
    return repository.count_assets(conn)


# --- read by reports ---


@dataclass(frozen=True, slots=True)
class LocatedAsset:
    """An asset in service, where it stands and who maintains it (an organisation id)."""

    id: int
    lon: float
    lat: float
    maintainer_id: int | None


def assets_in_service_within(connection: Connection, kind: str, box: BBox) -> list[LocatedAsset]:
    """The assets of ``kind`` inside ``box`` that are not decommissioned (a citizen report of
    that kind is linked to the nearest of them)."""
    a = repository.assets.c
    rows = connection.execute(
        select(a.id, a.lon, a.lat, a.maintainer_id).where(
            and_(
                a.kind == kind,
                a.lon.between(box.min_lon, box.max_lon),
                a.lat.between(box.min_lat, box.max_lat),
                a.status != "decommissioned",
            )
        )
    ).all()
    return [
        LocatedAsset(
            id=int(row.id),
            lon=float(row.lon),
            lat=float(row.lat),
            maintainer_id=None if row.maintainer_id is None else int(row.maintainer_id),
        )
        for row in rows
    ]


def maintainer_of(connection: Connection, asset_id: int) -> int | None:
    """The organisation that maintains an asset; None when none does or the asset is unknown."""
    a = repository.assets.c
    found = connection.execute(select(a.maintainer_id).where(a.id == asset_id)).scalar_one_or_none()
    return None if found is None else int(found)


# --- read by web ---


@dataclass(frozen=True, slots=True)
class AssetReference:
    """An asset as a search box lists it: its reference, kind, status and place."""

    id: int
    ref: str
    kind: str
    status: str
    commune: str | None
    lon: float
    lat: float


def search_by_reference(
    connection: Connection, wanted: str, scope: Scope, *, limit: int
) -> list[AssetReference]:
    """The assets of ``scope`` whose reference starts with ``wanted`` (any case), the exact
    match first, then in the order of their references."""
    upper = wanted.strip().upper()
    pattern = upper.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    c = repository.assets.c
    rows = connection.execute(
        select(c.id, c.external_ref, c.kind, c.status, c.commune_insee, c.lon, c.lat)
        .where(
            func.upper(c.external_ref).like(pattern, escape="\\"), repository.scope_clause(scope)
        )
        .order_by((func.upper(c.external_ref) != upper), c.external_ref)
        .limit(limit)
    ).all()
    return [
        AssetReference(r.id, r.external_ref, r.kind, r.status, r.commune_insee, r.lon, r.lat)
        for r in rows
    ]


# --- read by cases ---


@dataclass(frozen=True, slots=True)
class AssetPlace:
    """An asset's kind and commune."""

    kind: str
    commune_insee: str


def asset_place(conn: Connection, asset_id: int, scope: Scope) -> AssetPlace | None:
    """The kind and commune of an asset as ``GET /assets/{id}`` finds it: None outside the
    scope, as for an asset that does not exist."""
    a = repository.assets.c
    query = select(a.kind, a.commune_insee).where(a.id == asset_id)
    if not scope.unrestricted:
        query = query.where(repository.scope_clause(scope))
    row = conn.execute(query).first()
    return None if row is None else AssetPlace(str(row[0]), str(row[1]))


# --- read by telemetry ---


class DirectoryRow(NamedTuple):
    """What the ingest directory keeps of one asset (a named tuple: one is read per asset of
    the metropolis when a worker starts)."""

    id: int
    external_ref: str
    kind: str
    commune: str
    maintainer_id: int | None
    parent_id: int | None
    status: str


def directory_rows(conn: Connection, ref: str | None = None) -> Iterator[DirectoryRow]:
    """Every asset (streamed), or the one whose external reference — or id, when ``ref`` is a
    number — is ``ref``."""
    a = repository.assets.c
    query = select(
        a.id, a.external_ref, a.kind, a.commune_insee, a.maintainer_id, a.parent_id, a.status
    )
    if ref is not None:
        query = query.where(
            or_(a.external_ref == ref, a.id == int(ref))
            if ref.isdigit() and len(ref) < 18
            else a.external_ref == ref
        )
    for row in conn.execution_options(stream_results=True, yield_per=20_000).execute(query):
        yield DirectoryRow(
            int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], row[5], str(row[6])
        )


# --- read by control ---


@dataclass(frozen=True, slots=True)
class PlacedAsset:
    """An asset as a command reaches it: what it is, where it stands, what feeds it."""

    id: int
    external_ref: str
    kind: str
    commune_insee: str
    attributes: Mapping[str, Any]
    parent_id: int | None
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class AssetSelection:
    """Which assets: every criterion given must hold (none given: every asset)."""

    ids: Sequence[int] | None = None
    refs: Sequence[str] | None = None
    kinds: Sequence[str] | None = None
    commune: str | None = None
    bbox: BBox | None = None
    # The children of these assets, and these assets themselves (a cabinet and its lights).
    family_of: Sequence[int] | None = None


def live_assets(conn: Connection, scope: Scope, selection: AssetSelection) -> list[PlacedAsset]:
    """The assets of the selection within the scope, decommissioned ones left out, by id."""
    a = repository.assets.c
    query = select(
        a.id, a.external_ref, a.kind, a.commune_insee, a.attributes, a.parent_id, a.lon, a.lat
    ).where(a.status != "decommissioned")
    if selection.ids is not None:
        query = query.where(a.id.in_(list(selection.ids)))
    if selection.refs is not None:
        query = query.where(a.external_ref.in_(list(selection.refs)))
    if selection.kinds is not None:
        query = query.where(a.kind.in_(list(selection.kinds)))
    if selection.commune is not None:
        query = query.where(a.commune_insee == selection.commune)
    if selection.bbox is not None:
        box = selection.bbox
        query = query.where(
            a.lon.between(box.min_lon, box.max_lon), a.lat.between(box.min_lat, box.max_lat)
        )
    if selection.family_of is not None:
        family = list(selection.family_of)
        query = query.where(a.parent_id.in_(family) | a.id.in_(family))
    if not scope.unrestricted:
        query = query.where(repository.scope_clause(scope))
    return [
        PlacedAsset(
            int(r.id),
            str(r.external_ref),
            str(r.kind),
            str(r.commune_insee),
            r.attributes,
            r.parent_id,
            float(r.lon),
            float(r.lat),
        )
        for r in conn.execute(query.order_by(a.id))
    ]


def in_scope(conn: Connection, scope: Scope, asset_id: int) -> bool:
    """Whether the asset exists and the scope sees it (whatever its status)."""
    if scope.unrestricted:
        return True
    a = repository.assets.c
    query = select(a.id).where(a.id == asset_id, repository.scope_clause(scope))
    return conn.execute(query).first() is not None


# --- read by contracts ---


@dataclass(frozen=True, slots=True)
class Streetlight:
    """A street light in service, as the performance contract counts its energy: its place, the
    cabinet feeding it and the lamp figures of its attributes (None where not recorded)."""

    id: int
    ref: str
    lon: float
    lat: float
    commune: str
    cabinet_id: int | None
    nominal_power_w: float | None
    baseline_power_w: float | None
    technology: str | None


@dataclass(frozen=True, slots=True)
class LightingCabinet:
    """A lighting cabinet in service: the gateway of its lamps when remote-managed."""

    id: int
    ref: str
    remote_managed: bool


def streetlights(conn: Connection, *, commune: str | None = None) -> list[Streetlight]:
    """The street lights not decommissioned (of one commune, or all), by id."""
    a = repository.assets.c
    query = select(
        a.id, a.external_ref, a.lon, a.lat, a.commune_insee, a.parent_id, a.attributes
    ).where(a.kind == "streetlight", a.status != "decommissioned")
    if commune is not None:
        query = query.where(a.commune_insee == commune)
    found = []
    for row in conn.execute(query.order_by(a.id)).mappings():
        attributes = row["attributes"] or {}
        power = attributes.get("nominal_power_w")
        baseline = attributes.get("baseline_power_w")
        found.append(
            Streetlight(
                id=row["id"],
                ref=row["external_ref"],
                lon=row["lon"],
                lat=row["lat"],
                commune=row["commune_insee"],
                cabinet_id=row["parent_id"],
                nominal_power_w=float(power) if power else None,
                baseline_power_w=float(baseline) if baseline else None,
                technology=(
                    str(attributes["lamp_technology"]) if "lamp_technology" in attributes else None
                ),
            )
        )
    return found


def lighting_cabinets(conn: Connection) -> list[LightingCabinet]:
    """The lighting cabinets not decommissioned (remote-managed unless recorded otherwise)."""
    a = repository.assets.c
    rows = conn.execute(
        select(a.id, a.external_ref, a.attributes).where(
            a.kind == "lighting_cabinet", a.status != "decommissioned"
        )
    ).mappings()
    return [
        LightingCabinet(
            int(row["id"]),
            str(row["external_ref"]),
            bool((row["attributes"] or {}).get("remote_managed", True)),
        )
        for row in rows
    ]


def lighting_cabinet_ids(conn: Connection, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that are lighting cabinets."""
    a = repository.assets.c
    rows = conn.execute(select(a.id).where(a.id.in_(list(ids)), a.kind == "lighting_cabinet"))
    return {int(row[0]) for row in rows}


# --- read by simulate ---


class RegistryRow(NamedTuple):
    """One asset as the simulator rebuilds the city: where it stands, what it is, its parent's
    reference (a named tuple: the simulator reads every asset of the metropolis at start)."""

    id: int
    external_ref: str
    kind: str
    subtype: str | None
    lon: float
    lat: float
    commune_insee: str
    status: str
    attributes: dict[str, Any] | None
    parent_ref: str | None


def registry_rows(conn: Connection) -> list[RegistryRow]:
    """Every asset, by id, with its parent's reference."""
    parent = repository.assets.alias("parent")
    a = repository.assets.c
    rows = conn.execute(
        select(
            a.id,
            a.external_ref,
            a.kind,
            a.subtype,
            a.lon,
            a.lat,
            a.commune_insee,
            a.status,
            a.attributes,
            parent.c.external_ref,
        )
        .select_from(repository.assets.outerjoin(parent, parent.c.id == a.parent_id))
        .order_by(a.id)
    ).all()
    return [
        RegistryRow(
            int(r[0]),
            str(r[1]),
            str(r[2]),
            r[3],
            float(r[4]),
            float(r[5]),
            str(r[6]),
            str(r[7]),
            r[8],
            r[9],
        )
        for r in rows
    ]
