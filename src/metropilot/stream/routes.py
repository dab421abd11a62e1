"""HTTP: the live stream of status and alarm changes, as Server-Sent Events."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from metropilot.accounts.audience import ASSET_READERS, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.policy import asset_scope
from metropilot.api.errors import error_response
from metropilot.api.params import Instant
from metropilot.shared.clock import utcnow
from metropilot.stream import services
from metropilot.stream.model import parse_communes, parse_event_id, parse_since, parse_types
from metropilot.stream.schemas import SSE_MEDIA_TYPE, openapi_responses

__all__ = ["EventStreamResponse", "install_stream", "router", "stream_hub"]

router = APIRouter(tags=["stream"])


class EventStreamResponse(StreamingResponse):
    """Closes the event generator however the response ends.

    When the client leaves while the generator waits at a ``yield`` (its last chunk not yet
    taken by the server), cancelling the response does not reach the generator; closing it here
    runs its cleanup at once, which gives the stream's place back.
    """

    media_type = SSE_MEDIA_TYPE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()


_HUB = "stream_hub"


def install_stream(app: FastAPI, config: services.StreamConfig | None = None) -> services.StreamHub:
    """Give an application its stream hub (done on first use otherwise, from the settings)."""
    state = app.state
    hub = services.StreamHub(
        state.platform.engine,
        state.uow_factory,
        config or services.StreamConfig.from_settings(state.settings),
    )
    setattr(state, _HUB, hub)
    return hub


def stream_hub(app: FastAPI) -> services.StreamHub:
    hub = getattr(app.state, _HUB, None)
    if isinstance(hub, services.StreamHub):
        return hub
    return install_stream(app)


@router.get(
    "/stream",
    dependencies=[audience(*ASSET_READERS)],
    summary="Live asset status and alarm changes in the caller's scope (Server-Sent Events)",
    response_class=EventStreamResponse,
    responses=openapi_responses(),
)
async def stream(
    request: Request,
    principal: CurrentPrincipal,
    last_event_id_header: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="Resume after this event id (browsers send it when they reconnect).",
        ),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Query(description="Resume after this event id; the Last-Event-ID header wins."),
    ] = None,
    since: Annotated[
        Instant | None,
        Query(description="Without an event id: replay from this ISO 8601 time (24 h at most)."),
    ] = None,
    types: Annotated[
        str | None,
        Query(description="Event types, comma-separated: asset.status, alarm.raised, alarm.*"),
    ] = None,
    commune: Annotated[
        str | None, Query(description="INSEE codes, comma-separated; narrows the scope.")
    ] = None,
    max_events: Annotated[
        int | None, Query(ge=1, le=100_000, description="Test and ops aid: end after N events.")
    ] = None,
    timeout_s: Annotated[
        float | None,
        Query(ge=0, le=86_400, description="Test and ops aid: end after this many seconds."),
    ] = None,
) -> Response:
    flt = services.StreamFilter(asset_scope(principal), parse_types(types), parse_communes(commune))
    hub = stream_hub(request.app)
    resume: int | None = None
    if last_event_id_header:
        resume = parse_event_id(last_event_id_header)
    elif last_event_id:
        resume = parse_event_id(last_event_id, "last_event_id")
    starting = None
    if resume is None and since is not None:
        starting = parse_since(since, utcnow(), hub.config.replay_window)
    slot = hub.try_acquire()
    if slot is None:
        refused = (
            error_response(503, "shutting_down", "this server is stopping; retry shortly")
            if hub.closing
            else error_response(
                503,
                "too_many_streams",
                f"this server already serves {hub.config.max_streams} streams; retry shortly",
            )
        )
        refused.headers["Retry-After"] = str(max(1, hub.config.retry_ms // 1000))
        return refused
    try:
        start = await hub.start(resume, starting)
    except BaseException:
        slot.release()
        raise
    body = services.event_stream(
        hub,
        slot,
        start,
        flt,
        is_disconnected=request.is_disconnected,
        max_events=max_events,
        timeout_s=timeout_s,
    )
    return EventStreamResponse(
        body,
        headers={
            "Cache-Control": "no-cache, no-store",
            "X-Accel-Buffering": "no",  # nginx: pass each event on at once
        },
    )
