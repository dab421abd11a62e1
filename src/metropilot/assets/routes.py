"""HTTP: the equipment registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from metropilot.accounts import services as accounts_services
from metropilot.accounts.audience import ASSET_READERS, Audience, NotSignedIn, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.policy import asset_scope
from metropilot.api.deps import ObjectId, SettingsDep, UowDep
from metropilot.api.formats import (
    GEOJSON_ALTERNATIVE,
    GEOJSON_CONTENT,
    GeoJSONResponse,
    Page,
    comma_list,
    list_envelope,
    wants_geojson,
)
from metropilot.api.pagination import decode_cursor, encode_cursor
from metropilot.api.responses import JSONResponseFast
from metropilot.assets import services
from metropilot.assets.model import (
    AssetKind,
    AssetStatus,
    attribute_schema,
    parse_kind,
    parse_status,
)
from metropilot.assets.schemas import AssetDetailOut, AssetOut, asset_detail_out, document_feature
from metropilot.assets.services import AssetFilter
from metropilot.assets.transfer import asset_feature, csv_rows, geojson_chunks
from metropilot.db.uow import UnitOfWork
from metropilot.settings import Settings
from metropilot.shared.errors import Forbidden, InvalidInput
from metropilot.shared.geo import LocalPlane, parse_bbox, parse_lonlat
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.territory import services as territory_services

__all__ = ["AssetQuery", "router"]

router = APIRouter(tags=["assets"])


class AssetQuery:
    """The filters every asset endpoint shares, parsed once with precise errors."""

    def __init__(
        self,
        kind: Annotated[str | None, Query(description="Kinds, comma-separated.")] = None,
        status: Annotated[str | None, Query(description="Statuses, comma-separated.")] = None,
        commune: Annotated[str | None, Query(description="INSEE codes, comma-separated.")] = None,
        maintainer: Annotated[
            str | None, Query(description="Organisation codes, comma-separated.")
        ] = None,
        bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
        near: Annotated[str | None, Query(description="lon,lat; needs radius_m")] = None,
        radius_m: Annotated[float | None, Query(description="Radius around near, metres.")] = None,
    ) -> None:
        self.kind = kind
        self.status = status
        self.commune = commune
        self.maintainer = maintainer
        self.bbox = bbox
        self.near = near
        self.radius_m = radius_m

    def to_filter(
        self, uow: UnitOfWork, settings: Settings, scope: Scope = UNRESTRICTED
    ) -> AssetFilter:
        kinds = [parse_kind(k, "kind") for k in comma_list(self.kind)]
        statuses = [parse_status(s, "status") for s in comma_list(self.status)]
        communes = comma_list(self.commune)
        if communes:
            known = {c.insee for c in territory_services.list_communes(uow)}
            unknown = [c for c in communes if c not in known]
            if unknown:
                raise InvalidInput(
                    f"commune: unknown INSEE code(s) {', '.join(unknown)}", code="unknown_commune"
                )
        maintainer_ids = accounts_services.organisation_ids(
            uow, comma_list(self.maintainer), "maintainer"
        )
        try:
            box = parse_bbox(self.bbox) if self.bbox else None
        except ValueError as exc:
            raise InvalidInput(str(exc), code="invalid_bbox") from None
        near = None
        if self.near is not None or self.radius_m is not None:
            if self.near is None or self.radius_m is None:
                raise InvalidInput("near and radius_m go together", code="invalid_near")
            try:
                near = parse_lonlat(self.near, "near")
            except ValueError as exc:
                raise InvalidInput(str(exc), code="invalid_near") from None
            if not 0 < self.radius_m <= settings.max_near_radius_m:
                raise InvalidInput(
                    f"radius_m must be greater than 0 and at most "
                    f"{settings.max_near_radius_m:g} m, got {self.radius_m:g}",
                    code="invalid_radius",
                )
            territory_services.locator(uow).require(near[0], near[1], "near")
        return AssetFilter(
            kinds=kinds,
            statuses=statuses,
            communes=communes,
            maintainer_ids=maintainer_ids,
            bbox=box,
            near=near,
            radius_m=self.radius_m,
            scope=scope,
        )


@router.get(
    "/assets",
    dependencies=[audience(*ASSET_READERS)],
    summary="Equipment, filtered and paginated",
    response_model=None,
    responses={
        200: {
            "model": Page[AssetOut],
            "description": "`{items: [Asset], next_cursor}`, or a GeoJSON "
            "FeatureCollection with `format=geojson` or `Accept: application/geo+json`.",
            **GEOJSON_ALTERNATIVE[200],
        }
    },
)
def list_assets(
    request: Request,
    principal: CurrentPrincipal,
    uow: UowDep,
    settings: SettingsDep,
    query: Annotated[AssetQuery, Depends()],
    limit: Annotated[int | None, Query(ge=1, description="Page size.")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    format: Annotated[str | None, Query(description="json (default) or geojson")] = None,
) -> Any:
    page_size = limit or settings.page_size_default
    if page_size > settings.page_size_max:
        raise InvalidInput(f"limit must be at most {settings.page_size_max}, got {page_size}")
    flt = query.to_filter(uow, settings, asset_scope(principal))
    flt = AssetFilter(**{**_fields(flt), "after_id": decode_cursor(cursor)})
    page, last_id = services.list_asset_documents(uow, flt, page_size)
    next_cursor = encode_cursor(last_id)
    if flt.near is not None:
        plane = LocalPlane(*flt.near)
        for doc in page:
            doc["distance_m"] = round(plane.distance_m(*flt.near, doc["lon"], doc["lat"]), 1)
    if wants_geojson(request, format):
        return GeoJSONResponse(
            {
                "type": "FeatureCollection",
                "features": [document_feature(doc) for doc in page],
                "next_cursor": next_cursor,
            }
        )
    return list_envelope(page, next_cursor)


def _fields(flt: AssetFilter) -> dict[str, Any]:
    return {name: getattr(flt, name) for name in AssetFilter.__slots__}


@router.get(
    "/assets/summary",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Counts by kind, status and commune, under the same filters as /assets",
)
def assets_summary(
    principal: CurrentPrincipal,
    uow: UowDep,
    settings: SettingsDep,
    query: Annotated[AssetQuery, Depends()],
) -> dict[str, dict[str, int]]:
    if not principal.authenticated:
        # Open data is aggregate: the public may count by kind, status and commune, but not
        # narrow a count to a few metres (which would locate each camera one by one).
        if query.bbox or query.near or query.radius_m is not None or query.maintainer:
            raise NotSignedIn("bbox, near and maintainer filters need an account")
        return services.summary(uow, query.to_filter(uow, settings))
    scope: Scope | None
    try:
        scope = asset_scope(principal)
    except Forbidden:
        scope = None
    if scope is None:  # an account that sees no equipment (a citizen) gets the public view
        if query.bbox or query.near or query.radius_m is not None or query.maintainer:
            raise Forbidden("bbox, near and maintainer filters are for accounts that see assets")
        return services.summary(uow, query.to_filter(uow, settings))
    return services.summary(uow, query.to_filter(uow, settings, scope))


@router.get(
    "/assets/export",
    dependencies=[audience(*ASSET_READERS)],
    summary="Every matching asset as one CSV or GeoJSON file (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The assets as a GeoJSON FeatureCollection or a CSV file.",
            "content": {"text/csv": {"schema": {"type": "string"}}, **GEOJSON_CONTENT},
        }
    },
)
def export_assets(
    request: Request,
    principal: CurrentPrincipal,
    uow: UowDep,
    settings: SettingsDep,
    query: Annotated[AssetQuery, Depends()],
    format: Annotated[str, Query(pattern="^(csv|geojson)$")] = "geojson",
) -> StreamingResponse:
    flt = query.to_filter(uow, settings, asset_scope(principal))
    factory = request.app.state.uow_factory

    def stream() -> Iterator[str]:
        # The request's own unit of work closes before the body is sent: use a fresh one.
        with factory() as export_uow:
            assets = services.iter_assets(export_uow, flt)
            if format == "csv":
                yield from csv_rows(assets, flt.kinds or tuple(AssetKind))
            else:
                yield from geojson_chunks(assets)

    media = "text/csv; charset=utf-8" if format == "csv" else "application/geo+json"
    filename = f"metropilot-assets.{'csv' if format == 'csv' else 'geojson'}"
    return StreamingResponse(
        stream(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/assets/kinds",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The asset kinds and the JSON Schema of each kind's attributes",
)
def asset_kinds() -> dict[str, Any]:
    return {
        "kinds": {kind.value: attribute_schema(kind) for kind in AssetKind},
        "statuses": [s.value for s in AssetStatus],
    }


@router.get(
    "/assets/{asset_id}",
    dependencies=[audience(*ASSET_READERS)],
    summary="One asset with the history of its changes",
    response_model=AssetDetailOut,
    responses={200: {"model": AssetDetailOut}},
)
def get_asset(
    asset_id: ObjectId,
    request: Request,
    principal: CurrentPrincipal,
    uow: UowDep,
    format: str | None = None,
) -> Any:
    asset, history = services.asset_detail(uow, asset_id, asset_scope(principal))
    if wants_geojson(request, format):
        return GeoJSONResponse(asset_feature(asset))
    return JSONResponseFast(asset_detail_out(asset, history))
