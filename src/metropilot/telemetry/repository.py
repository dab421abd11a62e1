"""Storage of telemetry: raw readings, hourly rollups, device events, the twin, ingest counters.

The ingest path writes through the driver's ``executemany`` with statements prepared once per
dialect: at tens of thousands of rows a second, SQLAlchemy's per-row parameter processing would
cost more than the database. Times are integer milliseconds since the epoch (UTC), which both
databases index and PostgreSQL partitions by range.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    and_,
    delete,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.engine import Connection

from metropilot.db.schema import JSONDocument, metadata

__all__ = [
    "HOUR_MS",
    "asset_twin",
    "device_events",
    "ingest_counters",
    "telemetry_hourly",
    "telemetry_raw",
    "twin_values",
]

HOUR_MS = 3_600_000

telemetry_raw = Table(
    "telemetry_raw",
    metadata,
    Column("asset_id", Integer, nullable=False),
    Column("metric", String(24), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("asset_id", "metric", "ts_ms", name="pk_telemetry_raw"),
    Index("ix_telemetry_raw_ts_ms", "ts_ms"),
    # PostgreSQL keeps one partition a day (see ensure_partitions): retention drops whole days.
    postgresql_partition_by="RANGE (ts_ms)",
    # SQLite stores the rows in primary-key order: one B-tree to write per reading, not two.
    sqlite_with_rowid=False,
)

telemetry_hourly = Table(
    "telemetry_hourly",
    metadata,
    Column("asset_id", Integer, nullable=False),
    Column("metric", String(24), nullable=False),
    Column("hour_ms", BigInteger, nullable=False),
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
    Column("sum", Float, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("asset_id", "metric", "hour_ms", name="pk_telemetry_hourly"),
    Index("ix_telemetry_hourly_hour_ms", "hour_ms"),
)

device_events = Table(
    "device_events",
    metadata,
    Column("asset_id", Integer, nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("code", String(64), nullable=False),
    Column("payload", JSONDocument, nullable=False),
    PrimaryKeyConstraint("asset_id", "ts_ms", "code", name="pk_device_events"),
    Index("ix_device_events_ts_ms", "ts_ms"),
)

# The twin: the latest value of each metric of each asset, merged by timestamp so that several
# ingest workers and late or out-of-order readings never overwrite newer values.
twin_values = Table(
    "twin_values",
    metadata,
    Column("asset_id", Integer, nullable=False),
    Column("metric", String(24), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("asset_id", "metric", name="pk_twin_values"),
)

asset_twin = Table(
    "asset_twin",
    metadata,
    Column("asset_id", Integer, primary_key=True),
    Column("last_seen_ms", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
)

ingest_counters = Table(
    "ingest_counters",
    metadata,
    Column("day", String(10), nullable=False),
    Column("source", String(16), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "source", "outcome", name="pk_ingest_counters"),
)


def _cursor(conn: Connection) -> Any:
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _statements(dialect: str) -> dict[str, str]:
    if dialect == "sqlite":
        return {
            "raw": "INSERT OR IGNORE INTO telemetry_raw (asset_id, metric, ts_ms, value) "
            "VALUES (?, ?, ?, ?)",
            "event": "INSERT OR IGNORE INTO device_events (asset_id, ts_ms, code, payload) "
            "VALUES (?, ?, ?, ?)",
            "twin_value": "INSERT INTO twin_values (asset_id, metric, ts_ms, value) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (asset_id, metric) DO UPDATE SET "
            "ts_ms = excluded.ts_ms, value = excluded.value "
            "WHERE excluded.ts_ms >= twin_values.ts_ms",
            "twin": "INSERT INTO asset_twin (asset_id, last_seen_ms, status) VALUES (?, ?, ?) "
            "ON CONFLICT (asset_id) DO UPDATE SET "
            "last_seen_ms = max(asset_twin.last_seen_ms, excluded.last_seen_ms), "
            "status = excluded.status",
            "counter": "INSERT INTO ingest_counters (day, source, outcome, count) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (day, source, outcome) DO UPDATE SET "
            "count = ingest_counters.count + excluded.count",
        }
    return {
        "raw": "INSERT INTO telemetry_raw (asset_id, metric, ts_ms, value) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
        "event": "INSERT INTO device_events (asset_id, ts_ms, code, payload) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
        "twin_value": "INSERT INTO twin_values (asset_id, metric, ts_ms, value) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (asset_id, metric) DO UPDATE SET "
        "ts_ms = excluded.ts_ms, value = excluded.value "
        "WHERE excluded.ts_ms >= twin_values.ts_ms",
        "twin": "INSERT INTO asset_twin (asset_id, last_seen_ms, status) VALUES (%s, %s, %s) "
        "ON CONFLICT (asset_id) DO UPDATE SET "
        "last_seen_ms = greatest(asset_twin.last_seen_ms, excluded.last_seen_ms), "
        "status = excluded.status",
        "counter": "INSERT INTO ingest_counters (day, source, outcome, count) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (day, source, outcome) DO UPDATE SET "
        "count = ingest_counters.count + excluded.count",
    }


_SQL: dict[str, dict[str, str]] = {}


def write_batch(
    conn: Connection,
    *,
    raw: Sequence[tuple[int, str, int, float]],
    events: Sequence[tuple[int, int, str, str]],
    twin_values_rows: Sequence[tuple[int, str, int, float]],
    twins: Sequence[tuple[int, int, str]],
    counters: Sequence[tuple[str, str, str, int]],
) -> None:
    """Write one ingest batch in the caller's transaction; duplicates (a redelivered message)
    are ignored by primary key, so a retry never stores a reading twice."""
    dialect = conn.dialect.name
    sql = _SQL.get(dialect) or _SQL.setdefault(dialect, _statements(dialect))
    cursor = _cursor(conn)
    try:
        for key, rows in (
            ("raw", raw),
            ("event", events),
            ("twin_value", twin_values_rows),
            ("twin", twins),
            ("counter", counters),
        ):
            if rows:
                cursor.executemany(sql[key], rows)
    finally:
        cursor.close()


def _streamed(conn: Connection) -> Connection:
    # Rows are read as they come (PostgreSQL: a server-side cursor), never all at once: the
    # twin of a large metropolis is millions of them.
    return conn.execution_options(stream_results=True, yield_per=20_000)


def twin_states(conn: Connection) -> Iterator[tuple[int, int, str]]:
    """Every asset's (id, last-seen time, status), as stored by the last flush."""
    for asset_id, last_seen, status in _streamed(conn).execute(select(asset_twin)):
        yield int(asset_id), int(last_seen), str(status)


