"""Models and migrations agree on both databases (what ``alembic check`` verifies)."""

from metropilot.bootstrap import Platform, all_tables
from metropilot.db import migrate


def test_models_and_migrations_agree(platform: Platform) -> None:
    migrate.check(platform.engine, all_tables())
    assert migrate.current_revision(platform.engine) == migrate.head_revision(platform.engine)
