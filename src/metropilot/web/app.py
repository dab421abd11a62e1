"""The FastAPI application: every context's routes under ``/api/v1``, and the pages."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

import metropilot
from metropilot.accounts.audience import Audience, audience, check_audience
from metropilot.accounts.routes import router as organisations_router
from metropilot.alarms.routes import router as alarms_router
from metropilot.api.errors import document_errors, install_error_handlers
from metropilot.api.ratelimit import SlidingWindowLimiter
from metropilot.api.responses import JSONResponseFast
from metropilot.assets.routes import router as assets_router
from metropilot.audit.routes import router as audit_router
from metropilot.bootstrap import Platform
from metropilot.cases.routes import router as cases_router
from metropilot.contracts.routes import router as contracts_router
from metropilot.control.routes import router as control_router
from metropilot.db.uow import mark_serving_loop
from metropilot.reports.open311_routes import router as open311_router
from metropilot.reports.routes import router as reports_router
from metropilot.stream.routes import router as stream_router
from metropilot.telemetry.routes import router as telemetry_router
from metropilot.territory.routes import router as territory_router
from metropilot.web.apidocs import install_api_docs
from metropilot.web.contract_pages import router as contract_pages_router
from metropilot.web.pages import install_pages
from metropilot.web.security import install_security

__all__ = ["API_PREFIX", "ServingLoopMarker", "create_app"]

API_PREFIX = "/api/v1"


REPORT_BODY_BYTES = 60 * 1024 * 1024


class ServingLoopMarker:
    """Marks the event loop that serves the requests, on which a unit of work then refuses to
    begin (`metropilot.db.uow.BlockingOnEventLoop`): a route that would block it fails at once
    instead of stalling every other request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mark_serving_loop()
        await self.app(scope, receive, send)


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Metropilot",
        version=metropilot.__version__,
        summary="Open-source urban hypervisor: equipment, citizens, services and contractors.",
        docs_url=None,  # web.apidocs serves /docs from vendored files
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        default_response_class=JSONResponseFast,
    )
    app.state.settings = platform.settings
    app.state.uow_factory = platform.uow_factory
    app.state.platform = platform
    app.state.audience_check = check_audience
    app.state.login_limiter = SlidingWindowLimiter(platform.settings.login_attempts_per_minute)
    install_error_handlers(app)
    app.add_middleware(ServingLoopMarker)
    document_errors(app, own_errors=("/open311/",))
    # Level 5 compresses GeoJSON about 8x at a fraction of the CPU of the default level 9.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    install_security(
        app,
        max_body_bytes=platform.settings.max_request_bytes,
        cors_origins=platform.settings.cors_origins,
        hsts=platform.settings.behind_tls_proxy,
        limits={
            f"{API_PREFIX}/assets/import": platform.settings.max_import_bytes,
            # Up to 5 photos of 10 MB each, straight from a phone.
            "/report": REPORT_BODY_BYTES,
            "/open311/v2/requests.json": REPORT_BODY_BYTES,
            "/open311/v2/requests.xml": REPORT_BODY_BYTES,
        },
    )

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(territory_router)
    api.include_router(organisations_router)
    api.include_router(assets_router)
    api.include_router(audit_router)
    api.include_router(telemetry_router)
    api.include_router(alarms_router)
    api.include_router(reports_router)
    api.include_router(cases_router)
    api.include_router(contracts_router)
    api.include_router(control_router)
    api.include_router(stream_router)

    @api.get("/health", dependencies=[audience(Audience.PUBLIC)], tags=["platform"])
    def health() -> dict[str, str]:
        with platform.uow_factory() as uow:
            uow.connection.exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": metropilot.__version__}

    app.include_router(api)
    app.include_router(open311_router)
    app.include_router(contract_pages_router)
    install_pages(app)
    install_api_docs(app, f"{API_PREFIX}/openapi.json")
    return app
