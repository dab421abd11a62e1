"""Storage of communes, districts and streets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, shape
from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from metropilot.db.schema import JSONDocument, metadata
from metropilot.territory.model import Commune, District

__all__ = [
    "communes",
    "count_communes",
    "delete_streets",
    "districts",
    "list_communes",
    "list_districts",
    "save_commune",
    "save_district",
    "save_streets",
    "streets",
]

communes = Table(
    "communes",
    metadata,
    Column("insee", String(5), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("population", Integer, nullable=False),
    Column("area_km2", Float),
    Column("centre_lon", Float),
    Column("centre_lat", Float),
    Column("boundary", JSONDocument, nullable=False),
)

districts = Table(
    "districts",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("commune_insee", String(5), ForeignKey("communes.insee"), nullable=False, index=True),
    Column("boundary", JSONDocument, nullable=False),
)

streets = Table(
    "streets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("commune_insee", String(5), ForeignKey("communes.insee"), nullable=False, index=True),
    Column("name", String(160), nullable=False),
    Column("category", String(16), nullable=False),
    Column("line", JSONDocument, nullable=False),  # [[lon, lat], …]
)


def _boundary(value: dict[str, Any]) -> Polygon | MultiPolygon:
    geom = shape(value)
    assert isinstance(geom, Polygon | MultiPolygon)
    return geom


def _row_to_commune(row: Any) -> Commune:
    centre = (
        (row.centre_lon, row.centre_lat)
        if row.centre_lon is not None and row.centre_lat is not None
        else None
    )
    return Commune(
        insee=row.insee,
        name=row.name,
        population=row.population,
        area_km2=row.area_km2,
        centre=centre,
        boundary=_boundary(row.boundary),
    )


def list_communes(conn: Connection) -> list[Commune]:
    rows = conn.execute(select(communes).order_by(communes.c.insee))
    return [_row_to_commune(row) for row in rows]


def count_communes(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(communes)).scalar_one())


def save_commune(conn: Connection, commune: Commune) -> bool:
    """Insert or update by INSEE code; returns True when the commune is new."""
    values = {
        "name": commune.name,
        "population": commune.population,
        "area_km2": commune.area_km2,
        "centre_lon": commune.centre[0] if commune.centre else None,
        "centre_lat": commune.centre[1] if commune.centre else None,
        "boundary": commune.boundary_geojson(),
    }
    updated = conn.execute(
        communes.update().where(communes.c.insee == commune.insee).values(**values)
    ).rowcount
    if updated:
        return False
    conn.execute(insert(communes).values(insee=commune.insee, **values))
    return True


def list_districts(conn: Connection, commune_insee: str | None = None) -> list[District]:
    query = select(districts).order_by(districts.c.code)
    if commune_insee:
        query = query.where(districts.c.commune_insee == commune_insee)
    return [
        District(r.code, r.name, r.commune_insee, _boundary(r.boundary))
        for r in conn.execute(query)
    ]


def save_district(conn: Connection, district: District) -> None:
    values = {
        "name": district.name,
        "commune_insee": district.commune_insee,
        "boundary": dict(district.boundary.__geo_interface__),
    }
    if not conn.execute(
        districts.update().where(districts.c.code == district.code).values(**values)
    ).rowcount:
        conn.execute(insert(districts).values(code=district.code, **values))


def delete_streets(conn: Connection) -> None:
    conn.execute(delete(streets))


def save_streets(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        conn.execute(insert(streets), batch)


def list_streets(
    conn: Connection, *, category: str | None = None, commune: str | None = None
) -> list[dict[str, Any]]:
    s = streets.c
    query = select(s.name, s.category, s.commune_insee, s.line).order_by(s.id)
    if category is not None:
        query = query.where(s.category == category)
    if commune is not None:
        query = query.where(s.commune_insee == commune)
    return [dict(row) for row in conn.execute(query).mappings()]
