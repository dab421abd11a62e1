"""The ranges identifiers and instants from outside must fall in before any code computes with them.

A request may carry any integer and any calendar date; the database and Python's arithmetic may
not hold them. Every id and every instant a caller sends is checked here once, with a reason the
caller can act on, so that no query, no ``timedelta`` and no partition name ever meets a number
it cannot hold (which would answer 500 instead of 400).

``Id`` and ``Instant`` are pydantic types: request bodies use them as field types and routes as
parameter types (``metropilot.api.params``), so the OpenAPI document states the same bounds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from metropilot.shared.errors import InvalidInput

__all__ = [
    "EARLIEST_INSTANT",
    "ID_MAX",
    "INVALID_DATETIME",
    "LATEST_INSTANT",
    "Id",
    "Instant",
    "check_id",
    "check_instant",
    "parse_id",
    "parse_ids",
    "parse_instant",
]

# Ids are PostgreSQL INTEGER columns (SQLite holds 64 bits, but one bound serves both engines).
ID_MAX = 2**31 - 1

# The instants the platform accepts from a caller. Not before 1970: cursors and the stream carry
# times as non-negative milliseconds since the epoch. Before 9000: a window, a deadline or a
# period computed from a given instant (days, months, a year or a century added) stays well
# within what Python's datetime holds (year 9999); PostgreSQL holds far more.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)

# The error code of every refused date-time, from a query, a body or an Open311 parameter.
INVALID_DATETIME = "invalid_datetime"

_EXAMPLES = "write e.g. 2026-11-27T08:00:00+01:00 or 2026-11-27T07:00:00Z"


def _named(field_name: str, text: str) -> str:
    # Pydantic errors carry the field's location already: they are given no name here.
    return f"{field_name}: {text}" if field_name else text


def check_id(value: int, field_name: str) -> int:
    """``value`` if it can be an id; InvalidInput otherwise (0, negative, or beyond 32 bits)."""
    if not 1 <= value <= ID_MAX:
        raise InvalidInput(
            _named(field_name, f"{value} is not an identifier (whole numbers 1 to {ID_MAX})"),
        )
    return value


def parse_id(text: str, field_name: str) -> int:
    """An id written in ASCII digits; InvalidInput otherwise."""
    text = text.strip()
    # str.isdigit() also accepts '²' or Arabic-Indic digits, which int() refuses or reads
    # differently: only 0-9, and not more than an id can have.
    if not text or len(text) > len(str(ID_MAX)) or not all("0" <= c <= "9" for c in text):
        raise InvalidInput(
            _named(field_name, f"{text!r} is not an identifier (whole numbers 1 to {ID_MAX})"),
        )
    return check_id(int(text), field_name)


def parse_ids(text: str | None, field_name: str) -> list[int]:
    """Comma-separated ids (``"12,40"``); empty items are skipped; absent or empty is []."""
    if not text:
        return []
    return [parse_id(item, field_name) for item in text.split(",") if item.strip()]


def check_instant(value: datetime, field_name: str) -> datetime:
    """``value`` in UTC if it has an offset and lies in the accepted range; else InvalidInput."""
    return _checked(value, field_name, repr(value.isoformat()))


def parse_instant(value: str, field_name: str) -> datetime:
    """An ISO 8601 time with an offset (``…Z`` or ``…+01:00``), in range, in UTC."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            _named(field_name, f"{value!r} is not an ISO 8601 date-time; {_EXAMPLES}"),
            code=INVALID_DATETIME,
        ) from None
    return _checked(parsed, field_name, repr(text))


def _checked(value: datetime, field_name: str, quoted: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            _named(
                field_name,
                f"{quoted} has no UTC offset, so the instant is ambiguous; add one: {_EXAMPLES}",
            ),
            code=INVALID_DATETIME,
        )
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 falls in year 0 in UTC
        in_utc = None
    if in_utc is None or not EARLIEST_INSTANT <= in_utc < LATEST_INSTANT:
        raise InvalidInput(
            _named(
                field_name,
                f"{quoted} is outside the instants this platform handles "
                f"({EARLIEST_INSTANT:%Y-%m-%d} to {LATEST_INSTANT:%Y-%m-%d}, UTC)",
            ),
            code=INVALID_DATETIME,
        )
    return in_utc


def _instant(value: Any) -> datetime:
    try:
        if isinstance(value, datetime):
            return check_instant(value, "")
        if isinstance(value, str):
            return parse_instant(value, "")
    except InvalidInput as exc:
        raise PydanticCustomError(INVALID_DATETIME, "{reason}", {"reason": exc.message}) from None
    # Numbers are not read as epoch seconds: a clock in ms or µs would be read silently wrong.
    raise PydanticCustomError(
        INVALID_DATETIME,
        "{reason}",
        {"reason": f"{value!r} is not an ISO 8601 date-time; {_EXAMPLES}"},
    )


# A stored object's id, wherever a caller gives it: path, query, JSON or form body, lists of ids.
Id = Annotated[int, Field(ge=1, le=ID_MAX)]

# An instant a caller gives (query or body): ISO 8601 with an offset, within the accepted range,
# answered in UTC; refused with the code ``invalid_datetime``.
Instant = Annotated[
    datetime,
    BeforeValidator(_instant),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
