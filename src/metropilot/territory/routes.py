"""HTTP: communes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from metropilot.api.audience import Audience, audience
from metropilot.api.deps import UowDep
from metropilot.api.formats import (
    GEOJSON_ALTERNATIVE,
    GeoJSONResponse,
    Page,
    list_envelope,
    wants_geojson,
)
from metropilot.shared.errors import InvalidInput, NotFound
from metropilot.shared.geo import parse_bbox
from metropilot.territory import services
from metropilot.territory.schemas import (
    CommuneOut,
    DistrictOut,
    commune_feature,
    commune_out,
    district_feature,
    district_out,
)

__all__ = ["router"]

router = APIRouter(tags=["territory"])


@router.get(
    "/communes",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The communes of the metropolis with their boundaries",
    response_model=Page[CommuneOut],
    responses=GEOJSON_ALTERNATIVE,
)
def list_communes(
    request: Request,
    uow: UowDep,
    format: str | None = Query(default=None, description="json (default) or geojson"),
    boundaries: bool = Query(default=True, description="Include boundary polygons."),
) -> Any:
    communes = services.list_communes(uow)
    if wants_geojson(request, format):
        return GeoJSONResponse(
            {"type": "FeatureCollection", "features": [commune_feature(c) for c in communes]}
        )
    items = [commune_out(c, with_boundary=boundaries).model_dump() for c in communes]
    return list_envelope(items, None)


@router.get(
    "/communes/{insee}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="One commune",
    response_model=CommuneOut,
    responses=GEOJSON_ALTERNATIVE,
)
def get_commune(insee: str, request: Request, uow: UowDep, format: str | None = None) -> Any:
    for commune in services.list_communes(uow):
        if commune.insee == insee:
            if wants_geojson(request, format):
                return GeoJSONResponse(commune_feature(commune))
            return commune_out(commune).model_dump()
    raise NotFound(f"no commune with INSEE code {insee!r}")


@router.get(
    "/districts",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Districts (quartiers) of the communes, when they were imported",
    response_model=Page[DistrictOut],
    responses=GEOJSON_ALTERNATIVE,
)
def list_districts(
    request: Request,
    uow: UowDep,
    commune: str | None = Query(default=None, description="INSEE code"),
    format: str | None = Query(default=None, description="json (default) or geojson"),
) -> Any:
    districts = services.list_districts(uow, commune)
    if wants_geojson(request, format):
        return GeoJSONResponse(
            {"type": "FeatureCollection", "features": [district_feature(d) for d in districts]}
        )
    return list_envelope([district_out(d) for d in districts], None)


@router.get(
    "/streets",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The streets, as GeoJSON LineStrings: the offline basemap",
    response_class=GeoJSONResponse,
    responses=GEOJSON_ALTERNATIVE,
)
def list_streets(
    uow: UowDep,
    bbox: str | None = Query(default=None, description="minlon,minlat,maxlon,maxlat"),
    category: str | None = Query(default=None, description="main or local"),
    commune: str | None = Query(default=None, description="INSEE code"),
) -> Any:
    try:
        box = parse_bbox(bbox) if bbox else None
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_bbox") from None
    collection = services.streets_geojson(uow, bbox=box, category=category, commune=commune)
    response = GeoJSONResponse(collection)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