def twin_value_rows(conn: Connection) -> Iterator[tuple[int, str, int, float]]:
    """Every stored latest value: (asset id, metric, time, value)."""
    for asset_id, metric, ts_ms, value in _streamed(conn).execute(select(twin_values)):
        yield int(asset_id), str(metric), int(ts_ms), float(value)


def latest_raw_since(conn: Connection, since_ms: int) -> Iterator[tuple[int, str, int, float]]:
    """The newest raw value of each (asset, metric) since ``since_ms``, to rebuild the twin."""
    r = telemetry_raw.c
    newest = (
        select(r.asset_id, r.metric, func.max(r.ts_ms).label("ts_ms"))
        .where(r.ts_ms >= since_ms)
        .group_by(r.asset_id, r.metric)
        .subquery()
    )
    query = select(r.asset_id, r.metric, r.ts_ms, r.value).join(
        newest,
        and_(
            r.asset_id == newest.c.asset_id, r.metric == newest.c.metric, r.ts_ms == newest.c.ts_ms
        ),
    )
    for asset_id, metric, ts_ms, value in _streamed(conn).execute(query):
        yield int(asset_id), str(metric), int(ts_ms), float(value)


def twin_of(
    conn: Connection, asset_id: int
) -> tuple[tuple[int, str] | None, dict[str, tuple[int, float]]]:
    state = conn.execute(
        select(asset_twin.c.last_seen_ms, asset_twin.c.status).where(
            asset_twin.c.asset_id == asset_id
        )
    ).first()
    values = {
        str(m): (int(t), float(v))
        for m, t, v in conn.execute(
            select(twin_values.c.metric, twin_values.c.ts_ms, twin_values.c.value).where(
                twin_values.c.asset_id == asset_id
            )
        )
    }
    return ((int(state[0]), str(state[1])) if state else None), values


def raw_series(
    conn: Connection,
    asset_id: int,
    metric: str,
    start_ms: int,
    end_ms: int,
    after_ms: int | None,
    limit: int,
) -> list[tuple[int, float]]:
    c = telemetry_raw.c
    query = (
        select(c.ts_ms, c.value)
        .where(c.asset_id == asset_id, c.metric == metric, c.ts_ms >= start_ms, c.ts_ms < end_ms)
        .order_by(c.ts_ms)
        .limit(limit)
    )
    if after_ms is not None:
        query = query.where(c.ts_ms > after_ms)
    return [(int(t), float(v)) for t, v in conn.execute(query)]


