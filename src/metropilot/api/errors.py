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

__all__ = ["ERROR_BODY_SCHEMA", "document_errors", "error_response", "install_error_handlers"]

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponseFast:
    return JSONResponseFast(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status
    )


# The one error body, as the OpenAPI document states it for every 4xx of the API.
ERROR_BODY_SCHEMA: dict[str, Any] = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "stable, machine-readable"},
                "message": {"type": "string", "description": "what is wrong, for a person"},
                "details": {"description": "e.g. [{loc, message}] for several problems"},
            },
        }
    },
}
_ERRORS = {
    "description": "The request was refused: 400 a bad parameter, 401 not signed in, 403 not "
    "allowed, 404 unknown, 409 a conflict, 413 too large, 429 too many.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def document_errors(app: FastAPI, *, own_errors: tuple[str, ...] = ()) -> None:
    """State in the OpenAPI document the errors the API really answers: FastAPI documents a
    422 ``HTTPValidationError`` that this API never sends (a refused parameter is a 400 with
    the error body), and nothing of its other 4xx. Paths under ``own_errors`` prefixes answer
    errors of their own format (Open311's ``errors`` document): only the 422 is removed."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                if path.startswith(own_errors):
                    responses.setdefault(
                        "4XX", {"description": "The specification's errors document."}
                    )
                else:
                    responses.setdefault("4XX", _ERRORS)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["ErrorBody"] = ERROR_BODY_SCHEMA
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


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
