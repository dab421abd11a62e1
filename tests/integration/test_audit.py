"""The audit trail against a real database, on SQLite and PostgreSQL.

Tampering is done the way an attacker with database access would: lift the append-only
triggers, change rows with plain SQL, put the triggers back. ``verify`` must then name the entry.
The ``platform`` fixture empties the trail after each test with the triggers set aside.
"""

from __future__ import annotations

import enum
import hashlib
import itertools
import json
import math
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from math import copysign
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from metropilot.audit import repository, services
from metropilot.audit.model import (
    GENESIS_HASH,
    AuditHead,
    AuditRecord,
    ProblemKind,
    canonical_bytes,
    canonical_json,
    canonical_time,
    is_stored_form,
    parse_anchor,
    parse_instant,
    parse_json,
    record_hash,
    seal,
    stored_form,
    verify_chain,
)
from metropilot.audit.repository import audit_head, audit_log, guard_lifted
from metropilot.audit.services import append_entries
from metropilot.bootstrap import Platform, all_tables, bootstrap
from metropilot.cli.audit import app as audit_cli
from metropilot.db import migrate
from metropilot.db.uow import UnitOfWork
from metropilot.settings import Settings, get_settings
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.audit import AuditEntry
from metropilot.shared.errors import InvalidInput

ALICE = Actor(ActorKind.USER, "alice", 7, "metropole", "public")
LUMINA = Actor(ActorKind.API_KEY, "lumina-gateway", 3, "lumina-services", "private")
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- helpers, fixtures


def audited_uow(platform: Platform) -> UnitOfWork:
    """A writing unit of work with the audit sink (until bootstrap wires it in everywhere)."""
    return UnitOfWork(platform.engine, audit_sink=append_entries, write=True)


def make_entry(n: int, actor: Actor = ALICE, **overrides: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "actor": actor,
        "action": "asset.updated",
        "object_type": "asset",
        "object_id": str(n),
        "changes": {"status": ["ok", "fault"], "note": [None, f"change {n}"]},
        "at": T0 + timedelta(minutes=n),
    }
    values.update(overrides)
    return AuditEntry(**values)


def append(platform: Platform, entries: list[AuditEntry]) -> None:
    with audited_uow(platform) as uow:
        uow.audit_many(entries)
        uow.commit()


def rows(engine: Engine) -> list[AuditRecord]:
    with engine.connect() as conn:
        return list(repository.iter_entries(conn, repository.AuditFilter()))


def stored_head(engine: Engine) -> AuditHead | None:
    with engine.connect() as conn:
        return repository.read_head(conn)


def as_attacker(engine: Engine, sql: str, **params: Any) -> None:
    """Run SQL with the append-only triggers lifted, as someone with DB privileges can."""
    with engine.begin() as conn, guard_lifted(conn):
        conn.execute(text(sql), params)


def verify(platform: Platform, **kwargs: Any) -> services.VerifyReport:
    with platform.uow_factory() as uow:
        return services.verify(uow, **kwargs)


@pytest.fixture
def trail(platform: Platform) -> Platform:
    """Five entries appended in two commits: ids 1–3, then 4–5."""
    append(platform, [make_entry(1), make_entry(2), make_entry(3, LUMINA)])
    append(platform, [make_entry(4), make_entry(5)])
    return platform


# --------------------------------------------------------------------------- the pure chain


def _record(n: int, prev: str, **overrides: Any) -> AuditRecord:
    (record,) = seal(
        [make_entry(n, **overrides)], [make_entry(n).changes], first_id=n, prev_hash=prev
    )
    return record


def _chain(count: int) -> list[AuditRecord]:
    entries = [make_entry(n) for n in range(1, count + 1)]
    return seal(entries, [e.changes for e in entries], first_id=1, prev_hash=GENESIS_HASH)