def bucket_series(
    conn: Connection,
    asset_id: int,
    metric: str,
    start_ms: int,
    end_ms: int,
    bucket_ms: int,
    after_ms: int | None,
    limit: int,
) -> list[tuple[int, float, float, float, int]]:
    """(bucket start, min, max, avg, count) from the hourly rollups, hours grouped into
    ``bucket_ms`` buckets (an hour or a day)."""
    c = telemetry_hourly.c
    bucket = c.hour_ms // bucket_ms * bucket_ms if bucket_ms != HOUR_MS else c.hour_ms
    query = (
        select(
            bucket.label("b"), func.min(c.min), func.max(c.max), func.sum(c.sum), func.sum(c.count)
        )
        .where(
            c.asset_id == asset_id, c.metric == metric, c.hour_ms >= start_ms, c.hour_ms < end_ms
        )
        .group_by(bucket)
        .order_by(bucket)
        .limit(limit)
    )
    if after_ms is not None:
        query = query.where(c.hour_ms >= after_ms + bucket_ms)
    return [
        (int(b), float(mn), float(mx), float(s) / int(n), int(n))
        for b, mn, mx, s, n in conn.execute(query)
    ]


def lock_rollups(conn: Connection) -> None:
    """PostgreSQL: one transaction at a time recomputes rollups (the maintenance, or a batch of
    late readings), until its commit; two would both insert the same hour. (SQLite has one
    writer at a time anyway.) Take it before any other lock of the transaction: the maintenance
    goes on to lock the raw table whole, and would wait for a batch waiting for it."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7204113)")  # any constant, ours only


def roll_up(conn: Connection, start_hour_ms: int, end_hour_ms: int) -> int:
    """Recompute the hourly rollups of [start, end) from the raw readings; returns rows made."""
    lock_rollups(conn)
    h = telemetry_hourly.c
    conn.execute(
        delete(telemetry_hourly).where(and_(h.hour_ms >= start_hour_ms, h.hour_ms < end_hour_ms))
    )
    r = telemetry_raw.c
    hour = r.ts_ms // HOUR_MS * HOUR_MS
    source = (
        select(
            r.asset_id,
            r.metric,
            hour,
            func.min(r.value),
            func.max(r.value),
            func.sum(r.value),
            func.count(),
        )
        .where(r.ts_ms >= start_hour_ms, r.ts_ms < end_hour_ms)
        .group_by(r.asset_id, r.metric, hour)
    )
    conn.execute(
        telemetry_hourly.insert().from_select(
            ["asset_id", "metric", "hour_ms", "min", "max", "sum", "count"], source
        )
    )
    # Counted, not taken from rowcount: drivers disagree on it for INSERT … SELECT.
    made = select(func.count()).where(h.hour_ms >= start_hour_ms, h.hour_ms < end_hour_ms)
    return int(conn.execute(made).scalar_one())


def roll_up_series(conn: Connection, hours: dict[int, set[tuple[int, str]]]) -> None:
    """Recompute the hourly rollups of some series in some hours — hour → {(asset id, metric)}
    — from the raw readings: those late readings brought to hours the maintenance no longer
    recomputes."""
    lock_rollups(conn)
    h, r = telemetry_hourly.c, telemetry_raw.c
    for hour_ms, series in sorted(hours.items()):
        pairs = sorted(series)
        for at in range(0, len(pairs), 5_000):  # bound the statement's parameters
            chunk = pairs[at : at + 5_000]
            conn.execute(
                delete(telemetry_hourly).where(
                    h.hour_ms == hour_ms, tuple_(h.asset_id, h.metric).in_(chunk)
                )
            )
            source = (
                select(
                    r.asset_id,
                    r.metric,
                    literal(hour_ms, BigInteger),
                    func.min(r.value),
                    func.max(r.value),
                    func.sum(r.value),
                    func.count(),
                )
                .where(
                    r.ts_ms >= hour_ms,
                    r.ts_ms < hour_ms + HOUR_MS,
                    tuple_(r.asset_id, r.metric).in_(chunk),
                )
                .group_by(r.asset_id, r.metric)
            )
            conn.execute(
                telemetry_hourly.insert().from_select(
                    ["asset_id", "metric", "hour_ms", "min", "max", "sum", "count"], source
                )
            )


def delete_raw_before(
    conn: Connection,
    before_ms: int,
    *,
    metrics: Iterable[str] | None = None,
    except_metrics: Iterable[str] = (),
) -> int:
    query = delete(telemetry_raw).where(telemetry_raw.c.ts_ms < before_ms)
    if metrics is not None:
        query = query.where(telemetry_raw.c.metric.in_(list(metrics)))
    kept = list(except_metrics)
    if kept:
        query = query.where(telemetry_raw.c.metric.not_in(kept))
    return int(conn.execute(query).rowcount or 0)


def delete_hourly_before(conn: Connection, before_ms: int) -> int:
    return int(
        conn.execute(
            delete(telemetry_hourly).where(telemetry_hourly.c.hour_ms < before_ms)
        ).rowcount
        or 0
    )


def delete_events_before(conn: Connection, before_ms: int) -> int:
    return int(
        conn.execute(delete(device_events).where(device_events.c.ts_ms < before_ms)).rowcount or 0
    )


def counters(conn: Connection, since_day: str) -> list[tuple[str, str, str, int]]:
    c = ingest_counters.c
    query = (
        select(c.day, c.source, c.outcome, c.count)
        .where(c.day >= since_day)
        .order_by(c.day, c.source, c.outcome)
    )
    return [(str(d), str(s), str(o), int(n)) for d, s, o, n in conn.execute(query)]


DAY_MS = 24 * HOUR_MS
_PARTITION_PREFIX = "telemetry_raw_d"


def _partition_days(conn: Connection) -> set[int]:
    """The days (since the epoch) that have their own partition of the raw table."""
    rows = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'telemetry_raw'"
    ).all()
    days = set()
    for (name,) in rows:
        suffix = str(name).removeprefix(_PARTITION_PREFIX)
        if suffix != name and suffix.isdigit():  # not the default partition
            days.add(int(suffix))
    return days


def days_in_default_partition(conn: Connection, from_ms: int, until_ms: int) -> list[int]:
    """PostgreSQL: the days of [from_ms, until_ms) whose readings wait in the default partition
    (their day had no partition when they arrived); normally none."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.exec_driver_sql(
        "SELECT DISTINCT ts_ms / %s FROM telemetry_raw_default WHERE ts_ms >= %s AND ts_ms < %s",
        (DAY_MS, from_ms, until_ms),
    ).all()
    return sorted(int(day) for (day,) in rows)


