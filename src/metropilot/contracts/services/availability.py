"""IT availability: the platform's heartbeats and the gateways' silences."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from metropilot.assets import queries as assets_queries
from metropilot.contracts import repository
from metropilot.contracts.kpis import UptimeInterval
from metropilot.contracts.services.contracts import StoredContract
from metropilot.contracts.services.facts import GATEWAY_SILENCE_RULES, outages
from metropilot.db.uow import UnitOfWork
from metropilot.shared.clock import utcnow

# --- IT availability --------------------------------------------------------------------------


BEAT_GRACE_S: Final = 90.0


def beat(uow: UnitOfWork, component: str, at: datetime | None = None) -> None:
    """The component is alive now (called every 30 s; a silence over 90 s is downtime)."""
    repository.beat(uow.connection, component, at or utcnow(), BEAT_GRACE_S)


def it_uptime(
    uow: UnitOfWork, stored: StoredContract, start: datetime, end: datetime, until: datetime
) -> tuple[list[UptimeInterval], list[str]]:
    components = list(stored.components())
    uptime = [
        UptimeInterval(
            row["component"], max(row["started_at"], start), min(row["last_beat_at"], end)
        )
        for row in repository.uptime_between(uow.connection, components, start, end)
        if min(row["last_beat_at"], end) > max(row["started_at"], start)
    ]
    if stored.gateways_counted():
        gateways = [
            cabinet
            for cabinet in assets_queries.lighting_cabinets(uow.connection)
            if cabinet.remote_managed
        ]
        silences = outages(uow, GATEWAY_SILENCE_RULES, start, end, until)
        for cabinet in gateways:
            name = f"gateway:{cabinet.ref}"
            components.append(name)
            cursor = start
            for down_from, down_to in sorted(silences.get(cabinet.id, ())):
                if down_from > cursor:
                    uptime.append(UptimeInterval(name, cursor, min(down_from, end)))
                cursor = max(cursor, down_to)
            if cursor < end:
                uptime.append(UptimeInterval(name, cursor, end))
    return uptime, components