def test_canonical_bytes_are_the_documented_json_dumps() -> None:
    changes = parse_json('{"z":[1.5,"é\\u2028\\n"],"a":[null,{"b":36.0,"a":[true,false]}]}')
    fields: dict[str, Any] = {
        "id": 12,
        "at": datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC),
        "actor_kind": "user",
        "actor_name": 'o"brien',
        "actor_id": None,
        "organisation": "métropole",
        "sector": None,
        "action": "asset.updated",
        "object_type": "asset",
        "object_id": "42",
        "changes": changes,
        "prev_hash": GENESIS_HASH,
    }
    document = {**fields, "v": 1, "at": "2026-01-02T03:04:05.000060Z"}
    expected = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(**fields) == expected.encode("utf-8")
    assert changes == {"z": [1.5, "é\u2028\n"], "a": [None, {"b": 36, "a": [True, False]}]}


def test_canonical_time_is_utc_with_microseconds() -> None:
    paris = datetime(2026, 6, 1, 10, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert canonical_time(paris) == "2026-06-01T10:00:00.000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical_time(datetime(2026, 6, 1))


@pytest.mark.parametrize(
    ("written", "stored", "postgresql_renders"),
    [
        ("36.0", 36.0, "36.0"),
        ("5", 5, "5"),
        ("-0.0", 0.0, "0.0"),
        ("1e-7", 1e-07, "0.0000001"),
        ("1.5e-7", 1.5e-07, "0.00000015"),
        ("0.30000000000000004", 0.30000000000000004, "0.30000000000000004"),
        ("9007199254740994.0", 9007199254740994, "9007199254740994"),
        ("1e+16", 10**16, "10000000000000000"),
        ("1.2345678901234568e+18", 1234567890123456800, "1234567890123456800"),
        ("9223372036854775807", 2**63 - 1, "9223372036854775807"),
        ("1e+20", 1e20, "100000000000000000000"),
        ("18446744073709551615", 1.8446744073709552e19, "18446744073709551615"),
    ],
)
def test_numbers_read_back_the_same_whatever_the_database_rendered(
    written: str, stored: Any, postgresql_renders: str
) -> None:
    # orjson writes what SQLite returns; PostgreSQL JSONB returns its own decimal rendering.
    value = stored_form(f"[{written}]")[0]
    assert (value, type(value)) == (stored, type(stored))
    assert copysign(1.0, value) > 0 or value < 0
    for text_back in (orjson.dumps([value]).decode(), f"[{postgresql_renders}]"):
        back = parse_json(text_back)[0]
        assert (back, type(back)) == (stored, type(stored)), text_back


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), st.lists(_JSON, min_size=2, max_size=2), max_size=5))
def test_stored_form_is_a_fixed_point_and_hashes_as_documented(
    changes: dict[str, list[Any]],
) -> None:
    try:
        text_in = orjson.dumps(changes, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # beyond 64 bits or a lone surrogate: refused, as the engine would
        return
    stored = stored_form(text_in)
    # Stored once, stored form stays put, and reads back equal from SQLite's text.
    assert orjson.dumps(stored_form(orjson.dumps(stored))) == orjson.dumps(stored)
    assert orjson.dumps(parse_json(orjson.dumps(stored))) == orjson.dumps(stored)
    if is_stored_form(changes):
        assert orjson.dumps(stored) == orjson.dumps(changes)
    fields: dict[str, Any] = {
        "id": 1,
        "at": T0,
        "actor_kind": "user",
        "actor_name": "a",
        "actor_id": None,
        "organisation": None,
        "sector": None,
        "action": "x.y",
        "object_type": "x",
        "object_id": "1",
        "changes": stored,
        "prev_hash": GENESIS_HASH,
    }
    document = {**fields, "v": 1, "at": canonical_time(T0)}
    expected = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(**fields) == expected.encode("utf-8")


def test_the_fast_check_agrees_with_the_round_trip() -> None:
    plain = {"a": ["x", None], "b": [True, 36.0], "c": [2**62, -1.5]}
    assert is_stored_form(plain)
    assert stored_form(orjson.dumps(plain)) == plain
    for odd in (
        {"a": [-0.0, 1]},
        {"a": [math.nan, 1]},
        {"a": [1e16, 1]},
        {"a": [2**63, 1]},
        {"a": [(1, 2), 1]},
        {"a": [{"nested": 1}, 1]},
        {"a": "not a pair"},
        {1: [1, 2]},
    ):
        assert not is_stored_form(odd), odd


def test_verify_chain_names_the_problem_and_where() -> None:
    chain = _chain(5)
    assert verify_chain(chain, AuditHead(5, chain[-1].hash)).ok

    edited = list(chain)
    edited[2] = AuditRecord(**{**_fields(chain[2]), "object_id": "999"})
    report = verify_chain(edited, AuditHead(5, chain[-1].hash))
    assert [(p.kind, p.entry_id) for p in report.problems] == [(ProblemKind.CONTENT_EDITED, 3)]
    assert report.entries_checked == 3

    swapped = [chain[0], chain[2], chain[1], chain[3], chain[4]]
    problem = verify_chain(swapped, AuditHead(5, chain[-1].hash)).problems[0]
    assert problem.kind is ProblemKind.CHAIN_BROKEN
    assert (problem.previous_id, problem.entry_id) == (1, 3)

    report = verify_chain(chain[:4], AuditHead(5, chain[-1].hash))
    assert report.problems[0].kind is ProblemKind.HEAD_MISMATCH
    assert "newest entries (5 to 5) were deleted" in report.problems[0].message

    ahead = verify_chain(chain, AuditHead(4, chain[3].hash)).problems[0]
    assert (ahead.kind, ahead.entry_id) == (ProblemKind.HEAD_MISMATCH, 5)
    assert "were not written by the platform" in ahead.message

    assert verify_chain([], None).ok
    assert verify_chain([], AuditHead(3, "a" * 64)).problems[0].kind is ProblemKind.HEAD_MISMATCH
    assert verify_chain(chain, None).problems[0].message.startswith("the head row is missing")

    anchored = verify_chain(chain, AuditHead(5, chain[-1].hash), {2: "b" * 64})
    assert (anchored.problems[0].kind, anchored.problems[0].entry_id) == (
        ProblemKind.ANCHOR_MISMATCH,
        2,
    )
    assert verify_chain(chain, AuditHead(5, chain[-1].hash), {2: chain[1].hash}).ok
    gone = verify_chain(chain, AuditHead(5, chain[-1].hash), {9: "c" * 64})
    assert (
        "entry 9, whose hash was published, is no longer in the trail" in gone.problems[0].message
    )


def _fields(record: AuditRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in AuditRecord.__slots__}


def test_query_parsers_say_what_is_wrong() -> None:
    assert parse_instant("2026-11-27T08:00:00+01:00", "from") == datetime(
        2026, 11, 27, 7, 0, tzinfo=UTC
    )
    assert parse_instant("2026-11-27T07:00:00Z", "from").hour == 7
    with pytest.raises(InvalidInput, match="from: '2026-11-27T08:00:00' has no UTC offset"):
        parse_instant("2026-11-27T08:00:00", "from")
    with pytest.raises(InvalidInput, match="to: 'yesterday' is not an ISO 8601 date-time"):
        parse_instant("yesterday", "to")
    assert parse_anchor(f"12:{'AB' * 32}") == (12, "ab" * 32)
    with pytest.raises(InvalidInput, match="expected <id>:<64 hex digits>"):
        parse_anchor("12:abc")


# --------------------------------------------------------------------------- storage and sink


def test_migration_creates_what_the_models_declare(platform: Platform) -> None:
    migrate.check(platform.engine, all_tables())
    assert migrate.current_revision(platform.engine) == migrate.head_revision(platform.engine)


def test_entries_are_appended_as_one_chain(trail: Platform) -> None:
    records = rows(trail.engine)
    assert [r.id for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
    for record in records:
        assert record.hash == record_hash(record)
        assert len(record.hash) == 64
    third = records[2]
    assert (third.actor_kind, third.actor_name, third.actor_id) == ("api_key", "lumina-gateway", 3)
    assert (third.organisation, third.sector) == ("lumina-services", "private")
    assert (third.action, third.object_type, third.object_id) == ("asset.updated", "asset", "3")
    assert third.changes == {"status": ["ok", "fault"], "note": [None, "change 3"]}
    assert third.at == T0 + timedelta(minutes=3)
    head = stored_head(trail.engine)
    assert head is not None
    assert (head.last_id, head.last_hash) == (5, records[-1].hash)


def test_a_rolled_back_unit_of_work_leaves_no_entry(platform: Platform) -> None:
    with audited_uow(platform) as uow:
        uow.audit(make_entry(1))
    with audited_uow(platform) as uow:
        uow.audit(make_entry(2))
        uow.rollback()
        uow.audit(make_entry(3))
        uow.commit()
    records = rows(platform.engine)
    assert [(r.id, r.object_id) for r in records] == [(1, "3")]
    assert records[0].prev_hash == GENESIS_HASH


def test_a_failing_sink_takes_the_whole_change_with_it(platform: Platform) -> None:
    append(platform, [make_entry(1)])
    with audited_uow(platform) as uow:
        uow.audit(make_entry(2))
        uow.audit(make_entry(3, changes={"photo": [None, object()]}))
        with pytest.raises(
            TypeError, match=r"audit entry asset\.updated asset 3: its changes must be JSON values"
        ):
            uow.commit()
    assert [r.object_id for r in rows(platform.engine)] == ["1"]
    assert verify(platform).ok


def test_changes_hash_the_same_after_the_round_trip_through_either_database(
    platform: Platform,
) -> None:
    class Colour(enum.Enum):
        RED = "red"

    tricky = {
        "power_w": [36.0, 18.5],
        "tiny": [1e-07, 1.5e-05],
        "huge": [1e20, 1.2345678901234568e20],
        "large": [1e18, 1.2345678901234567e18],
        "big_int": [2**60, -(2**63)],
        "u64": [2**64 - 1, 2**63],
        "zero": [-0.0, 0],
        "not_a_number": [math.nan, math.inf],
        "text": ['é\u2028"quoted"\n', "日本語 🚦"],
        "nested": [{"b": [1, 2.5, {"c": None}], "a": True}, []],
        "when": [datetime(2026, 1, 1, tzinfo=UTC), None],
        "colour": [Colour.RED, None],
        "pair": [(1, 2), (3.0, "x")],
        7: ["non-string key", None],
    }
    append(platform, [make_entry(1, changes=tricky), make_entry(2)])
    report = verify(platform)
    assert report.ok, report.problems
    stored = rows(platform.engine)[0].changes
    assert stored["power_w"] == [36.0, 18.5]
    assert stored["huge"] == [1e20, 1.2345678901234568e20]
    # The double nearest 1.2345678901234567e18 prints as 1.2345678901234568e+18: those digits.
    assert stored["large"] == [10**18, 1234567890123456800]
    assert stored["zero"] == [0.0, 0]
    assert stored["big_int"] == [2**60, -(2**63)]
    assert stored["u64"] == [float(2**64 - 1), float(2**63)]
    assert stored["not_a_number"] == [None, None]
    assert stored["when"][0].startswith("2026-01-01T00:00:00")
    assert stored["colour"] == ["red", None]
    assert stored["7"] == ["non-string key", None]


def test_time_zones_do_not_matter(platform: Platform) -> None:
    paris = (T0 + timedelta(microseconds=123456)).astimezone(ZoneInfo("Europe/Paris"))
    append(platform, [make_entry(1, at=paris)])
    (record,) = rows(platform.engine)
    assert record.at == paris
    assert verify(platform).ok


# --------------------------------------------------------------------------- verification


def test_verify_passes_on_an_intact_trail(trail: Platform) -> None:
    report = verify(trail)
    assert report.ok
    assert report.entries_checked == 5
    assert report.last_id == 5
    assert report.head is not None
    assert report.head.last_hash == report.last_hash


def test_verify_passes_on_an_empty_trail(platform: Platform) -> None:
    report = verify(platform)
    assert report.ok
    assert (report.entries_checked, report.last_id) == (0, None)


def test_an_edited_entry_is_named(trail: Platform) -> None:
    as_attacker(trail.engine, "UPDATE audit_log SET actor_name = 'bob' WHERE id = 3")
    report = verify(trail)
    assert not report.ok
    (problem,) = report.problems
    assert (problem.kind, problem.entry_id) == (ProblemKind.CONTENT_EDITED, 3)
    assert "entry 3 was edited after it was written" in problem.message
    assert report.entries_checked == 3


def test_edited_changes_are_caught_too(trail: Platform) -> None:
    with trail.engine.begin() as conn, guard_lifted(conn):
        conn.execute(
            audit_log.update()
            .where(audit_log.c.id == 2)
            .values(changes={"status": ["ok", "ok"], "note": [None, "change 2"]})
        )
    problem = verify(trail).problems[0]
    assert (problem.kind, problem.entry_id) == (ProblemKind.CONTENT_EDITED, 2)


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link(trail: Platform) -> None:
    record = rows(trail.engine)[2]
    forged = AuditRecord(**{**_fields(record), "actor_name": "bob"})
    forged_hash = record_hash(forged)
    as_attacker(
        trail.engine,
        "UPDATE audit_log SET actor_name = 'bob', hash = :h WHERE id = 3",
        h=forged_hash,
    )
    problem = verify(trail).problems[0]
    assert problem.kind is ProblemKind.CHAIN_BROKEN
    assert (problem.previous_id, problem.entry_id) == (3, 4)
    assert "between entry 3 and entry 4" in problem.message
    assert "entry 3 was rewritten" in problem.message


def test_a_deleted_middle_entry_breaks_the_chain_between_its_neighbours(trail: Platform) -> None:
    as_attacker(trail.engine, "DELETE FROM audit_log WHERE id = 3")
    problem = verify(trail).problems[0]
    assert problem.kind is ProblemKind.CHAIN_BROKEN
    assert (problem.previous_id, problem.entry_id) == (2, 4)
    assert "between entry 2 and entry 4: entry 3 is missing" in problem.message


def test_deleted_oldest_entries_are_noticed(trail: Platform) -> None:
    as_attacker(trail.engine, "DELETE FROM audit_log WHERE id <= 2")
    problem = verify(trail).problems[0]
    assert (problem.kind, problem.entry_id) == (ProblemKind.CHAIN_BROKEN, 3)
    assert "entries before it were deleted" in problem.message


def test_a_deleted_newest_entry_shows_against_the_head(trail: Platform) -> None:
    as_attacker(trail.engine, "DELETE FROM audit_log WHERE id = 5")
    report = verify(trail)
    (problem,) = report.problems
    assert problem.kind is ProblemKind.HEAD_MISMATCH
    assert "the newest entry is 4 but the head records entry 5" in problem.message
    assert report.entries_checked == 4


def test_entries_appended_after_a_truncation_keep_the_gap_visible(trail: Platform) -> None:
    as_attacker(trail.engine, "DELETE FROM audit_log WHERE id >= 4")
    append(trail, [make_entry(6)])
    assert [r.id for r in rows(trail.engine)] == [1, 2, 3, 6]
    problem = verify(trail).problems[0]
    assert problem.kind is ProblemKind.CHAIN_BROKEN
    assert "entries 4 to 5 are missing" in problem.message


def test_a_deleted_head_is_reported_then_rebuilt_from_the_newest_entry(trail: Platform) -> None:
    with trail.engine.begin() as conn:
        conn.execute(audit_head.delete())
    problem = verify(trail).problems[0]
    assert problem.kind is ProblemKind.HEAD_MISMATCH
    assert "head row is missing" in problem.message
    append(trail, [make_entry(6)])
    assert verify(trail).ok
    assert stored_head(trail.engine) is not None


def test_a_rewritten_chain_is_caught_only_by_a_published_head(trail: Platform) -> None:
    published = stored_head(trail.engine)
    assert published is not None
    # The attacker rewrites entry 2, re-seals everything after it and the head.
    original = rows(trail.engine)
    forged_entries = [
        AuditEntry(
            Actor(
                ActorKind(r.actor_kind),
                "bob" if r.id == 2 else r.actor_name,
                r.actor_id,
                r.organisation,
                r.sector,
            ),
            r.action,
            r.object_type,
            r.object_id,
            r.changes,
            r.at,
        )
        for r in original[1:]
    ]
    forged = seal(
        forged_entries,
        [r.changes for r in original[1:]],
        first_id=2,
        prev_hash=original[0].hash,
    )
    with trail.engine.begin() as conn, guard_lifted(conn):
        conn.execute(audit_log.delete().where(audit_log.c.id >= 2))
        repository.insert_records(conn, forged)
        repository.write_head(conn, forged[-1].id, forged[-1].hash, T0)
    assert verify(trail).ok  # internally consistent: the chain alone cannot tell
    report = verify(trail, anchors={published.last_id: published.last_hash})
    assert report.problems[0].kind is ProblemKind.ANCHOR_MISMATCH
    assert report.problems[0].entry_id == 5


def test_verification_streams_in_chunks(trail: Platform) -> None:
    seen: list[tuple[int, int]] = []
    report = verify(trail, chunk=2, progress=lambda _s, done, total: seen.append((done, total)))
    assert report.ok
    assert report.entries_checked == 5
    assert seen[0] == (0, 5)
    assert seen[-1] == (5, 5)
    as_attacker(trail.engine, "DELETE FROM audit_log WHERE id = 3")
    assert verify(trail, chunk=2).problems[0].entry_id == 4


def test_appends_during_a_verification_are_not_mistaken_for_deletions(trail: Platform) -> None:
    appended = False

    def append_meanwhile(_stage: str, done: int, _total: int) -> None:
        nonlocal appended
        if done and not appended:
            appended = True
            append(trail, [make_entry(6), make_entry(7)])

    report = verify(trail, chunk=2, progress=append_meanwhile)
    assert appended
    assert report.ok, report.problems
    assert verify(trail).entries_checked == 7


# --------------------------------------------------------------------------- append-only guard


def test_the_database_refuses_update_and_delete(trail: Platform) -> None:
    statements = ["UPDATE audit_log SET actor_name = 'bob' WHERE id = 2", "DELETE FROM audit_log"]
    if trail.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with trail.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
    assert len(rows(trail.engine)) == 5
    assert verify(trail).ok


def test_lifting_the_guard_puts_it_back(trail: Platform) -> None:
    with trail.engine.begin() as conn, guard_lifted(conn):
        pass
    with trail.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_log WHERE id = 1"))


# --------------------------------------------------------------------------- concurrency, volume


def test_concurrent_appends_make_one_valid_chain(platform: Platform) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(actor: Actor) -> None:
        try:
            start.wait()
            for batch in range(10):
                append(platform, [make_entry(batch * 3 + i, actor) for i in range(3)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(a,)) for a in (ALICE, LUMINA)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = rows(platform.engine)
    assert [r.id for r in records] == list(range(1, 61))
    assert {r.actor_name for r in records} == {"alice", "lumina-gateway"}
    report = verify(platform)
    assert report.ok, report.problems
    assert report.entries_checked == 60


def test_a_bulk_import_of_35000_entries_in_one_commit(platform: Platform) -> None:
    entries = [
        make_entry(
            n,
            action="asset.created",
            changes={
                "external_ref": [None, f"SL-21231-{n:05d}"],
                "kind": [None, "streetlight"],
                "lon": [None, 5.0 + n * 1e-6],
                "lat": [None, 47.3],
                "status": [None, "ok"],
                "commune": [None, "21231"],
                "attributes.nominal_power_w": [None, 36.0],
            },
        )
        for n in range(35_000)
    ]
    with audited_uow(platform) as uow:
        uow.audit_many(entries)
        started = time.perf_counter()
        uow.commit()
        elapsed = time.perf_counter() - started
    started = time.perf_counter()
    report = verify(platform)
    verified = time.perf_counter() - started
    print(
        f"\n[{platform.engine.dialect.name}] append 35,000 entries in one commit: {elapsed:.2f} s;"
        f" verify: {verified:.2f} s"
    )
    assert report.ok
    assert report.entries_checked == 35_000
    with platform.engine.connect() as conn:
        assert conn.execute(select(func.max(audit_log.c.id))).scalar_one() == 35_000


# --------------------------------------------------------------------------- CSV export


def test_the_csv_export_lets_anyone_recompute_the_hashes(trail: Platform) -> None:
    import csv
    import io

    with trail.uow_factory() as uow:
        exported = "".join(
            services.csv_chunks(services.iter_entries(uow, repository.AuditFilter()), 2)
        )
    table = list(csv.DictReader(io.StringIO(exported)))
    assert [int(r["id"]) for r in table] == [1, 2, 3, 4, 5]
    previous = GENESIS_HASH
    for row in table:
        document = {
            "v": 1,
            "id": int(row["id"]),
            "at": row["at"],
            "actor_kind": row["actor_kind"],
            "actor_name": row["actor_name"],
            "actor_id": int(row["actor_id"]) if row["actor_id"] else None,
            "organisation": row["organisation"] or None,
            "sector": row["sector"] or None,
            "action": row["action"],
            "object_type": row["object_type"],
            "object_id": row["object_id"],
            "changes": json.loads(row["changes"]),
            "prev_hash": row["prev_hash"],
        }
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == row["hash"]
        assert row["prev_hash"] == previous
        previous = row["hash"]
    assert canonical_json({"b": [1], "a": None}) == '{"a":null,"b":[1]}'


# --------------------------------------------------------------------------- command line

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(audit_cli, list(args))
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def cli_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """The embedded database the CLI will open, in a throw-away data directory."""
    monkeypatch.setenv("METROPILOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("METROPILOT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    platform = bootstrap(Settings(data_dir=tmp_path), upgrade=True)
    yield platform
    platform.close()
    get_settings.cache_clear()


def test_cli_verify_exit_codes(cli_platform: Platform) -> None:
    code, output = invoke("verify")
    assert (code, output) == (0, "audit trail intact: it is empty")
    append(cli_platform, [make_entry(n) for n in range(1, 5)])
    code, output = invoke("verify")
    assert code == 0, output
    assert "audit trail intact: 4 entries checked, newest 4" in output

    as_attacker(cli_platform.engine, "UPDATE audit_log SET object_id = '99' WHERE id = 2")
    code, output = invoke("verify")
    assert code == 1, output
    assert "TAMPERED at entry 2 (content_edited)" in output
    assert "entry 2 was edited after it was written" in output


def test_cli_head_and_published_heads(cli_platform: Platform) -> None:
    code, output = invoke("head")
    assert (code, output) == (0, "the audit trail is empty: nothing to publish yet")
    append(cli_platform, [make_entry(n) for n in range(1, 4)])
    head = stored_head(cli_platform.engine)
    assert head is not None
    code, output = invoke("head")
    assert code == 0
    assert f"last id 3 last hash {head.last_hash}" in output
    assert f"publish 3:{head.last_hash}" in output
    code, output = invoke("head", "--json")
    assert json.loads(output)["last_hash"] == head.last_hash

    assert invoke("verify", "--published", f"3:{head.last_hash}")[0] == 0
    code, output = invoke("verify", "--published", f"3:{'0' * 64}")
    assert code == 1
    assert "anchor_mismatch" in output
    code, output = invoke("verify", "--published", "3:nothex")
    assert code == 2
    assert "expected <id>:<64 hex digits>" in output


def test_cli_verify_on_the_configured_database(
    trail: Platform, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("METROPILOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("METROPILOT_DATABASE_URL", trail.settings.database_url)
    get_settings.cache_clear()
    try:
        assert invoke("verify")[0] == 0
        as_attacker(trail.engine, "DELETE FROM audit_log WHERE id = 5")
        code, output = invoke("verify")
    finally:
        get_settings.cache_clear()
    assert code == 1
    assert "TAMPERED at entry 4 (head_mismatch)" in output
