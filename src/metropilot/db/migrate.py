"""Alembic, driven from code: ``metropilot db upgrade`` and the start-up upgrade use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

__all__ = ["alembic_config", "check", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine, metadata: MetaData | None = None) -> Config:
    """Alembic's configuration for this engine; ``metadata`` (every context's tables,
    ``metropilot.bootstrap.all_tables()``) is needed to compare or autogenerate, not to upgrade."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    config.attributes["metadata"] = metadata
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def check(engine: Engine, metadata: MetaData) -> None:
    """Raise if the models declare something the migrations do not create (``alembic check``)."""
    command.check(alembic_config(engine, metadata))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
