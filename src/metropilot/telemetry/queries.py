"""What other contexts read of telemetry: the twin's latest values."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from metropilot.telemetry.repository import (
    HOUR_MS,
    asset_twin,
    telemetry_hourly,
    telemetry_raw,
    twin_values,
)

__all__ = [
    "connected_assets",
    "counter_maxima",
    "last_positions",
    "latest_values",
    "twin_metric_values",
]


def last_positions(conn: Connection, asset_ids: Sequence[int]) -> dict[int, tuple[float, float]]:
    """Where each vehicle last reported being (its twin's position), when it has."""
    if not asset_ids:
        return {}
    t = twin_values.c
    rows = conn.execute(
        select(t.asset_id, t.metric, t.value).where(
            t.asset_id.in_(list(asset_ids)), t.metric.in_(("position_lon", "position_lat"))
        )
    )
    halves: dict[int, dict[str, float]] = {}
    for asset_id, metric, value in rows:
        halves.setdefault(int(asset_id), {})[str(metric)] = float(value)
    return {
        asset_id: (values["position_lon"], values["position_lat"])
        for asset_id, values in halves.items()
        if "position_lon" in values and "position_lat" in values
    }


# --- read by cases ---


def connected_assets(conn: Connection, asset_ids: Sequence[int]) -> set[int]:
    """Those of the assets that report (they have a digital twin): equipment that is not
    connected never says it is healthy again."""
    if not asset_ids:
        return set()
    t = asset_twin.c
    rows = conn.execute(select(t.asset_id).where(t.asset_id.in_(list(asset_ids)))).scalars()
    return {int(asset_id) for asset_id in rows}


# --- read by control ---


def latest_values(conn: Connection, asset_id: int, metrics: Sequence[str]) -> dict[str, float]:
    """The newest reported value of each metric: its newest raw reading, written in the very
    transaction that accepted it (the stored twin may lag by a few seconds), else the twin."""
    found: dict[str, float] = {}
    r, t = telemetry_raw.c, twin_values.c
    for metric in metrics:
        newest = conn.execute(
            select(r.value)
            .where(r.asset_id == asset_id, r.metric == metric)
            .order_by(r.ts_ms.desc())
            .limit(1)
        ).scalar()
        if newest is None:
            newest = conn.execute(
                select(t.value).where(t.asset_id == asset_id, t.metric == metric)
            ).scalar()
        if newest is not None:
            found[metric] = float(newest)
    return found


# --- read by contracts ---


def counter_maxima(conn: Connection, metric: str, since_ms: int, until_ms: int) -> dict[int, float]:
    """Each asset's highest reading of a counter (``energy_wh``) in ``[since_ms, until_ms)``:
    from the hourly rollups of the whole hours in it, and from the raw readings."""
    h, r = telemetry_hourly.c, telemetry_raw.c
    queries = (
        select(h.asset_id, func.max(h.max))
        .where(h.metric == metric, h.hour_ms >= since_ms, h.hour_ms + HOUR_MS <= until_ms)
        .group_by(h.asset_id),
        select(r.asset_id, func.max(r.value))
        .where(r.metric == metric, r.ts_ms >= since_ms, r.ts_ms < until_ms)
        .group_by(r.asset_id),
    )
    found: dict[int, float] = {}
    for query in queries:
        for asset_id, value in conn.execute(query):
            if value is not None:
                found[int(asset_id)] = max(found.get(int(asset_id), 0.0), float(value))
    return found


# --- read by simulate ---


def twin_metric_values(
    conn: Connection, metrics: Sequence[str], *, until_ms: int | None = None
) -> list[tuple[int, str, float]]:
    """The twin's latest value of these metrics for every asset, as (asset id, metric, value);
    only values reported at or before ``until_ms`` when given."""
    t = twin_values.c
    query = select(t.asset_id, t.metric, t.value).where(t.metric.in_(list(metrics)))
    if until_ms is not None:
        query = query.where(t.ts_ms <= until_ms)
    return [(int(a), str(m), float(v)) for a, m, v in conn.execute(query).all()]
