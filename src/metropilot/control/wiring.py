"""How remote control plugs into the platform: equipment answers commands with device events,
which the command tracker reads inside the ingest transaction."""

from __future__ import annotations

from metropilot.control import services
from metropilot.db.wiring import Wiring

__all__ = ["wire"]


def wire(w: Wiring) -> None:
    w.observe_device_events(services.record_answers)
