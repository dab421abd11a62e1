"""Storage adapters shared by every context: engine, column types, unit of work, migrations."""

from metropilot.db.engine import make_engine
from metropilot.db.schema import metadata
from metropilot.db.uow import UnitOfWork, UnitOfWorkFactory

__all__ = ["UnitOfWork", "UnitOfWorkFactory", "make_engine", "metadata"]
