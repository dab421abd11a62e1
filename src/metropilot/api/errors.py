"""One error shape for the whole API: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from metropilot.api.responses import JSONResponseFast
from metropilot.shared.bounds import INVALID_DATETIME
from metropilot.shared.errors import DomainError

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponseFast:
    return JSONResponseFast(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status
    )


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        details.append({"loc": loc, "message": err.get("msg", "invalid")})
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponseFast:
        response = error_response(exc.http_status, exc.code, exc.message, exc.details)
        if exc.http_status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="metropilot"'
        if exc.http_status == 429 and isinstance(exc.details, dict):
            response.headers["Retry-After"] = str(exc.details.get("retry_after_s", 60))
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponseFast:
        details = _validation_details(exc)
        errors = exc.errors()
        if errors and all(e.get("type") == INVALID_DATETIME for e in errors):
            # A refused date-time answers the same code wherever it was given (query, body,
            # or a route that parses it itself), named by its parameter.
            message = "; ".join(
                f"{e['loc'][-1]}: {e.get('msg', 'invalid')}" if e.get("loc") else str(e["msg"])
                for e in errors[:5]
            )
            return error_response(400, INVALID_DATETIME, message, details)
        summary = "; ".join(f"{d['loc']}: {d['message']}" for d in details[:5])
        return error_response(400, "invalid_input", f"invalid request: {summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponseFast:
        phrase = HTTPStatus(exc.status_code).phrase
        code = phrase.lower().replace(" ", "_").replace("-", "_")
        message = exc.detail if isinstance(exc.detail, str) else phrase
        return error_response(exc.status_code, code, message)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponseFast:
        # Two requests raced for the same unique value (a username, a reference): the loser is
        # told plainly, as if it had checked a moment later.
        return error_response(409, "conflict", "this conflicts with a record that now exists")

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponseFast:
        # The database refused a value the validation let through (a NUL character, a number
        # beyond its column): still the caller's input, so a 400, never a 500.
        return error_response(
            400,
            "invalid_input",
            "a value is not acceptable (e.g. a NUL character or a number out of range)",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponseFast:
        reference = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", reference, request.method, request.url.path)
        return error_response(
            500, "internal_error", f"internal error; quote reference {reference} to support"
        )
