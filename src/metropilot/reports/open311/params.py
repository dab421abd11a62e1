"""What Open311 clients send: the format suffix, form fields, lists, flags, datetimes. Pure.

An empty parameter counts as an absent one (the spec says so); a problem is an
:class:`~metropilot.reports.open311.errors.Open311Error` (400).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from metropilot.reports.open311.errors import Open311Error
from metropilot.reports.open311.wire import Format, Status
from metropilot.shared.bounds import check_instant
from metropilot.shared.errors import InvalidInput

__all__ = [
    "DEFAULT_REQUESTS_LIMIT",
    "MAX_DATE_SPAN",
    "format_from_path",
    "parse_attributes",
    "parse_boolean_param",
    "parse_comma_list",
    "parse_datetime_param",
    "parse_status_list",
    "parse_w3c",
    "resolve_date_window",
    "split_format",
]

# GET requests: "a span of 90 days or first 1000 requests returned, whichever is smallest".
MAX_DATE_SPAN = timedelta(days=90)
DEFAULT_REQUESTS_LIMIT = 1000


def format_from_path(path_suffix: str) -> Format:
    """``xml`` or ``json`` (the resource's extension, without the dot); anything else is a 400.

    The routes answer that error in XML, the format every client must read."""
    if path_suffix == "xml":
        return "xml"
    if path_suffix == "json":
        return "json"
    raise Open311Error.bad_request(
        f"unknown response format {path_suffix!r}: ask for .xml or .json"
    )


def split_format(resource: str) -> tuple[str, Format]:
    """``"123.json"`` → ``("123", "json")``: the last dot separates the format, so an id or a
    service code may itself contain dots."""
    name, dot, suffix = resource.rpartition(".")
    if not dot or not name:
        raise Open311Error.bad_request(
            f"{resource!r} names no response format: end it with .xml or .json"
        )
    return name, format_from_path(suffix)


_ATTRIBUTE_FIELD = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def parse_attributes(form_items: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    """The ``attribute[CODE]=v`` and ``attribute[CODE][]=v`` fields of a POST, by code.

    Values are stripped; an empty one counts as absent (the spec: an empty parameter is an absent
    one), so a code whose values are all empty is missing from the result. ``[]`` fields, or a
    plain field given more than once, give a list; a lone plain field gives a string. Other
    fields are not attributes and are ignored; a malformed ``attribute…`` name is a 400.
    """
    collected: dict[str, list[str]] = {}
    listed: set[str] = set()
    for name, raw in form_items:
        if not name.startswith("attribute"):
            continue
        match = _ATTRIBUTE_FIELD.match(name)
        if match is None:
            raise Open311Error.bad_request(
                f"malformed parameter name {name!r}: use attribute[CODE] or attribute[CODE][]"
            )
        code, brackets = match.group(1), match.group(2)
        if brackets:
            listed.add(code)
        value = raw.strip()
        if value:
            collected.setdefault(code, []).append(value)
    return {
        code: values if code in listed or len(values) > 1 else values[0]
        for code, values in collected.items()
    }


def parse_comma_list(value: str | None) -> list[str]:
    """``"a, b,,a"`` → ``["a", "b"]``: stripped, without empties or repeats; absent → ``[]``."""
    if value is None:
        return []
    items = (item.strip() for item in value.split(","))
    return list(dict.fromkeys(item for item in items if item))


def parse_status_list(value: str | None) -> list[Status]:
    """The ``status`` filter of GET requests: a comma list of ``open`` and ``closed``."""
    statuses: list[Status] = []
    for item in parse_comma_list(value):
        if item == "open":
            statuses.append("open")
        elif item == "closed":
            statuses.append("closed")
        else:
            raise Open311Error.bad_request(f"status: {item!r} is neither open nor closed")
    return statuses


def parse_boolean_param(name: str, value: str | None) -> bool:
    """``true``/``false`` (any case; also 1/0); absent or empty is false."""
    if value is None or not value.strip():
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise Open311Error.bad_request(f"{name}: expected true or false, got {value!r}")


# A '+' left unencoded in a query string arrives as a space: "…T10:00:00 02:00".
_SPACE_FOR_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def parse_w3c(value: str) -> datetime | None:
    """A datetime with an offset, or None when the text is not one (naive included)."""
    text = _SPACE_FOR_PLUS.sub(r"\1+\2", value.strip())
    if "T" not in text and " " not in text:
        return None  # a bare date: no time, so no offset
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed


def parse_datetime_param(name: str, value: str | None) -> datetime | None:
    """A W3C datetime with its offset (``2024-05-01T00:00:00+02:00`` or ``…Z``); absent or
    empty is None. Without an offset the instant is ambiguous, so it is refused, not guessed."""
    if value is None or not value.strip():
        return None
    parsed = parse_w3c(value)
    if parsed is None:
        raise Open311Error.bad_request(
            f"{name}: {value!r} is not an ISO 8601 date and time with a timezone offset, "
            "e.g. 2024-05-01T00:00:00+02:00 or 2024-05-01T00:00:00Z"
        )
    try:
        return check_instant(parsed, name)  # the platform's one range of instants
    except InvalidInput as exc:
        raise Open311Error.bad_request(exc.message) from None


def resolve_date_window(
    start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """The ``requested_datetime`` range GET requests searches: the last 90 days by default; one
    bound alone reaches 90 days from it; two bounds may not be more than 90 days apart."""
    if start is None and end is None:
        return now - MAX_DATE_SPAN, now
    if start is None:
        assert end is not None
        return end - MAX_DATE_SPAN, end
    if end is None:
        return start, start + MAX_DATE_SPAN
    if end < start:
        raise Open311Error.bad_request("end_date is before start_date")
    if end - start > MAX_DATE_SPAN:
        raise Open311Error.bad_request("start_date and end_date may not be more than 90 days apart")
    return start, end
