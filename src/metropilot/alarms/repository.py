"""Storage of rules, alarms, their comments, and the conditions the engine is holding.

At most one open alarm per (asset, rule) is the database's promise as well as the engine's: an
alarm carries ``active_key = "<asset>:<rule>"`` while it is open and NULL once cleared, under a
unique constraint (several NULLs are allowed by SQLite and PostgreSQL alike), and raising is an
``INSERT … ON CONFLICT DO NOTHING``, so two workers racing on the same fault make one alarm.

The engine's per-batch lookups pass the batch's asset ids as one parameter (a JSON array that
SQLite unpacks with ``json_each``, a PostgreSQL array with ``= ANY``): binding ten thousand
placeholders one by one would cost more than the lookup itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from metropilot.alarms.model import (
    Alarm,
    AlarmComment,
    AlarmState,
    Rule,
    RuleType,
    Severity,
    parse_params,
)
from metropilot.assets.repository import assets, scope_clause
from metropilot.db.schema import JSONDocument, UTCDateTime, metadata
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.telemetry.repository import asset_twin, device_events, telemetry_raw, twin_values

__all__ = [
    "INHIBITED",
    "PENDING",
    "AlarmFilter",
    "AssetFacts",
    "OpenAlarm",
    "active_key",
    "alarm_comments",
    "alarm_conditions",
    "alarm_rules",
    "alarms",
    "asset_facts",
    "children_of",
    "clear_open",
    "comments_of",
    "conditions_of",
    "conditions_of_rule",
    "count_events",
    "count_open",
    "drop_conditions",
    "drop_conditions_of_rule",
    "due_conditions",
    "escalation_due",
    "existing_rule_ids",
    "get_alarm",
    "get_alarms",
    "get_rule",
    "hold_conditions",
    "inhibit",
    "inhibitions",
    "insert_alarms",
    "insert_comment",
    "insert_rule",
    "latest_readings",
    "link_open_children",
    "list_alarms",
    "list_rules",
    "metric_since",
    "muted_children",
    "newest_seen_ms",
    "open_alarms_of",
    "open_alarms_of_rules",
    "open_parent_alarms",
    "recently_cleared",
    "reopen_alarms",
    "rule_ids_by_code",
    "rules_token",
    "silent_assets",
    "twins_of",
    "update_alarm",
    "update_rule",
]

alarm_rules = Table(
    "alarm_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    # A stable name for rules shipped with the product, so installing them twice is harmless.
    Column("code", String(64), unique=True),
    Column("name", String(120), nullable=False),
    Column("description", String(2000), nullable=False),
    Column("type", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("params", JSONDocument, nullable=False),
    Column("kinds", JSONDocument, nullable=False),
    Column("communes", JSONDocument, nullable=False),
    Column("asset_ids", JSONDocument, nullable=False),
    Column("hold_s", Integer, nullable=False),
    Column("flap_window_s", Integer, nullable=False),
    Column("suppresses", JSONDocument, nullable=False),
    Column("opens_case", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("created_by", String(160), nullable=False),
    Column("updated_by", String(160), nullable=False),
    # Deleted rules stay, so the alarms they raised keep their name and history.
    Column("deleted_at", UTCDateTime),
)

# No foreign key to assets: like the twin, alarms outlive a registry rebuild (the synthetic
# generator's replace) instead of blocking it; the lists join on assets, so orphans stay hidden.
alarms = Table(
    "alarms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", Integer, ForeignKey("alarm_rules.id"), nullable=False),
    Column("asset_id", Integer, nullable=False),
    Column("active_key", String(24), unique=True),
    Column("state", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("message", String(300), nullable=False),
    Column("value", Float),
    Column("observed_at", UTCDateTime),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("reopened_at", UTCDateTime),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(160)),
    Column("cleared_at", UTCDateTime),
    Column("cleared_by", String(160)),
    Column("clear_reason", String(24)),
    Column("assignee", String(63)),
    Column("suppressed_by", Integer, ForeignKey("alarms.id")),
    Column("flaps", Integer, nullable=False),
    Column("escalation_level", Integer, nullable=False),
    Column("escalated_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_alarms_asset_id_rule_id", "asset_id", "rule_id"),
    # The open alarms alone (a small set, however long the history grows): what the engine reads.
    Index(
        "ix_alarms_open",
        "asset_id",
        sqlite_where=text("active_key IS NOT NULL"),
        postgresql_where=text("active_key IS NOT NULL"),
    ),
    Index("ix_alarms_rule_id_state", "rule_id", "state"),
    Index("ix_alarms_state_severity", "state", "severity"),
    Index("ix_alarms_suppressed_by", "suppressed_by"),
)

alarm_comments = Table(
    "alarm_comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alarm_id", Integer, ForeignKey("alarms.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("author", String(160), nullable=False),
    Column("text", String(2000), nullable=False),
    Index("ix_alarm_comments_alarm_id", "alarm_id"),
)

# Conditions the engine holds without an open alarm: "pending" (true since ``since_ms``, waiting
# for the rule's hold time) and "inhibited" (cleared by hand while still true: not raised again
# until the equipment has reported normal once). Stored, so every process and a restart agree.
alarm_conditions = Table(
    "alarm_conditions",
    metadata,
    Column("asset_id", Integer, nullable=False),
    Column("rule_id", Integer, ForeignKey("alarm_rules.id"), nullable=False),
    Column("phase", String(10), nullable=False),
    Column("since_ms", BigInteger, nullable=False),
    Column("value", Float),
    PrimaryKeyConstraint("asset_id", "rule_id", name="pk_alarm_conditions"),
)

PENDING, INHIBITED = "pending", "inhibited"
_OPEN = (AlarmState.ACTIVE.value, AlarmState.ACKNOWLEDGED.value)


def active_key(asset_id: int, rule_id: int) -> str:
    return f"{asset_id}:{rule_id}"


# --- rules -------------------------------------------------------------------------------------


def _rule(row: Any) -> Rule:
    rule_type = RuleType(row.type)
    return Rule(
        id=row.id,
        code=row.code,
        name=row.name,
        description=row.description,
        type=rule_type,
        severity=Severity(row.severity),
        params=parse_params(rule_type, row.params),
        kinds=tuple(row.kinds),
        communes=tuple(row.communes),
        asset_ids=tuple(int(a) for a in row.asset_ids),
        hold_s=row.hold_s,
        flap_window_s=row.flap_window_s,
        suppresses=tuple(int(r) for r in row.suppresses),
        opens_case=bool(row.opens_case),
        enabled=bool(row.enabled),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        updated_by=row.updated_by,
        deleted_at=row.deleted_at,
    )


def list_rules(conn: Connection, *, include_deleted: bool = False) -> list[Rule]:
    query = select(alarm_rules).order_by(alarm_rules.c.id)
    if not include_deleted:
        query = query.where(alarm_rules.c.deleted_at.is_(None))
    return [_rule(row) for row in conn.execute(query)]


def get_rule(conn: Connection, rule_id: int) -> Rule | None:
    row = conn.execute(select(alarm_rules).where(alarm_rules.c.id == rule_id)).first()
    return _rule(row) if row else None


def rule_ids_by_code(conn: Connection) -> dict[str, int]:
    query = select(alarm_rules.c.code, alarm_rules.c.id).where(alarm_rules.c.code.is_not(None))
    return {str(code): int(rule_id) for code, rule_id in conn.execute(query)}


def existing_rule_ids(conn: Connection, ids: Iterable[int]) -> set[int]:
    wanted = list(ids)
    if not wanted:
        return set()
    query = select(alarm_rules.c.id).where(
        alarm_rules.c.id.in_(wanted), alarm_rules.c.deleted_at.is_(None)
    )
    return {int(r) for (r,) in conn.execute(query)}


def insert_rule(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(alarm_rules).values(values).returning(alarm_rules.c.id))
    return int(result.scalar_one())


def update_rule(conn: Connection, rule_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(alarm_rules).where(alarm_rules.c.id == rule_id).values(values))


def rules_token(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever any rule does (every change bumps a version and the update time), so a
    process notices another's edit with one tiny aggregate per batch. Asked through the driver:
    the statement is fixed, and SQLAlchemy's execution path cost twenty times the query itself,
    paid on every ingest batch. The values are compared, never read, so they stay as stored."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_RULES_VERSION_SQL)
        return tuple(cursor.fetchone() or ())
    finally:
        cursor.close()


_RULES_VERSION_SQL = "SELECT count(*), coalesce(sum(version), 0), max(updated_at) FROM alarm_rules"


# --- the engine's per-batch lookups --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenAlarm:
    id: int
    asset_id: int
    rule_id: int
    state: str
    suppressed_by: int | None
    observed_at: datetime | None = None  # only from open_alarms_of_rules


# The batch's asset ids travel as one parameter: a JSON array on SQLite, an array on PostgreSQL.
_BATCH_SQL = {
    "sqlite": {
        "open": "SELECT id, asset_id, rule_id, state, suppressed_by FROM alarms "
        "WHERE active_key IS NOT NULL AND asset_id IN (SELECT value FROM json_each(?))",
        "held": "SELECT asset_id, rule_id, phase, since_ms FROM alarm_conditions "
        "WHERE asset_id IN (SELECT value FROM json_each(?))",
    },
    "postgresql": {
        "open": "SELECT id, asset_id, rule_id, state, suppressed_by FROM alarms "
        "WHERE active_key IS NOT NULL AND asset_id = ANY(%s)",
        "held": "SELECT asset_id, rule_id, phase, since_ms FROM alarm_conditions "
        "WHERE asset_id = ANY(%s)",
    },
}


def _batch_query(conn: Connection, name: str, asset_ids: Iterable[int]) -> Any:
    dialect = conn.dialect.name
    ids: Any = list(asset_ids)
    if dialect != "postgresql":
        ids = orjson.dumps(ids).decode()
    return conn.exec_driver_sql(_BATCH_SQL[dialect][name], (ids,))


# From this many assets on, reading every open alarm (when they are fewer) beats probing each id.
_SCAN_FROM = 500


def open_alarms_of(conn: Connection, asset_ids: Iterable[int]) -> dict[tuple[int, int], OpenAlarm]:
    """The open alarms of these assets, by (asset, rule): one indexed query for a whole batch."""
    wanted = asset_ids if isinstance(asset_ids, set | frozenset) else set(asset_ids)
    if not wanted:
        return {}
    rows: Any = None
    if len(wanted) >= _SCAN_FROM:
        c = alarms.c
        every = conn.execute(
            select(c.id, c.asset_id, c.rule_id, c.state, c.suppressed_by)
            .where(c.active_key.is_not(None))
            .limit(len(wanted))
        ).all()
        if len(every) < len(wanted):
            rows = [r for r in every if r[1] in wanted]
    if rows is None:
        rows = _batch_query(conn, "open", wanted)
    return {
        (int(r[1]), int(r[2])): OpenAlarm(int(r[0]), int(r[1]), int(r[2]), r[3], r[4]) for r in rows
    }


def conditions_of(
    conn: Connection, asset_ids: Iterable[int]
) -> dict[tuple[int, int], tuple[str, int]]:
    """Held conditions of these assets: (asset, rule) → (phase, since_ms)."""
    wanted = asset_ids if isinstance(asset_ids, set | frozenset) else set(asset_ids)
    if not wanted:
        return {}
    rows: Any = None
    if len(wanted) >= _SCAN_FROM:
        c = alarm_conditions.c
        every = conn.execute(
            select(c.asset_id, c.rule_id, c.phase, c.since_ms).limit(len(wanted))
        ).all()
        if len(every) < len(wanted):
            rows = [r for r in every if r[0] in wanted]
    if rows is None:
        rows = _batch_query(conn, "held", wanted)
    return {(int(r[0]), int(r[1])): (str(r[2]), int(r[3])) for r in rows}


def _insert_ignoring(conn: Connection, table: Table, index: list[str]) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index)


def insert_alarms(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert new open alarms; those whose (asset, rule) already has one are skipped. Returns
    the new alarms' ids by active key."""
    if not rows:
        return {}
    stmt = _insert_ignoring(conn, alarms, ["active_key"]).returning(
        alarms.c.id, alarms.c.active_key
    )
    found: dict[str, int] = {}
    for start in range(0, len(rows), 1000):
        for alarm_id, key in conn.execute(stmt, rows[start : start + 1000]):
            found[str(key)] = int(alarm_id)
    return found


