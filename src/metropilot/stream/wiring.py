"""How the live stream plugs into the platform: its journal pruned by housekeeping."""

from __future__ import annotations

from datetime import timedelta

from metropilot.db.wiring import Wiring
from metropilot.shared.clock import utcnow
from metropilot.stream import services

__all__ = ["prune", "wire"]

# Housekeeping rounds between two prunings (a round every ``housekeeping_interval_s``).
PRUNE_EVERY_ROUNDS = 10


def wire(w: Wiring) -> None:
    w.housekeeping("stream-prune", lambda: prune(w), every_rounds=PRUNE_EVERY_ROUNDS)


def prune(w: Wiring) -> str:
    """Forget what the stream journaled longer ago than its retention."""
    before = utcnow() - timedelta(hours=w.settings.stream_retention_hours)
    with w.uow_factory(write=True) as uow:
        pruned = services.prune(uow, before)
        uow.commit()
    return f"{pruned} stream events pruned"
