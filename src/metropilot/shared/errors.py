"""Domain errors. Entry points translate them: HTTP to a 4xx JSON body, the CLI to a message."""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "Problem",
]


class Problem(dict[str, Any]):
    """One precise complaint about an input: where it is (``loc``) and what is wrong."""

    def __init__(self, loc: str, message: str, **extra: Any) -> None:
        super().__init__(loc=loc, message=message, **extra)


class DomainError(Exception):
    """Base of every error a user can cause; ``code`` is stable and machine-readable."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid_input"
    http_status = 400


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403
