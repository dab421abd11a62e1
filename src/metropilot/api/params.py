"""The parameter types routes share: one identifier and one instant, wherever they come from.

An id in a path (``/alarms/{alarm_id}``), a query (``?case=12``), a JSON body (``{"asset": 12}``)
or a list (``cabinet_ids``) is an ``ObjectId``: a whole number from 1 to 2³¹−1, so that none
reaches the database beyond what its integer columns hold. One out of that range answers 400
``invalid_input`` (as ``/assets/{id}`` always did), never 404: it names nothing that could
exist, and the OpenAPI document states the range. Comma-separated ids (``?asset=12,40``) go
through :func:`id_list`, which answers the same 400 ``invalid_input`` with the same bound.

An instant is an ``Instant``: ISO 8601 with a UTC offset, from 1970 to 9000, answered 400
``invalid_datetime`` otherwise (see ``metropilot.shared.bounds``).
"""

from __future__ import annotations

from metropilot.shared.bounds import ID_MAX, Id, Instant, parse_ids

__all__ = ["ID_MAX", "Instant", "ObjectId", "id_list"]

ObjectId = Id


def id_list(value: str | None, name: str) -> list[int]:
    """Comma-separated ids from a query parameter (``"12,40"``); absent or empty is []."""
    return parse_ids(value, name)
