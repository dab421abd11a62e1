"""Wiring: settings → engine → migrations → unit-of-work factory. Entry points start here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine

from metropilot.accounts import passwords
from metropilot.accounts.services import LastUse
from metropilot.alarms.services import AlarmEngine
from metropilot.audit import services as audit_services
from metropilot.cases import services as cases_services
from metropilot.control import services as control_services
from metropilot.control.services import CommandTransport, LocalTransport
from metropilot.db import migrate
from metropilot.db.engine import make_engine
from metropilot.db.uow import UnitOfWork, UnitOfWorkFactory
from metropilot.settings import Settings, get_settings
from metropilot.shared.errors import DomainError
from metropilot.shared.events import MessageBus
from metropilot.stream.journal import Journal, default_journal
from metropilot.telemetry.services import BatchObserver, EventObserver, IngestPipeline

__all__ = ["BATCH_OBSERVERS", "EVENT_OBSERVERS", "Platform", "SchemaOutOfDate", "bootstrap"]


class SchemaOutOfDate(DomainError):
    code = "schema_out_of_date"


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    uow_factory: UnitOfWorkFactory
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
                observers=list(BATCH_OBSERVERS),
                event_observers=list(EVENT_OBSERVERS),
            )
        return self._pipeline

    def close(self) -> None:
        if self.journal is not None:
            self.journal.detach()
        if self._transport is not None and hasattr(self._transport, "close"):
            self._transport.close()
        self.engine.dispose()


# What reacts to each ingest batch inside its transaction: the rules engine; and to its device
# events: the command tracker (equipment answers commands with events).
BATCH_OBSERVERS: list[BatchObserver] = [AlarmEngine()]
EVENT_OBSERVERS: list[EventObserver] = [control_services.record_answers]


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
    # Every process journals its own events for the live stream (the ingest worker included),
    # in the transaction that made them.
    journal = default_journal()
    # Each platform publishes on a bus of its own: a process holding several (the tests) never
    # lets one database's events reach another's handlers.
    message_bus = MessageBus()
    factory = partial(
        UnitOfWork,
        engine,
        message_bus,
        audit_sink=audit_services.append_entries,
        event_sink=journal.sink,
    )
    # Alarms and citizen reports open cases.
    cases_services.attach(message_bus, factory)
    return Platform(
        settings=settings, engine=engine, uow_factory=factory, journal=journal, bus=message_bus
    )
