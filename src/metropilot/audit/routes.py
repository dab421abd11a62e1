"""HTTP: the audit trail, for supervisors and administrators (read only: nobody writes it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from metropilot.accounts.audience import Audience, audience
from metropilot.api.deps import SettingsDep, UowDep
from metropilot.api.formats import list_envelope
from metropilot.api.pagination import decode_cursor, encode_cursor
from metropilot.api.params import Instant
from metropilot.audit import services
from metropilot.audit.schemas import AuditPageOut, entry_out
from metropilot.audit.services import AuditFilter
from metropilot.shared.errors import InvalidInput

__all__ = ["router"]

router = APIRouter(tags=["audit"])

_AUDIENCE = [audience(Audience.SUPERVISOR, Audience.ADMIN)]


class AuditQuery:
    """The filters both audit endpoints share; every one optional, all combined with AND."""

    def __init__(
        self,
        actor: Annotated[str | None, Query(description="Actor name, e.g. a username.")] = None,
        organisation: Annotated[
            str | None, Query(description="Code of the organisation the actor acted for.")
        ] = None,
        sector: Annotated[str | None, Query(description="public or private.")] = None,
        action: Annotated[str | None, Query(description="e.g. asset.updated")] = None,
        object_type: Annotated[str | None, Query(description="e.g. asset")] = None,
        object_id: Annotated[
            str | None, Query(description="e.g. 42; usually with object_type.")
        ] = None,
        since: Annotated[
            Instant | None,
            Query(alias="from", description="ISO 8601 with offset; entries at or after."),
        ] = None,
        until: Annotated[
            Instant | None,
            Query(alias="to", description="ISO 8601 with offset; entries strictly before."),
        ] = None,
    ) -> None:
        self.actor = actor
        self.organisation = organisation
        self.sector = sector
        self.action = action
        self.object_type = object_type
        self.object_id = object_id
        self.since = since
        self.until = until

    def to_filter(self) -> AuditFilter:
        return services.make_filter(
            actor=self.actor,
            organisation=self.organisation,
            sector=self.sector,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            since=self.since,
            until=self.until,
        )


@router.get(
    "/audit",
    dependencies=_AUDIENCE,
    summary="The audit trail, newest first, filtered and paginated",
    response_model=None,
    responses={200: {"model": AuditPageOut}},
)
def list_audit(
    uow: UowDep,
    settings: SettingsDep,
    query: Annotated[AuditQuery, Depends()],
    limit: Annotated[int | None, Query(ge=1, description="Page size.")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> Any:
    page_size = limit or settings.page_size_default
    if page_size > settings.page_size_max:
        raise InvalidInput(f"limit must be at most {settings.page_size_max}, got {page_size}")
    flt = AuditFilter(**{**_fields(query.to_filter()), "before_id": decode_cursor(cursor)})
    page, last_id = services.list_entries(uow, flt, page_size)
    return list_envelope([entry_out(r) for r in page], encode_cursor(last_id))


def _fields(flt: AuditFilter) -> dict[str, Any]:
    return {name: getattr(flt, name) for name in AuditFilter.__slots__}


@router.get(
    "/audit/export",
    dependencies=_AUDIENCE,
    summary="Every matching entry, oldest first, as one streamed CSV file",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_audit(
    request: Request,
    query: Annotated[AuditQuery, Depends()],
    format: Annotated[str, Query(pattern="^csv$", description="csv")] = "csv",
) -> StreamingResponse:
    flt = query.to_filter()
    factory = request.app.state.uow_factory

    def stream() -> Iterator[str]:
        # The request's own unit of work closes before the body is sent: use a fresh one.
        with factory() as export_uow:
            yield from services.csv_chunks(services.iter_entries(export_uow, flt))

    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="metropilot-audit.csv"'},
    )
