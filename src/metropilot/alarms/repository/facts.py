"""What the time-driven checks read of the equipment: the registry's facts, silences, events and
readings, the twin, and the alarms due to escalate.

These queries join the registry's (``assets``) and telemetry's tables (``asset_twin``,
``device_events``, ``telemetry_raw``, ``twin_values``) in SQL: a heartbeat check is one query
per rule over the whole registry, which reading each context in turn would make thousands."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.engine import Connection

from metropilot.alarms.model import AlarmState, Rule
from metropilot.alarms.repository.tables import alarm_conditions, alarms
from metropilot.assets.repository import assets
from metropilot.telemetry.repository import asset_twin, device_events, telemetry_raw, twin_values


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
    conn: Connection, rule: Rule, before_ms: int, excluded_statuses: Sequence[str], limit: int
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
        .where(alarm_conditions.c.asset_id == t.asset_id, alarm_conditions.c.rule_id == rule.id)
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
