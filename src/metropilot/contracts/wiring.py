"""How the contract plugs into the platform: the beats its IT availability is measured by."""

from __future__ import annotations

from metropilot.contracts import services
from metropilot.db.wiring import Wiring

__all__ = ["wire"]


def wire(w: Wiring) -> None:
    w.housekeeping("availability-beats", lambda: beat(w))


def beat(w: Wiring) -> None:
    """The platform is up (the IT availability of the contract counts these beats); without a
    broker the ingest runs in this process, and is up with it."""
    with w.uow_factory(write=True) as uow:
        services.beat(uow, "api")
        if not w.settings.mqtt_url.strip():
            services.beat(uow, "ingest")
        uow.commit()
