"""What other contexts read of telemetry: the twin's latest values."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from metropilot.telemetry.repository import asset_twin, twin_values

__all__ = [
    "connected_assets",
    "last_positions",
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
