"""Start-up: settings → engine → migrations → unit-of-work factory → each context wired in.

Entry points start here. Every context plugs itself in through its ``wiring.wire`` (bus
handlers, journal mappers, ingest observers, housekeeping jobs; see ``metropilot.db.wiring``),
called in the contexts' order, so this module names the contexts and nothing of their insides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine, MetaData

from metropilot.accounts import passwords
from metropilot.accounts import repository as accounts_repository
from metropilot.accounts.services import LastUse
from metropilot.alarms import repository as alarms_repository
from metropilot.alarms import wiring as alarms_wiring
from metropilot.assets import repository as assets_repository
from metropilot.assets import wiring as assets_wiring
from metropilot.audit import repository as audit_repository
from metropilot.audit import services as audit_services
from metropilot.cases import repository as cases_repository
from metropilot.cases import wiring as cases_wiring
from metropilot.contracts import repository as contracts_repository
from metropilot.contracts import wiring as contracts_wiring
from metropilot.control import repository as control_repository
from metropilot.control import wiring as control_wiring
from metropilot.control.services import CommandTransport, LocalTransport
from metropilot.db import migrate
from metropilot.db.engine import make_engine
from metropilot.db.schema import metadata
from metropilot.db.uow import UnitOfWork, UnitOfWorkFactory
from metropilot.db.wiring import Wiring
from metropilot.reports import repository as reports_repository
from metropilot.reports import wiring as reports_wiring
from metropilot.settings import Settings, get_settings
from metropilot.shared.errors import DomainError
from metropilot.shared.events import MessageBus
from metropilot.stream import repository as stream_repository
from metropilot.stream import wiring as stream_wiring
from metropilot.stream.journal import Journal
from metropilot.telemetry import repository as telemetry_repository
from metropilot.telemetry import wiring as telemetry_wiring
from metropilot.telemetry.services import IngestPipeline
from metropilot.territory import repository as territory_repository

__all__ = [
    "CONTEXTS",
    "Platform",
    "SchemaOutOfDate",
    "all_tables",
    "bootstrap",
    "platform_journal",
    "wire",
]

# Each context's ``wire``, lower contexts first: handlers, mappers, observers and housekeeping
# jobs are registered, and run, in this order.
CONTEXTS: tuple[Callable[[Wiring], None], ...] = (
    stream_wiring.wire,
    assets_wiring.wire,
    telemetry_wiring.wire,
    alarms_wiring.wire,
    reports_wiring.wire,
    cases_wiring.wire,
    contracts_wiring.wire,
    control_wiring.wire,
)


class SchemaOutOfDate(DomainError):
    code = "schema_out_of_date"


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    uow_factory: UnitOfWorkFactory
    wiring: Wiring
    _pipeline: IngestPipeline | None = field(default=None, repr=False)
    _transport: CommandTransport | None = field(default=None, repr=False)
    journal: Journal | None = field(default=None, repr=False)
    bus: MessageBus | None = field(default=None, repr=False)
    # When sessions and keys were last used, noted by requests, written by housekeeping.
    last_use: LastUse = field(default_factory=LastUse, repr=False)

    @property
    def command_transport(self) -> CommandTransport:
        """How commands reach the equipment: the MQTT broker when one is configured, else this
        process's own transport (the embedded demo's simulated equipment listens on it)."""
        if self._transport is None:
            if self.settings.mqtt_url.strip():
                from metropilot.control.mqtt import MqttCommandTransport

                self._transport = MqttCommandTransport(self.settings.mqtt_url)
            else:
                self._transport = LocalTransport()
        return self._transport

    @property
    def ingest_pipeline(self) -> IngestPipeline:
        """This process's ingest pipeline (its twin and asset directory live in memory)."""
        if self._pipeline is None:
            s = self.settings
            self._pipeline = IngestPipeline(
                self.uow_factory,
                raw_retention=timedelta(days=s.telemetry_raw_retention_days),
                max_batch=s.telemetry_max_batch,
                observers=list(self.wiring.batch_observers),
                event_observers=list(self.wiring.device_event_observers),
            )
        return self._pipeline

    def close(self) -> None:
        if self.journal is not None:
            self.journal.detach()
        if self._transport is not None and hasattr(self._transport, "close"):
            self._transport.close()
        self.engine.dispose()


# Each context's storage module: importing it declares its tables on the one metadata.
STORAGE = (
    territory_repository,
    accounts_repository,
    audit_repository,
    stream_repository,
    assets_repository,
    telemetry_repository,
    alarms_repository,
    reports_repository,
    cases_repository,
    contracts_repository,
    control_repository,
)


def all_tables() -> MetaData:
    """Every context's tables (for comparing the models with the migrations, autogenerating a
    revision, and the tests' clean-up)."""
    return metadata


def wire(wiring: Wiring) -> Wiring:
    """Let every context register what it plugs in."""
    for wire_context in CONTEXTS:
        wire_context(wiring)
    return wiring


def platform_journal(wiring: Wiring, journal: Journal | None = None) -> Journal:
    """The live stream's journal (a new one, or ``journal``) taught what the contexts
    registered: their events' mappers and the registry's reader of asset facts."""
    journal = journal if journal is not None else Journal()
    journal.asset_facts = wiring.asset_facts_reader
    for event_type, mapper in wiring.journal_mappers:
        journal.register(event_type, mapper)
    return journal


def bootstrap(settings: Settings | None = None, *, upgrade: bool | None = None) -> Platform:
    """Connect and bring the schema up to date.

    The embedded SQLite database is upgraded on start, so a newcomer never runs a migration by
    hand. A PostgreSQL schema is only upgraded on request (``metropilot db upgrade``): production
    operators choose when a migration runs; starting on an old schema is refused with that advice.
    """
    settings = settings or get_settings()
    passwords.configure(settings.argon2_time_cost, settings.argon2_memory_kib)
    engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    if upgrade is None:
        upgrade = settings.is_sqlite
    if upgrade:
        migrate.upgrade(engine)
    else:
        current, head = migrate.current_revision(engine), migrate.head_revision(engine)
        if current != head:
            engine.dispose()
            raise SchemaOutOfDate(
                f"the database schema is at {current or 'nothing'}, the code expects {head}: "
                "run 'metropilot db upgrade'"
            )
    # Each platform publishes on a bus of its own: a process holding several (the tests) never
    # lets one database's events reach another's handlers.
    message_bus = MessageBus()
    # Every process journals its own events for the live stream (the ingest worker included),
    # in the transaction that made them; the journal learns its mappers once the contexts are
    # wired, before any unit of work begins.
    journal = Journal()
    factory = partial(
        UnitOfWork,
        engine,
        message_bus,
        audit_sink=audit_services.append_entries,
        event_sink=journal.sink,
    )
    wiring = wire(Wiring(bus=message_bus, uow_factory=factory, settings=settings))
    platform_journal(wiring, journal)
    return Platform(
        settings=settings,
        engine=engine,
        uow_factory=factory,
        wiring=wiring,
        journal=journal,
        bus=message_bus,
    )
