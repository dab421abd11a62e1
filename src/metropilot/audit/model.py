"""The hash chain of the audit trail, as pure functions: sealing entries and verifying a sequence.

Each stored entry carries the SHA-256 of a canonical serialisation of its own fields **and of the
previous entry's hash**. Editing an entry changes its hash; deleting, inserting or reordering
entries breaks the link from one entry to the next; deleting the newest entries is caught by the
head (the last id and hash, kept in its own row and, better, published outside the database).

The serialisation is canonical so that the same entry gives the same bytes whichever database it
came back from: keys sorted, no whitespace, times as ISO 8601 UTC with microseconds, and numbers
written the way a JSON document round-trips through SQLite text and PostgreSQL JSONB alike.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from metropilot.shared.audit import AuditEntry
from metropilot.shared.bounds import parse_instant
from metropilot.shared.errors import InvalidInput

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_HASH",
    "SECTORS",
    "AuditHead",
    "AuditRecord",
    "ChainProblem",
    "ChainVerifier",
    "ProblemKind",
    "VerifyReport",
    "canonical_bytes",
    "canonical_json",
    "canonical_time",
    "is_stored_form",
    "parse_anchor",
    "parse_instant",
    "parse_json",
    "record_hash",
    "seal",
    "stored_form",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
"""What the first entry's ``prev_hash`` holds: there is no entry before it."""

FORMAT_VERSION = 1
"""Part of every hashed document, so that a future serialisation can be told apart."""

SECTORS = ("public", "private")

_EXACT_FLOAT_INT = 2**53
_INT64 = 2**63


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry as stored: the change, who made it, and its place in the chain."""

    id: int
    at: datetime
    actor_kind: str
    actor_name: str
    actor_id: int | None
    organisation: str | None
    sector: str | None
    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The newest entry's id and hash, kept apart from the entries so a truncated tail shows."""

    last_id: int
    last_hash: str
    updated_at: datetime | None = None


class ProblemKind(StrEnum):
    CONTENT_EDITED = "content_edited"
    CHAIN_BROKEN = "chain_broken"
    HEAD_MISMATCH = "head_mismatch"
    ANCHOR_MISMATCH = "anchor_mismatch"


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """What is wrong, in plain words, and where: the entry and, for a broken link, its neighbour."""

    kind: ProblemKind
    entry_id: int | None
    message: str
    previous_id: int | None = None


