"""API shapes of the territory."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from metropilot.territory.model import Commune, District

__all__ = [
    "CommuneOut",
    "DistrictOut",
    "commune_feature",
    "commune_out",
    "district_feature",
    "district_out",
]


class CommuneOut(BaseModel):
    insee: str = Field(examples=["21231"])
    name: str = Field(examples=["Dijon"])
    population: int
    area_km2: float | None
    centre: tuple[float, float] | None = Field(description="Town centre as [lon, lat].")
    boundary: dict[str, Any] | None = Field(description="GeoJSON Polygon or MultiPolygon.")


def commune_out(commune: Commune, *, with_boundary: bool = True) -> CommuneOut:
    return CommuneOut(
        insee=commune.insee,
        name=commune.name,
        population=commune.population,
        area_km2=commune.area_km2,
        centre=commune.centre,
        boundary=commune.boundary_geojson() if with_boundary else None,
    )


def commune_feature(commune: Commune) -> dict[str, Any]:
    props = commune_out(commune, with_boundary=False).model_dump()
    props.pop("boundary")
    return {
        "type": "Feature",
        "id": commune.insee,
        "geometry": commune.boundary_geojson(),
        "properties": props,
    }


class DistrictOut(BaseModel):
    code: str
    name: str
    commune: str = Field(description="INSEE code of its commune.")
    boundary: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon.")


def district_out(district: District) -> dict[str, Any]:
    return {
        "code": district.code,
        "name": district.name,
        "commune": district.commune_insee,
        "boundary": dict(district.boundary.__geo_interface__),
    }


def district_feature(district: District) -> dict[str, Any]:
    props = district_out(district)
    return {
        "type": "Feature",
        "id": district.code,
        "geometry": props.pop("boundary"),
        "properties": props,
    }
