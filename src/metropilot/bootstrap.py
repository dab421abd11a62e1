"""Wiring: settings → engine → migrations → unit-of-work factory. Entry points start here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy import Engine

from metropilot.accounts import passwords
from metropilot.audit import services as audit_services
from metropilot.db import migrate
from metropilot.db.engine import make_engine
from metropilot.db.uow import UnitOfWork, UnitOfWorkFactory
from metropilot.settings import Settings, get_settings
from metropilot.shared.errors import DomainError

__all__ = ["Platform", "SchemaOutOfDate", "bootstrap"]


class SchemaOutOfDate(DomainError):
    code = "schema_out_of_date"


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    uow_factory: UnitOfWorkFactory

    def close(self) -> None:
        self.engine.dispose()


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
    factory = partial(UnitOfWork, engine, audit_sink=audit_services.append_entries)
    return Platform(settings=settings, engine=engine, uow_factory=factory)
