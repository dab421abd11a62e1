"""Alembic environment: the engine comes from the caller (metropilot.db.migrate)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine

# Every context's tables, given by the caller when it compares or autogenerates (the contexts sit
# above this package, which cannot name them); an upgrade only runs the scripts.
target_metadata = context.config.attributes.get("metadata")
engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through 'metropilot db upgrade', which supplies the engine")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave out the partitions of partitioned tables: they are made and dropped at run time."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (reflected and compare_to is None and str(table).startswith("telemetry_raw_"))


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
