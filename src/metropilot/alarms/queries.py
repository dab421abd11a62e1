"""What other contexts read of the alarms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, or_, select

from metropilot.alarms.repository import alarm_rules, alarms

__all__ = ["AlarmSpell", "alarm_spells"]


# --- read by contracts ---


@dataclass(frozen=True, slots=True)
class AlarmSpell:
    """One alarm of an asset, from raised to cleared (None: still open)."""

    asset_id: int
    raised_at: datetime
    cleared_at: datetime | None


def alarm_spells(
    conn: Connection, rule_codes: Sequence[str], start: datetime, end: datetime
) -> list[AlarmSpell]:
    """The alarms of the rules (by code) raised before ``end`` and open after ``start``."""
    al, r = alarms.c, alarm_rules.c
    rows = conn.execute(
        select(al.asset_id, al.raised_at, al.cleared_at)
        .select_from(alarms.join(alarm_rules, al.rule_id == r.id))
        .where(
            r.code.in_(list(rule_codes)),
            al.raised_at < end,
            or_(al.cleared_at.is_(None), al.cleared_at > start),
        )
    )
    return [AlarmSpell(int(asset_id), raised, cleared) for asset_id, raised, cleared in rows]
