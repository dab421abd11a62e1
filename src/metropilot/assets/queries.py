"""What other contexts read of the registry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from metropilot.assets.repository import assets
from metropilot.shared.journal import AssetFacts

__all__ = [
    "LightingCabinet",
    "Streetlight",
    "asset_facts",
    "lighting_cabinet_ids",
    "lighting_cabinets",
    "streetlights",
]


def asset_facts(conn: Any, asset_ids: set[int]) -> dict[int, AssetFacts]:
    """Commune, maintainer and kind of each asset, for the live stream's scoping (``conn`` is a
    SQLAlchemy Connection, typed as the stream's reader expects)."""
    if not asset_ids:
        return {}
    a = assets.c
    rows = conn.execute(
        select(a.id, a.commune_insee, a.maintainer_id, a.kind).where(a.id.in_(asset_ids))
    )
    return {int(r[0]): AssetFacts(str(r[1]), r[2], str(r[3])) for r in rows}


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
    a = assets.c
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
    a = assets.c
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
    a = assets.c
    rows = conn.execute(select(a.id).where(a.id.in_(list(ids)), a.kind == "lighting_cabinet"))
    return {int(row[0]) for row in rows}
