"""Open311 errors: what a client caused, answered as the spec's ``errors`` document. Pure.

404 for an unknown jurisdiction, service, token or request; 403 for a missing or invalid
``api_key``; 400 for anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from metropilot.reports.open311.wire import Format, Record, Rendered, Repeated, render_document

__all__ = ["ErrorEntry", "Open311Error", "render_errors"]


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    code: str | int
    description: str


class Open311Error(Exception):
    """An error the client caused, answered with ``status`` and the spec's ``errors`` body.

    The spec lets the body carry several errors (it is a list): ``additional`` holds the ones
    after the first, e.g. one per invalid attribute.
    """

    def __init__(
        self,
        status: int,
        code: str | int,
        description: str,
        *,
        additional: Sequence[ErrorEntry] = (),
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.entries: tuple[ErrorEntry, ...] = (ErrorEntry(code, description), *additional)

    @classmethod
    def bad_request(cls, first: str, *more: str) -> Open311Error:
        """400: a parameter is missing or invalid; one error entry per description."""
        return cls(400, 400, first, additional=[ErrorEntry(400, m) for m in more])

    @classmethod
    def forbidden(cls, description: str) -> Open311Error:
        """403: the api_key is missing or not valid."""
        return cls(403, 403, description)

    @classmethod
    def not_found(cls, description: str) -> Open311Error:
        """404: unknown jurisdiction, service code, token or request."""
        return cls(404, 404, description)

    def render(self, fmt: Format) -> Rendered:
        return render_errors(self.entries, fmt)


def render_errors(errors: Iterable[ErrorEntry], fmt: Format) -> Rendered:
    document = Repeated(
        "error",
        tuple(Record((("code", e.code), ("description", e.description))) for e in errors),
    )
    return render_document("errors", document, fmt)
