"""How the contexts plug into one platform: each context's ``wiring.wire(w)`` registers here.

Start-up (``metropilot.bootstrap``) creates one ``Wiring`` per platform and hands it to every
context in the contexts' order. A context registers:

- handlers of events (``on``), run by the bus after the transaction that recorded the event has
  committed — including its own events whose consequences land in a lower context (a case
  resolved marks its reports fixed): the lower context exposes a plain service function and the
  upper one subscribes, so no context imports one above it;
- how its events appear on the live stream (``journal``), and, for the assets context, how the
  stream learns the scoping facts of an asset an event does not describe (``asset_facts``);
- what reacts to each telemetry batch and to devices' events inside the ingest transaction
  (``observe_batches``, ``observe_device_events``);
- the housekeeping it needs (``housekeeping``): the server runs the jobs in rounds, in the
  order they were registered, each on its own so one failing job never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from metropilot.db.uow import UnitOfWorkFactory
from metropilot.settings import Settings
from metropilot.shared.events import DomainEvent, MessageBus
from metropilot.shared.journal import AssetFactsReader, JournalEntry

__all__ = ["HousekeepingJob", "JournalMapper", "Wiring"]

E = TypeVar("E", bound=DomainEvent)

# Maps an event to what the stream stores of it (None: not journaled).
JournalMapper = Callable[[E], JournalEntry | None]


@dataclass(frozen=True, slots=True)
class HousekeepingJob:
    """Background work of a context: ``run`` every ``every_rounds`` housekeeping rounds (a round
    every ``housekeeping_interval_s``); what it returns, when not None, is logged."""

    name: str
    run: Callable[[], object]
    every_rounds: int = 1


@dataclass
class Wiring:
    bus: MessageBus
    uow_factory: UnitOfWorkFactory
    settings: Settings
    journal_mappers: list[
        tuple[type[DomainEvent], Callable[[DomainEvent], JournalEntry | None]]
    ] = field(default_factory=list)
    asset_facts_reader: AssetFactsReader | None = None
    # Typed by the telemetry context (``BatchObserver``, ``EventObserver``), above this module.
    batch_observers: list[Callable[..., None]] = field(default_factory=list)
    device_event_observers: list[Callable[..., object]] = field(default_factory=list)
    housekeeping_jobs: list[HousekeepingJob] = field(default_factory=list)

    def on(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """Call ``handler`` with each committed event of this type (or a subtype)."""
        self.bus.subscribe(event_type, handler)

    def journal(self, event_type: type[E], mapper: Callable[[E], JournalEntry | None]) -> None:
        """Show events of this type on the live stream, as ``mapper`` describes them."""
        # The journal calls each mapper only with events of its own type.
        self.journal_mappers.append((event_type, mapper))  # type: ignore[arg-type]

    def asset_facts(self, reader: AssetFactsReader) -> None:
        self.asset_facts_reader = reader

    def observe_batches(self, observer: Callable[..., None]) -> None:
        self.batch_observers.append(observer)

    def observe_device_events(self, observer: Callable[..., object]) -> None:
        self.device_event_observers.append(observer)

    def housekeeping(self, name: str, run: Callable[[], object], *, every_rounds: int = 1) -> None:
        self.housekeeping_jobs.append(HousekeepingJob(name, run, every_rounds))