def ensure_partitions(conn: Connection, days: Iterable[int]) -> int:
    """PostgreSQL: make sure each of ``days`` (days since the epoch, UTC) has its partition;
    returns how many were made. Idempotent, and safe beside other processes doing the same.

    Whatever the default partition holds is no obstacle: the readings it holds for a day about
    to get its partition (a gateway back with a week of buffered readings, a device whose clock
    ran ahead, a platform whose maintenance had not run) are moved into that partition in the
    same transaction; PostgreSQL would otherwise refuse to create it. Nothing is lost or stored
    twice: the rows are deleted from the default partition and inserted again through the
    parent, which now routes them to their day.
    """
    if conn.dialect.name != "postgresql":
        return 0
    wanted = set(days)
    if not wanted - _partition_days(conn):
        return 0  # the usual case, every maintenance run: no lock taken
    # Creating a partition takes this lock anyway. Taken first, it keeps every writer out until
    # the commit, so no reading lands in the default partition between the move and the
    # creation; and two processes preparing the same days wait for each other.
    conn.exec_driver_sql("LOCK TABLE telemetry_raw IN ACCESS EXCLUSIVE MODE")
    missing = sorted(wanted - _partition_days(conn))
    if not missing:
        return 0
    # Rows in the default partition within the span of the missing days can only belong to
    # missing days: a day that has a partition never routes a row to the default one.
    low, high = missing[0] * DAY_MS, (missing[-1] + 1) * DAY_MS
    moving = bool(
        conn.exec_driver_sql(
            "SELECT EXISTS (SELECT 1 FROM telemetry_raw_default WHERE ts_ms >= %s AND ts_ms < %s)",
            (low, high),
        ).scalar()
    )
    if moving:
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE telemetry_raw_moving AS "
            "WITH moved AS (DELETE FROM telemetry_raw_default WHERE ts_ms >= %s AND ts_ms < %s "
            "RETURNING asset_id, metric, ts_ms, value) SELECT * FROM moved",
            (low, high),
        )
    for day in missing:
        start = day * DAY_MS
        conn.exec_driver_sql(
            f"CREATE TABLE {_PARTITION_PREFIX}{day} PARTITION OF telemetry_raw "
            f"FOR VALUES FROM ({start}) TO ({start + DAY_MS})"
        )
    if moving:
        conn.exec_driver_sql(
            "INSERT INTO telemetry_raw (asset_id, metric, ts_ms, value) "
            "SELECT asset_id, metric, ts_ms, value FROM telemetry_raw_moving"
        )
        conn.exec_driver_sql("DROP TABLE telemetry_raw_moving")
    return len(missing)


def drop_partitions_before(conn: Connection, before_ms: int) -> int:
    """PostgreSQL: drop the daily partitions that end before ``before_ms``; returns how many."""
    if conn.dialect.name != "postgresql":
        return 0
    dropped = 0
    for day in sorted(_partition_days(conn)):
        if (day + 1) * DAY_MS <= before_ms:
            conn.exec_driver_sql(f"DROP TABLE {_PARTITION_PREFIX}{day}")
            dropped += 1
    return dropped
