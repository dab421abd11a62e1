"""Escalating the alarms nobody acknowledged in time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from metropilot.alarms import repository
from metropilot.alarms.model import DEFAULT_ESCALATION_DELAYS, AlarmEscalated, Severity
from metropilot.alarms.services.common import RULES_ACTOR, alarm_event_fields
from metropilot.db.uow import UnitOfWork
from metropilot.shared.audit import AuditEntry


def escalate(
    uow: UnitOfWork,
    now: datetime,
    delay: timedelta | Mapping[Severity | str, timedelta] | None = None,
    *,
    limit: int = 1000,
) -> int:
    """Escalate the alarms nobody acknowledged within the delay of their severity (defaults:
    ``DEFAULT_ESCALATION_DELAYS``; one ``timedelta`` applies to every severity but ``info``).
    Each alarm escalates once per opening: ``AlarmEscalated`` is recorded, the alarm keeps
    ``escalated_at`` and ``escalation_level``. Muted children never escalate: their parent does.
    """
    if delay is None:
        delays: dict[Severity, timedelta] = dict(DEFAULT_ESCALATION_DELAYS)
    elif isinstance(delay, timedelta):
        delays = {s: delay for s in Severity if s is not Severity.INFO}
    else:
        delays = {Severity(k): v for k, v in delay.items()}
    conn = uow.connection
    escalated = 0
    for severity, wait in delays.items():
        ids = repository.escalation_due(conn, severity.value, now - wait, limit - escalated)
        for alarm in repository.get_alarms(conn, ids):
            repository.update_alarm(
                conn, alarm.id, {"escalation_level": 1, "escalated_at": now, "updated_at": now}
            )
            opened_at = alarm.reopened_at or alarm.raised_at
            waited = (now - opened_at).total_seconds()
            uow.audit(
                AuditEntry(
                    RULES_ACTOR,
                    "alarm.escalated",
                    "alarm",
                    str(alarm.id),
                    {"escalation_level": [0, 1]},
                    at=now,
                )
            )
            uow.record(
                AlarmEscalated(
                    **alarm_event_fields(alarm, RULES_ACTOR),
                    level=1,
                    unacknowledged_s=waited,
                    occurred_at=now,
                )
            )
            escalated += 1
    return escalated
