"""HTTP: send telemetry, read series and twins, follow ingestion."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from metropilot.accounts.audience import ASSET_READERS, STAFF, Audience, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.policy import asset_scope
from metropilot.api.deps import ObjectId, SettingsDep, UowDep
from metropilot.api.formats import list_envelope
from metropilot.api.pagination import decode_cursor, encode_cursor
from metropilot.api.params import Instant
from metropilot.api.responses import JSONResponseFast
from metropilot.assets import services as assets_services
from metropilot.assets.routes import AssetQuery
from metropilot.assets.schemas import MapViewOut
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput
from metropilot.telemetry import queries, services
from metropilot.telemetry.model import METRICS, InvalidItem, json_items
from metropilot.telemetry.schemas import (
    BatchOut,
    IngestStatsOut,
    MetricOut,
    SeriesPageOut,
    TwinOut,
)

__all__ = ["router"]

router = APIRouter(tags=["telemetry"])


def _items(body: bytes, content_type: str) -> list[Any]:
    """A JSON array, or NDJSON (one item a line; a malformed line is refused alone)."""
    if content_type.startswith(("application/x-ndjson", "application/ndjson", "application/jsonl")):
        items: list[Any] = []
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                items.append(InvalidItem("malformed_json", f"line {number}: {exc}"))
        return items
    try:
        return json_items(body)
    except InvalidItem as exc:
        code = "malformed_json" if exc.reason == "malformed_json" else None
        raise InvalidInput(exc.message, code=code) from None


@router.post(
    "/telemetry",
    dependencies=[audience(Audience.DEVICE)],
    summary="Send readings and events (JSON array or NDJSON); answers item by item",
    response_model=BatchOut,
)
async def post_telemetry(request: Request, principal: CurrentPrincipal) -> JSONResponseFast:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    pipeline: services.IngestPipeline = request.app.state.platform.ingest_pipeline

    def ingest() -> services.BatchResult:
        # Decoding up to 10 MB of readings and storing them: a worker thread's work.
        return pipeline.ingest(_items(body, content_type), source="http", principal=principal)

    result = await run_in_threadpool(ingest)
    return JSONResponseFast(result.as_json())


@router.get(
    "/assets/{asset_id}/telemetry",
    dependencies=[audience(*ASSET_READERS)],
    summary="One metric of one asset over time: raw readings, or hourly/daily min-max-avg",
    response_model=SeriesPageOut,
)
def asset_telemetry(
    asset_id: ObjectId,
    principal: CurrentPrincipal,
    uow: UowDep,
    metric: Annotated[str, Query(description="e.g. power_w")],
    from_: Annotated[
        Instant | None, Query(alias="from", description="ISO 8601; default 24 h ago")
    ] = None,
    to: Annotated[Instant | None, Query(description="ISO 8601; default now")] = None,
    bucket: Annotated[str, Query(description="raw, hour or day")] = "raw",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    cursor: str | None = None,
) -> Any:
    if metric not in METRICS and metric not in ("position_lon", "position_lat"):
        raise InvalidInput(f"unknown metric {metric!r}", code="unknown_metric")
    end = to or utcnow()
    start = from_ or end - timedelta(hours=24)
    items, last = services.series(
        uow,
        asset_id,
        metric,
        start,
        end,
        bucket,
        decode_cursor(cursor),
        limit,
        asset_scope(principal),
    )
    return list_envelope(items, encode_cursor(last))


@router.get(
    "/assets/{asset_id}/twin",
    dependencies=[audience(*ASSET_READERS)],
    summary="The asset's latest reported values, last contact and status",
    response_model=TwinOut,
)
def asset_twin(asset_id: ObjectId, principal: CurrentPrincipal, uow: UowDep) -> Any:
    return JSONResponseFast(services.twin(uow, asset_id, asset_scope(principal)))


@router.get(
    "/ingest/stats",
    dependencies=[audience(*STAFF)],
    summary="Readings accepted and refused (by reason), per day and source, last 7 days",
    response_model=IngestStatsOut,
)
def ingest_stats(uow: UowDep, days: Annotated[int, Query(ge=1, le=90)] = 7) -> Any:
    return JSONResponseFast(services.ingest_stats(uow, days))


@router.get(
    "/telemetry/metrics",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The metrics equipment may report, with units and ranges",
    response_model=dict[str, MetricOut],
)
def metrics_catalogue() -> Any:
    return JSONResponseFast(
        {
            name: {
                "kind": m.kind,
                "unit": m.unit,
                "min": m.minimum,
                "max": m.maximum,
                "description": m.description,
            }
            for name, m in METRICS.items()
        }
    )


# --- the live map -----------------------------------------------------------------------------
# The map is the registry's assets, vehicles where their twin last placed them: it is served here,
# where both are known (the registry knows nothing of telemetry).


@router.get(
    "/map/assets",
    tags=["assets"],
    response_model=MapViewOut,
    dependencies=[audience(*ASSET_READERS)],
    summary="What the map draws for a viewport: points, or counts per grid cell when many",
)
def map_assets(
    principal: CurrentPrincipal,
    uow: UowDep,
    settings: SettingsDep,
    query: Annotated[AssetQuery, Depends()],
    zoom: Annotated[int, Query(ge=0, le=22, description="The map's zoom level.")] = 12,
) -> Any:
    """Points (column arrays: ``id``, ``ref``, ``kind``, ``status``, ``lon``, ``lat``) when the
    viewport holds at most 4,000 assets or from zoom 17, else ``clusters``: per grid cell about
    48 px wide, the count, the centroid, and the counts by status and by kind. Vehicles are
    always points, at their last reported position. Scoped like ``/assets``."""
    flt = query.to_filter(uow, settings, asset_scope(principal))
    return JSONResponseFast(
        assets_services.map_view(uow, flt, zoom, live_positions=queries.last_positions)
    )
