"""Alembic environment: the engine comes from the caller (metropilot.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from metropilot.db.catalog import load_all_tables

target_metadata = load_all_tables()
engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through 'metropilot db upgrade', which supplies the engine")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