@dataclass(slots=True)
class VerifyReport:
    entries_checked: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    last_id: int | None = None
    last_hash: str | None = None
    head: AuditHead | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def canonical_time(at: datetime) -> str:
    """``2026-11-27T04:13:00.123456Z``: UTC, always six fractional digits, never an offset."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    # %-formatting: twice as fast as isoformat, and this runs for every entry.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        at.year,
        at.month,
        at.day,
        at.hour,
        at.minute,
        at.second,
        at.microsecond,
    )


# How numbers survive storage. SQLite returns the JSON text orjson wrote; PostgreSQL JSONB keeps
# decimal digits, not binary floats, and renders them without exponent: 36.0 comes back as 36.0,
# but 1e+16 comes back as 10000000000000000 (an integer) and -0.0 as 0.0. So before a document
# is stored (and hashed), floats that JSONB would turn into integers become those integers, and
# -0.0 becomes 0.0; on reading, an integer beyond 64 bits (which orjson cannot write, so it was
# a float) becomes a float again. Every other number reads back exactly as it was written.


def _stored_float(text: str) -> float | int:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text}")
    if -_EXACT_FLOAT_INT < value < _EXACT_FLOAT_INT:
        return value + 0.0  # -0.0 + 0.0 is 0.0
    if -_INT64 <= value < _INT64:
        return int(Decimal(text))  # integral at this size: exactly the digits JSONB keeps
    return value


def _read_int(text: str) -> int | float:
    value = int(text)
    return value if -_INT64 <= value < _INT64 else float(value)


_PLAIN = frozenset((str, bool, type(None)))
_STORING = json.JSONDecoder(parse_float=_stored_float, parse_int=_read_int)
_READING = json.JSONDecoder(parse_int=_read_int)
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
)
_encode_str = json.encoder.encode_basestring  # the encoder's own string escaping, in C


def stored_form(text: str | bytes) -> Any:
    """What a JSON document (as orjson writes it) must be stored as so that it reads back equal.

    The audit sink stores and hashes this; ``is_stored_form`` says when it can be skipped.
    """
    return _STORING.decode(text.decode("utf-8") if isinstance(text, bytes) else text)


def is_stored_form(changes: Mapping[str, Any]) -> bool:
    """Whether ``{field: [before, after]}`` changes are already in stored form, as almost every
    entry is (strings, booleans, nulls, 64-bit integers, floats below 2**53): a check much
    cheaper than the round trip through ``stored_form``."""
    for key, value in changes.items():
        if type(key) is not str or type(value) is not list:
            return False
    # Strings, booleans and nulls are most of it: set them aside in one comprehension.
    for item in [x for value in changes.values() for x in value if type(x) not in _PLAIN]:
        kind = type(item)
        if kind is int:
            if -_INT64 <= item < _INT64:
                continue
            return False
        # NaN and infinities fail the range test; -0.0 is falsy with a negative sign.
        if (
            kind is float
            and -_EXACT_FLOAT_INT < item < _EXACT_FLOAT_INT
            and (item or math.copysign(1.0, item) > 0)
        ):
            continue
        return False
    return True


def parse_json(text: str | bytes) -> Any:
    """Stored JSON text, from either database, to the values it was stored from.

    Stored changes are read back only through this, so the same document gives the same values,
    and so the same canonical bytes, whichever database rendered it.
    """
    return _READING.decode(text.decode("utf-8") if isinstance(text, bytes) else text)


def canonical_json(changes: Mapping[str, Any]) -> str:
    """The changes as the chain hashes them; also what the CSV export writes.

    ``changes`` must be in stored form, as ``parse_json`` returns them.
    """
    return _ENCODER.encode(changes)


def _opt_str(value: str | None) -> str:
    return "null" if value is None else _encode_str(value)


def canonical_bytes(
    *,
    id: int,
    at: datetime,
    actor_kind: str,
    actor_name: str,
    actor_id: int | None,
    organisation: str | None,
    sector: str | None,
    action: str,
    object_type: str,
    object_id: str,
    changes: Mapping[str, Any],
    prev_hash: str,
) -> bytes:
    """The exact bytes an entry's hash covers: every field, its id, and the previous hash.

    They are ``json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    encoded as UTF-8, for the document ``{"v": 1, "id", "at", "actor_kind", "actor_name",
    "actor_id", "organisation", "sector", "action", "object_type", "object_id", "changes",
    "prev_hash"}`` with ``at`` written by ``canonical_time`` and ``changes`` in stored form.
    The text is assembled key by key in sorted order rather than by ``json.dumps`` because this
    runs for every entry appended or verified; a test checks both give the same bytes.
    """
    text = "".join(
        (
            '{"action":',
            _encode_str(action),
            ',"actor_id":',
            "null" if actor_id is None else str(int(actor_id)),
            ',"actor_kind":',
            _encode_str(actor_kind),
            ',"actor_name":',
            _encode_str(actor_name),
            ',"at":"',
            canonical_time(at),
            '","changes":',
            _ENCODER.encode(changes),
            ',"id":',
            str(int(id)),
            ',"object_id":',
            _encode_str(object_id),
            ',"object_type":',
            _encode_str(object_type),
            ',"organisation":',
            _opt_str(organisation),
            ',"prev_hash":',
            _encode_str(prev_hash),
            ',"sector":',
            _opt_str(sector),
            ',"v":',
            str(FORMAT_VERSION),
            "}",
        )
    )
    return text.encode("utf-8")


def record_hash(record: AuditRecord) -> str:
    """The hash this record should carry, recomputed from its fields."""
    return hashlib.sha256(
        canonical_bytes(
            id=record.id,
            at=record.at,
            actor_kind=record.actor_kind,
            actor_name=record.actor_name,
            actor_id=record.actor_id,
            organisation=record.organisation,
            sector=record.sector,
            action=record.action,
            object_type=record.object_type,
            object_id=record.object_id,
            changes=record.changes,
            prev_hash=record.prev_hash,
        )
    ).hexdigest()


def seal(
    entries: Sequence[AuditEntry],
    changes: Sequence[dict[str, Any]],
    *,
    first_id: int,
    prev_hash: str,
) -> list[AuditRecord]:
    """Number and chain new entries after the entry whose hash is ``prev_hash``.

    ``changes`` are the entries' changes in stored form (see ``stored_form``), exactly as they
    will be stored and read back, so that what is hashed is what a later verification
    recomputes.
    """
    records: list[AuditRecord] = []
    sha256 = hashlib.sha256
    for offset, (entry, document) in enumerate(zip(entries, changes, strict=True)):
        actor = entry.actor
        at = entry.at if entry.at.tzinfo is UTC else entry.at.astimezone(UTC)
        record_id = first_id + offset
        digest = sha256(
            canonical_bytes(
                id=record_id,
                at=at,
                actor_kind=actor.kind.value,
                actor_name=actor.name,
                actor_id=actor.id,
                organisation=actor.organisation,
                sector=actor.sector,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                changes=document,
                prev_hash=prev_hash,
            )
        ).hexdigest()
        records.append(
            AuditRecord(
                id=record_id,
                at=at,
                actor_kind=actor.kind.value,
                actor_name=actor.name,
                actor_id=actor.id,
                organisation=actor.organisation,
                sector=actor.sector,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                changes=document,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_hash = digest
    return records


class ChainVerifier:
    """Checks entries one at a time, in id order, so a trail of millions streams through it.

    ``anchors`` are heads published earlier (``{id: hash}``): the one defence against someone
    who rewrote the whole chain and its head, since they cannot change what was published.
    """

    def __init__(self, anchors: Mapping[int, str] | None = None) -> None:
        self.report = VerifyReport()
        self._anchors = dict(anchors or {})
        self._seen_anchors: set[int] = set()
        self._previous_id: int | None = None
        self._previous_hash = GENESIS_HASH

    @property
    def failed(self) -> bool:
        return bool(self.report.problems)

    def feed(self, record: AuditRecord) -> ChainProblem | None:
        """Check the next entry; returns the first problem found (and keeps it in the report)."""
        if self.failed:
            return self.report.problems[0]
        self.report.entries_checked += 1
        problem = self._check(record)
        if problem is not None:
            self.report.problems.append(problem)
            return problem
        self._previous_id, self._previous_hash = record.id, record.hash
        self.report.last_id, self.report.last_hash = record.id, record.hash
        return None

    def _check(self, record: AuditRecord) -> ChainProblem | None:
        if record_hash(record) != record.hash:
            return ChainProblem(
                ProblemKind.CONTENT_EDITED,
                record.id,
                f"entry {record.id} was edited after it was written: its content no longer "
                "matches its hash",
            )
        if record.prev_hash != self._previous_hash:
            return self._broken_link(record)
        expected = self._anchors.get(record.id)
        if expected is not None:
            self._seen_anchors.add(record.id)
            if expected != record.hash:
                return ChainProblem(
                    ProblemKind.ANCHOR_MISMATCH,
                    record.id,
                    f"entry {record.id} does not have the hash that was published for it "
                    f"({expected[:16]}…): the trail was rewritten from there or earlier",
                )
        return None

    def _broken_link(self, record: AuditRecord) -> ChainProblem:
        previous = self._previous_id
        if previous is None:
            return ChainProblem(
                ProblemKind.CHAIN_BROKEN,
                record.id,
                f"entry {record.id} is the oldest entry left but does not start the chain: "
                "the entries before it were deleted",
            )
        if record.id > previous + 1:
            missing = (
                f"entry {previous + 1} is missing"
                if record.id == previous + 2
                else f"entries {previous + 1} to {record.id - 1} are missing"
            )
            cause = f"{missing}: deleted"
        else:
            cause = f"entry {previous} was rewritten with a new hash, or entries were reordered"
        return ChainProblem(
            ProblemKind.CHAIN_BROKEN,
            record.id,
            f"the chain is broken between entry {previous} and entry {record.id}: {cause}",
            previous_id=previous,
        )

    def finish(self, head: AuditHead | None) -> VerifyReport:
        """Compare the newest entry with the head, and check every published anchor was seen."""
        report = self.report
        report.head = head
        if self.failed:
            return report
        problem = self._check_head(head)
        if problem is None:
            problem = self._check_unseen_anchors()
        if problem is not None:
            report.problems.append(problem)
        return report

    def _check_head(self, head: AuditHead | None) -> ChainProblem | None:
        last = self.report.last_id
        if head is None:
            if last is None:
                return None
            return ChainProblem(
                ProblemKind.HEAD_MISMATCH,
                last,
                f"the head row is missing although the trail holds entries up to {last}",
            )
        if last is None:
            return ChainProblem(
                ProblemKind.HEAD_MISMATCH,
                head.last_id,
                f"the trail is empty but the head records entry {head.last_id}: "
                "every entry was deleted",
            )
        if head.last_id > last:
            return ChainProblem(
                ProblemKind.HEAD_MISMATCH,
                last,
                f"the newest entry is {last} but the head records entry {head.last_id}: "
                f"the newest entries ({last + 1} to {head.last_id}) were deleted",
            )
        if head.last_id < last:
            return ChainProblem(
                ProblemKind.HEAD_MISMATCH,
                last,
                f"the head records entry {head.last_id} but the trail goes on to entry {last}: "
                "those entries were not written by the platform",
            )
        if head.last_hash != self.report.last_hash:
            return ChainProblem(
                ProblemKind.HEAD_MISMATCH,
                last,
                f"entry {last} does not have the hash the head records: "
                "the newest entries were replaced",
            )
        return None

    def _check_unseen_anchors(self) -> ChainProblem | None:
        unseen = sorted(set(self._anchors) - self._seen_anchors)
        if not unseen:
            return None
        return ChainProblem(
            ProblemKind.ANCHOR_MISMATCH,
            unseen[0],
            f"entry {unseen[0]}, whose hash was published, is no longer in the trail",
        )


def verify_chain(
    records: Iterable[AuditRecord],
    head: AuditHead | None,
    anchors: Mapping[int, str] | None = None,
) -> VerifyReport:
    """Verify a whole sequence in id order; stops at the first problem, which names the entry."""
    verifier = ChainVerifier(anchors)
    for record in records:
        if verifier.feed(record) is not None:
            break
    return verifier.finish(head)


def parse_anchor(value: str) -> tuple[int, str]:
    """``<id>:<hash>`` as printed by ``metropilot audit head``; raises InvalidInput otherwise."""
    entry_id, _, digest = value.strip().partition(":")
    digest = digest.strip().lower()
    if (
        not entry_id.strip().isdigit()
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise InvalidInput(
            f"published head {value!r}: expected <id>:<64 hex digits>, "
            "as printed by 'metropilot audit head'",
            code="invalid_anchor",
        )
    return int(entry_id), digest
