"""How alarms plug into the platform: the rules engine on every telemetry batch, the alarms'
changes on the live stream, and their timers and escalations run by housekeeping."""

from __future__ import annotations

from metropilot.alarms import services
from metropilot.alarms.model import AlarmAcknowledged, AlarmCleared, AlarmEscalated, AlarmRaised
from metropilot.db.wiring import Wiring
from metropilot.shared.clock import utcnow
from metropilot.stream.journal import generic_mapper
from metropilot.stream.model import (
    ALARM_ACKNOWLEDGED,
    ALARM_CLEARED,
    ALARM_ESCALATED,
    ALARM_RAISED,
)

__all__ = ["wire"]


def wire(w: Wiring) -> None:
    w.observe_batches(services.AlarmEngine())
    w.journal(AlarmRaised, generic_mapper(ALARM_RAISED))
    w.journal(AlarmAcknowledged, generic_mapper(ALARM_ACKNOWLEDGED))
    w.journal(AlarmCleared, generic_mapper(ALARM_CLEARED))
    w.journal(AlarmEscalated, generic_mapper(ALARM_ESCALATED))
    w.housekeeping("alarm-timers", lambda: run_timers(w))


def run_timers(w: Wiring) -> None:
    """Raise what waited out its delay, lift what its silence no longer covers, escalate the
    unacknowledged."""
    with w.uow_factory(write=True) as uow:
        services.check_timers(uow, utcnow())
        services.escalate(uow, utcnow())
        uow.commit()