def recently_cleared(
    conn: Connection, pairs: Sequence[tuple[int, int]], since: datetime
) -> dict[tuple[int, int], tuple[int, datetime, int]]:
    """The latest alarm cleared since ``since`` for each (asset, rule): → (id, cleared_at,
    flaps). What a flapping condition reopens instead of raising anew."""
    found: dict[tuple[int, int], tuple[int, datetime, int]] = {}
    c = alarms.c
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        query = (
            select(c.asset_id, c.rule_id, c.id, c.cleared_at, c.flaps)
            .where(
                c.active_key.is_(None),
                c.cleared_at >= since,
                tuple_(c.asset_id, c.rule_id).in_(chunk),
            )
            .order_by(c.id)
        )
        for asset_id, rule_id, alarm_id, cleared_at, flaps in conn.execute(query):
            found[(int(asset_id), int(rule_id))] = (int(alarm_id), cleared_at, int(flaps))
    return found


def reopen_alarms(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Reopen cleared alarms (flapping); each row: id, active_key, flaps, and the new values.
    A row whose (asset, rule) got an open alarm meanwhile is skipped by the unique key."""
    reopened = 0
    for row in rows:
        values = {k: v for k, v in row.items() if k != "id"}
        result = conn.execute(
            update(alarms)
            .where(
                alarms.c.id == row["id"],
                alarms.c.active_key.is_(None),
                ~select(alarms.c.id)
                .where(alarms.c.active_key == row["active_key"])
                .correlate(None)
                .exists(),
            )
            .values(values)
        )
        reopened += int(result.rowcount or 0)
    return reopened


def update_alarm(conn: Connection, alarm_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(alarms).where(alarms.c.id == alarm_id).values(values))


def clear_open(conn: Connection, ids: Sequence[int], values: dict[str, Any]) -> list[int]:
    """Clear these alarms if they are still open; returns those it cleared."""
    cleared: list[int] = []
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        result = conn.execute(
            update(alarms)
            .where(alarms.c.id.in_(chunk), alarms.c.active_key.is_not(None))
            .values({**values, "active_key": None, "state": AlarmState.CLEARED.value})
            .returning(alarms.c.id)
        )
        cleared += [int(r) for (r,) in result]
    return cleared


def open_alarms_of_rules(conn: Connection, rule_ids: Iterable[int]) -> list[OpenAlarm]:
    c = alarms.c
    query = select(c.id, c.asset_id, c.rule_id, c.state, c.suppressed_by, c.observed_at).where(
        c.rule_id.in_(list(rule_ids)), c.active_key.is_not(None)
    )
    return [
        OpenAlarm(int(r[0]), int(r[1]), int(r[2]), r[3], r[4], r[5]) for r in conn.execute(query)
    ]


def open_parent_alarms(
    conn: Connection, parent_ids: Iterable[int], rule_ids: Iterable[int]
) -> dict[tuple[int, int], int]:
    """Open alarms of the muting rules on these parents: (parent asset, rule) → alarm id."""
    parents, rules = list(parent_ids), list(rule_ids)
    if not parents or not rules:
        return {}
    c = alarms.c
    found: dict[tuple[int, int], int] = {}
    for start in range(0, len(parents), 500):
        query = select(c.asset_id, c.rule_id, c.id).where(
            c.asset_id.in_(parents[start : start + 500]),
            c.rule_id.in_(rules),
            c.active_key.is_not(None),
        )
        for asset_id, rule_id, alarm_id in conn.execute(query):
            found[(int(asset_id), int(rule_id))] = int(alarm_id)
    return found


def link_open_children(
    conn: Connection, parent_alarm_id: int, parent_asset_id: int, child_rule_ids: Iterable[int]
) -> list[int]:
    """Mute the open, unmuted alarms the parent's children already had for the muted rules."""
    children = select(assets.c.id).where(assets.c.parent_id == parent_asset_id)
    c = alarms.c
    result = conn.execute(
        update(alarms)
        .where(
            c.asset_id.in_(children),
            c.rule_id.in_(list(child_rule_ids)),
            c.active_key.is_not(None),
            c.suppressed_by.is_(None),
        )
        .values(suppressed_by=parent_alarm_id)
        .returning(c.id)
    )
    return [int(r) for (r,) in result]


def muted_children(conn: Connection, parent_alarm_ids: Iterable[int]) -> list[OpenAlarm]:
    c = alarms.c
    query = select(c.id, c.asset_id, c.rule_id, c.state, c.suppressed_by).where(
        c.suppressed_by.in_(list(parent_alarm_ids)), c.active_key.is_not(None)
    )
    return [OpenAlarm(int(r[0]), int(r[1]), int(r[2]), r[3], r[4]) for r in conn.execute(query)]


# --- held conditions ---------------------------------------------------------------------------


def hold_conditions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Start holding conditions (asset_id, rule_id, phase, since_ms, value); an existing one
    keeps its start."""
    if rows:
        conn.execute(_insert_ignoring(conn, alarm_conditions, ["asset_id", "rule_id"]), rows)


def inhibit(conn: Connection, asset_id: int, rule_id: int, since_ms: int) -> None:
    c = alarm_conditions.c
    conn.execute(delete(alarm_conditions).where(c.asset_id == asset_id, c.rule_id == rule_id))
    conn.execute(
        insert(alarm_conditions).values(
            asset_id=asset_id, rule_id=rule_id, phase=INHIBITED, since_ms=since_ms, value=None
        )
    )


def drop_conditions(conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
    c = alarm_conditions.c
    for start in range(0, len(pairs), 500):
        conn.execute(
            delete(alarm_conditions).where(
                tuple_(c.asset_id, c.rule_id).in_(list(pairs[start : start + 500]))
            )
        )


def drop_conditions_of_rule(conn: Connection, rule_id: int, phase: str | None = None) -> None:
    query = delete(alarm_conditions).where(alarm_conditions.c.rule_id == rule_id)
    if phase is not None:
        query = query.where(alarm_conditions.c.phase == phase)
    conn.execute(query)


def inhibitions(conn: Connection) -> list[tuple[int, int, int]]:
    """Every inhibited condition: (asset, rule, since_ms). Few: one per alarm cleared by hand
    while its condition held."""
    c = alarm_conditions.c
    query = select(c.asset_id, c.rule_id, c.since_ms).where(c.phase == INHIBITED)
    return [(int(a), int(r), int(t)) for a, r, t in conn.execute(query)]


def conditions_of_rule(conn: Connection, rule_id: int) -> list[tuple[int, str]]:
    c = alarm_conditions.c
    query = select(c.asset_id, c.phase).where(c.rule_id == rule_id)
    return [(int(a), str(p)) for a, p in conn.execute(query)]


def due_conditions(
    conn: Connection, rule_id: int, before_ms: int, limit: int
) -> list[tuple[int, int, float | None]]:
    """Pending conditions of a rule that began before ``before_ms``: (asset, since, value)."""
    c = alarm_conditions.c
    query = (
        select(c.asset_id, c.since_ms, c.value)
        .where(c.rule_id == rule_id, c.phase == PENDING, c.since_ms <= before_ms)
        .limit(limit)
    )
    return [(int(a), int(s), v) for a, s, v in conn.execute(query)]


# --- what the time-driven checks read ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """An asset as the engine sees it (the same attributes as the ingest directory's)."""

    id: int
    kind: str
    commune: str
    maintainer_id: int | None
    parent_id: int | None
    status: str


_FACTS = (
    assets.c.id,
    assets.c.kind,
    assets.c.commune_insee,
    assets.c.maintainer_id,
    assets.c.parent_id,
    assets.c.status,
)


def _facts(row: Any) -> AssetFacts:
    return AssetFacts(int(row[0]), str(row[1]), str(row[2]), row[3], row[4], str(row[5]))


def asset_facts(conn: Connection, asset_ids: Iterable[int]) -> dict[int, AssetFacts]:
    wanted = list(asset_ids)
    found: dict[int, AssetFacts] = {}
    for start in range(0, len(wanted), 500):
        query = select(*_FACTS).where(assets.c.id.in_(wanted[start : start + 500]))
        for row in conn.execute(query):
            found[int(row[0])] = _facts(row)
    return found


def silent_assets(
    conn: Connection,
    rule: Rule,
    before_ms: int,
    excluded_statuses: Sequence[str],
    limit: int,
) -> list[tuple[AssetFacts, int]]:
    """Assets the heartbeat rule covers, last heard before ``before_ms``, with neither an open
    alarm of the rule nor an inhibition: one set-based query (the asset kind index narrows it to
    the rule's kinds), however many assets the city has."""
    t = asset_twin.c
    a = assets.c
    open_alarm = (
        select(alarms.c.id)
        .where(
            alarms.c.asset_id == t.asset_id,
            alarms.c.rule_id == rule.id,
            alarms.c.active_key.is_not(None),
        )
        .exists()
    )
    held = (
        select(alarm_conditions.c.asset_id)
        .where(
            alarm_conditions.c.asset_id == t.asset_id,
            alarm_conditions.c.rule_id == rule.id,
        )
        .exists()
    )
    query = (
        select(*_FACTS, t.last_seen_ms)
        .select_from(asset_twin.join(assets, a.id == t.asset_id))
        .where(t.last_seen_ms < before_ms, ~open_alarm, ~held)
        .order_by(t.last_seen_ms)
        .limit(limit)
    )
    if rule.kinds:
        query = query.where(a.kind.in_(list(rule.kinds)))
    if rule.communes:
        query = query.where(a.commune_insee.in_(list(rule.communes)))
    if rule.asset_ids:
        query = query.where(a.id.in_(list(rule.asset_ids)))
    if excluded_statuses:
        query = query.where(a.status.not_in(list(excluded_statuses)))
    return [(_facts(row), int(row[6])) for row in conn.execute(query)]


def newest_seen_ms(conn: Connection) -> int | None:
    value = conn.execute(select(func.max(asset_twin.c.last_seen_ms))).scalar()
    return None if value is None else int(value)


def count_events(conn: Connection, asset_id: int, code: str, since_ms: int) -> int:
    e = device_events.c
    query = select(func.count()).where(e.asset_id == asset_id, e.ts_ms >= since_ms, e.code == code)
    return int(conn.execute(query).scalar_one())


def metric_since(
    conn: Connection, asset_id: int, metric: str, since_ms: int
) -> tuple[float | None, list[float]]:
    """The last value before ``since_ms`` and the values since, in time order (for edges)."""
    r = telemetry_raw.c
    before = conn.execute(
        select(r.value)
        .where(r.asset_id == asset_id, r.metric == metric, r.ts_ms < since_ms)
        .order_by(r.ts_ms.desc())
        .limit(1)
    ).scalar()
    values = conn.execute(
        select(r.value)
        .where(r.asset_id == asset_id, r.metric == metric, r.ts_ms >= since_ms)
        .order_by(r.ts_ms)
    ).scalars()
    return (None if before is None else float(before)), [float(v) for v in values]


def twins_of(
    conn: Connection, asset_ids: Iterable[int], metrics: Iterable[str] = ()
) -> tuple[dict[int, dict[str, float]], dict[int, int]]:
    """The current state of these assets: latest value of each metric, and when each was last
    heard. The stored twin is flushed by the ingest pipeline every few seconds, so the newest
    raw reading of each (asset, metric) — the durable truth — overrides it where there is one."""
    wanted = list(asset_ids)
    values: dict[int, dict[str, float]] = {}
    seen: dict[int, int] = {}
    v, t = twin_values.c, asset_twin.c
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for asset_id, metric, value in conn.execute(
            select(v.asset_id, v.metric, v.value).where(v.asset_id.in_(chunk))
        ):
            values.setdefault(int(asset_id), {})[str(metric)] = float(value)
        for asset_id, last in conn.execute(
            select(t.asset_id, t.last_seen_ms).where(t.asset_id.in_(chunk))
        ):
            seen[int(asset_id)] = int(last)
    extra = list(metrics)
    pairs = [(a, m) for a in wanted for m in {*values.get(a, {}), *extra}]
    for (asset_id, metric), (ts_ms, value) in latest_readings(conn, pairs).items():
        values.setdefault(asset_id, {})[metric] = value
        seen[asset_id] = max(seen.get(asset_id, 0), ts_ms)
    return values, seen


def latest_readings(
    conn: Connection, pairs: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, float]]:
    """The newest raw reading of each (asset, metric): one primary-key probe each."""
    r, n = telemetry_raw.alias("r"), telemetry_raw.alias("n")
    newest = (
        select(func.max(n.c.ts_ms))
        .where(n.c.asset_id == r.c.asset_id, n.c.metric == r.c.metric)
        .scalar_subquery()
    )
    found: dict[tuple[int, str], tuple[int, float]] = {}
    for start in range(0, len(pairs), 500):
        chunk = list(pairs[start : start + 500])
        query = select(r.c.asset_id, r.c.metric, r.c.ts_ms, r.c.value).where(
            tuple_(r.c.asset_id, r.c.metric).in_(chunk), r.c.ts_ms == newest
        )
        for asset_id, metric, ts_ms, value in conn.execute(query):
            found[(int(asset_id), str(metric))] = (int(ts_ms), float(value))
    return found


def escalation_due(
    conn: Connection, severity: str, raised_before: datetime, limit: int
) -> list[int]:
    c = alarms.c
    query = (
        select(c.id)
        .where(
            c.state == AlarmState.ACTIVE.value,
            c.severity == severity,
            c.suppressed_by.is_(None),
            c.escalation_level == 0,
            func.coalesce(c.reopened_at, c.raised_at) <= raised_before,
        )
        .order_by(c.id)
        .limit(limit)
    )
    return [int(r) for (r,) in conn.execute(query)]


# --- reading alarms ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    asset_ids: Sequence[int] = ()
    states: Sequence[str] = ()
    severities: Sequence[str] = ()
    communes: Sequence[str] = ()
    kinds: Sequence[str] = ()
    rule_ids: Sequence[int] = ()
    assignee: str | None = None
    suppressed: bool | None = False  # False: only unmuted alarms; True: only muted; None: both
    before_id: int | None = None  # newest first: the cursor is the last id of the page
    scope: Scope = UNRESTRICTED  # what the caller may see, applied in the query


_child = alarms.alias("child")


def _base_select() -> Select[Any]:
    muted = (
        select(func.count())
        .select_from(_child)
        .where(_child.c.suppressed_by == alarms.c.id)
        .scalar_subquery()
    )
    return (
        select(
            alarms,
            assets.c.external_ref,
            assets.c.kind,
            assets.c.commune_insee,
            assets.c.maintainer_id,
            alarm_rules.c.name,
            alarm_rules.c.code,
            alarm_rules.c.opens_case,
            muted.label("suppressed_count"),
        )
        .select_from(alarms)
        .join(assets, assets.c.id == alarms.c.asset_id)
        .join(alarm_rules, alarm_rules.c.id == alarms.c.rule_id)
    )


def _apply(query: Select[Any], flt: AlarmFilter) -> Select[Any]:
    a, c = assets.c, alarms.c
    if not flt.scope.unrestricted:
        query = query.where(scope_clause(flt.scope))  # the registry's own scoping, on the join
    if flt.asset_ids:
        query = query.where(c.asset_id.in_(list(flt.asset_ids)))
    if flt.states:
        query = query.where(c.state.in_(list(flt.states)))
    if flt.severities:
        query = query.where(c.severity.in_(list(flt.severities)))
    if flt.communes:
        query = query.where(a.commune_insee.in_(list(flt.communes)))
    if flt.kinds:
        query = query.where(a.kind.in_(list(flt.kinds)))
    if flt.rule_ids:
        query = query.where(c.rule_id.in_(list(flt.rule_ids)))
    if flt.assignee is not None:
        query = query.where(c.assignee == flt.assignee)
    if flt.suppressed is True:
        query = query.where(c.suppressed_by.is_not(None))
    elif flt.suppressed is False:
        query = query.where(c.suppressed_by.is_(None))
    if flt.before_id is not None:
        query = query.where(c.id < flt.before_id)
    return query


def _alarm(row: Any) -> Alarm:
    m = row._mapping
    return Alarm(
        id=m["id"],
        rule_id=m["rule_id"],
        rule_name=m["name"],
        rule_code=m["code"],
        opens_case=bool(m["opens_case"]),
        asset_id=m["asset_id"],
        asset_ref=m["external_ref"],
        kind=m["kind"],
        commune=m["commune_insee"],
        maintainer_id=m["maintainer_id"],
        severity=Severity(m["severity"]),
        state=AlarmState(m["state"]),
        message=m["message"],
        value=m["value"],
        observed_at=m["observed_at"],
        raised_at=m["raised_at"],
        reopened_at=m["reopened_at"],
        acknowledged_at=m["acknowledged_at"],
        acknowledged_by=m["acknowledged_by"],
        cleared_at=m["cleared_at"],
        cleared_by=m["cleared_by"],
        clear_reason=m["clear_reason"],
        assignee=m["assignee"],
        suppressed_by=m["suppressed_by"],
        suppressed_count=int(m["suppressed_count"] or 0),
        flaps=m["flaps"],
        escalation_level=m["escalation_level"],
        escalated_at=m["escalated_at"],
        updated_at=m["updated_at"],
    )


def list_alarms(conn: Connection, flt: AlarmFilter, limit: int) -> list[Alarm]:
    query = _apply(_base_select(), flt).order_by(alarms.c.id.desc()).limit(limit)
    return [_alarm(row) for row in conn.execute(query)]


def get_alarms(conn: Connection, ids: Iterable[int], scope: Scope = UNRESTRICTED) -> list[Alarm]:
    wanted = list(ids)
    found: list[Alarm] = []
    for start in range(0, len(wanted), 500):
        query = _apply(_base_select(), AlarmFilter(scope=scope, suppressed=None)).where(
            alarms.c.id.in_(wanted[start : start + 500])
        )
        found += [_alarm(row) for row in conn.execute(query.order_by(alarms.c.id))]
    return found


def get_alarm(conn: Connection, alarm_id: int, scope: Scope = UNRESTRICTED) -> Alarm | None:
    found = get_alarms(conn, [alarm_id], scope)
    return found[0] if found else None


def children_of(conn: Connection, alarm_id: int, scope: Scope = UNRESTRICTED) -> list[Alarm]:
    query = _apply(_base_select(), AlarmFilter(scope=scope, suppressed=True)).where(
        alarms.c.suppressed_by == alarm_id
    )
    return [_alarm(row) for row in conn.execute(query.order_by(alarms.c.id))]


def count_open(conn: Connection, flt: AlarmFilter) -> dict[str, int]:
    """Open alarms by severity, under a filter (for the command post's counters)."""
    query = (
        _apply(
            select(alarms.c.severity, func.count())
            .select_from(alarms)
            .join(assets, assets.c.id == alarms.c.asset_id),
            flt,
        )
        .where(alarms.c.state.in_(_OPEN))
        .group_by(alarms.c.severity)
    )
    return {str(s): int(n) for s, n in conn.execute(query)}


def insert_comment(conn: Connection, alarm_id: int, at: datetime, author: str, text: str) -> int:
    result = conn.execute(
        insert(alarm_comments)
        .values(alarm_id=alarm_id, at=at, author=author, text=text)
        .returning(alarm_comments.c.id)
    )
    return int(result.scalar_one())


def comments_of(conn: Connection, alarm_id: int) -> list[AlarmComment]:
    c = alarm_comments.c
    query = select(alarm_comments).where(c.alarm_id == alarm_id).order_by(c.id)
    return [
        AlarmComment(row.id, row.alarm_id, row.at, row.author, row.text)
        for row in conn.execute(query)
    ]
