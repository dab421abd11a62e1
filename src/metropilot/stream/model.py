"""The live stream's vocabulary: event types, journal entries and the Server-Sent Events framing.

Pure: no I/O. The journal (``stream.journal``) turns domain events into ``JournalEntry`` values
and stores them numbered; the endpoint reads them back as ``StreamEvent`` values and frames each
one as an SSE message whose ``id`` is the journal id, so a client resumes with ``Last-Event-ID``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import orjson

from metropilot.shared.bounds import check_instant, parse_instant
from metropilot.shared.errors import InvalidInput
from metropilot.shared.journal import JournalEntry

__all__ = [
    "ALARM_ACKNOWLEDGED",
    "ALARM_CLEARED",
    "ALARM_ESCALATED",
    "ALARM_RAISED",
    "ASSET_STATUS",
    "CASE_OPENED",
    "CASE_ROUTED",
    "CASE_TRIAGED",
    "EVENT_TYPES",
    "GAP",
    "WORK_ORDER_SLA",
    "JournalEntry",
    "StreamEvent",
    "event_payload",
    "jsonable",
    "parse_communes",
    "parse_event_id",
    "parse_since",
    "parse_types",
    "sse_comment",
    "sse_event",
    "sse_retry",
]

ASSET_STATUS = "asset.status"
ALARM_RAISED = "alarm.raised"
ALARM_ACKNOWLEDGED = "alarm.acknowledged"
ALARM_CLEARED = "alarm.cleared"
ALARM_ESCALATED = "alarm.escalated"
CASE_OPENED = "case.opened"
CASE_ROUTED = "case.routed"
CASE_TRIAGED = "case.triaged"
WORK_ORDER_SLA = "work_order.sla"
WORK_ORDER_CHANGED = "work_order.changed"
REPORT_SUBMITTED = "report.submitted"
# The types a client may ask for with ?types=; the journal stores only these.
EVENT_TYPES = (
    ASSET_STATUS,
    ALARM_RAISED,
    ALARM_ACKNOWLEDGED,
    ALARM_CLEARED,
    ALARM_ESCALATED,
    CASE_OPENED,
    CASE_ROUTED,
    CASE_TRIAGED,
    WORK_ORDER_SLA,
    WORK_ORDER_CHANGED,
    REPORT_SUBMITTED,
)
# Sent without an id when a resuming client asked for events the retention already removed:
# it missed something and should reload the state it shows.
GAP = "stream.gap"

_EVENT_ID = re.compile(r"^[0-9]{1,18}$")
_INSEE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
# Field names of domain events → the names the API uses (an alarm carries "asset", not "asset_id").
_RENAMED = {"asset_id": "asset", "commune_insee": "commune", "alarm_id": "alarm"}
# Who did it stays in the audit trail and the alarm itself; the stream says what happened.
_NOT_IN_PAYLOAD = frozenset({"occurred_at", "actor"})


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One journaled change as a client receives it."""

    id: int
    at: datetime
    type: str
    payload: dict[str, Any]

    def data(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "at": self.at.isoformat(), **self.payload}

    def frame(self) -> bytes:
        return sse_event(self.id, self.type, orjson.dumps(self.data()))


def jsonable(value: Any) -> Any:
    """A value as JSON can carry it: enums by value, datetimes in ISO 8601, tuples as lists."""
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def event_payload(event: object) -> dict[str, Any]:
    """The fields of a domain event as the stream shows them (``asset_id`` → ``asset``, …)."""
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        names = [f.name for f in dataclasses.fields(event)]
    else:
        names = [n for n in vars(event) if not n.startswith("_")]
    return {
        _RENAMED.get(name, name): jsonable(getattr(event, name))
        for name in names
        if name not in _NOT_IN_PAYLOAD
    }


# --- Server-Sent Events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html)


def sse_event(event_id: int | None, event_type: str, data: bytes) -> bytes:
    """One message. ``data`` is compact JSON, so it holds no newline and takes one line."""
    head = b"" if event_id is None else b"id: %d\n" % event_id
    return head + b"event: " + event_type.encode() + b"\ndata: " + data + b"\n\n"


def sse_comment(text: str) -> bytes:
    """A comment line: clients ignore it, proxies see traffic and keep the connection open."""
    return b": " + text.replace("\n", " ").encode() + b"\n\n"


def sse_retry(milliseconds: int) -> bytes:
    """How long a client waits before reconnecting after the connection drops."""
    return b"retry: %d\n\n" % milliseconds


# --- parsing the request ----------------------------------------------------------------------


def parse_event_id(value: str, source: str = "Last-Event-ID") -> int:
    """A journal id sent back by a client: a non-negative integer, nothing else."""
    text = value.strip()
    if not _EVENT_ID.match(text):
        raise InvalidInput(
            f"{source} must be the id of an event this stream sent (a non-negative integer), "
            f"got {value[:40]!r}",
            code="invalid_last_event_id",
        )
    return int(text)


def parse_types(value: str | None) -> tuple[str, ...] | None:
    """``asset.status,alarm.raised`` → the types; ``alarm.*`` stands for every alarm type."""
    if not value:
        return None
    wanted: list[str] = []
    unknown: list[str] = []
    for item in (v.strip() for v in value.split(",")):
        if not item:
            continue
        if item.endswith(".*"):
            family = [t for t in EVENT_TYPES if t.startswith(item[:-1])]
            wanted += family
            if not family:
                unknown.append(item)
        elif item in EVENT_TYPES:
            wanted.append(item)
        else:
            unknown.append(item)
    if unknown:
        raise InvalidInput(
            f"types: unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}",
            code="unknown_event_type",
        )
    return tuple(dict.fromkeys(wanted)) or None


def parse_communes(value: str | None) -> tuple[str, ...] | None:
    """INSEE codes, comma-separated; they narrow the caller's scope, never widen it."""
    if not value:
        return None
    codes = [v.strip().upper() for v in value.split(",") if v.strip()]
    wrong = [c for c in codes if not _INSEE.match(c)]
    if wrong:
        raise InvalidInput(
            f"commune: not an INSEE code: {', '.join(wrong)}", code="invalid_commune"
        )
    return tuple(dict.fromkeys(codes)) or None


def parse_since(value: str | datetime, now: datetime, window: timedelta) -> datetime:
    """An ISO 8601 time with offset, within the replay window before ``now``."""
    parsed = (
        check_instant(value, "since")
        if isinstance(value, datetime)
        else parse_instant(value[:64], "since")
    )
    if parsed > now:
        raise InvalidInput("since is in the future", code="since_out_of_range")
    if parsed < now - window:
        hours = window.total_seconds() / 3600
        raise InvalidInput(
            f"since goes back at most {hours:g} h (the stream's replay window)",
            code="since_out_of_range",
        )
    return parsed
