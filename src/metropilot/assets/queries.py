"""What other contexts and the entry points may read of the asset registry: small typed reads,
no table leaves here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, select

from metropilot.assets import repository
from metropilot.shared.geo import BBox
from metropilot.shared.journal import AssetFacts
from metropilot.shared.scope import Scope

__all__ = [
    "AssetReference",
    "LightingCabinet",
    "LocatedAsset",
    "Streetlight",
    "asset_count",
    "asset_facts",
    "assets_in_service_within",
    "lighting_cabinet_ids",
    "lighting_cabinets",
    "maintainer_of",
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
