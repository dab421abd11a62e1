"""The photos of public reports (EXIF removed) and their thumbnails."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from metropilot.accounts.audience import Audience, audience
from metropilot.api.params import ObjectId
from metropilot.reports import services
from metropilot.reports.open311_routes.answering import Open311Route, uow_of
from metropilot.reports.open311_routes.openapi import PHOTO_ANSWERS
from metropilot.reports.storage import FileSystemStorage
from metropilot.shared.errors import NotFound

__all__ = ["router"]

router = APIRouter(route_class=Open311Route)


# --- photos --------------------------------------------------------------------------------------


@router.get(
    "/media/{report_id}/{name}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="A photo of a public report (EXIF removed), or its thumbnail (n.thumb.jpg)",
    response_class=Response,
    responses=PHOTO_ANSWERS,
)
def media(report_id: ObjectId, name: str, request: Request) -> Response:
    match = re.fullmatch(r"([1-9][0-9]?)\.(thumb\.)?jpg", name)
    if match is None:
        raise NotFound("no such photo")
    number, thumbnail = int(match.group(1)), bool(match.group(2))
    with uow_of(request) as uow:
        found = services.query_reports(
            uow, services.ReportQuery(ids=[report_id], public_only=True, limit=1)
        )
    photo = next((p for p in found[0].photos if p["position"] == number), None) if found else None
    if photo is None:
        raise NotFound("no such photo")
    storage = FileSystemStorage(request.app.state.settings.data_dir / "photos")
    data = storage.get(photo["thumbnail_key"] if thumbnail else photo["storage_key"])
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
