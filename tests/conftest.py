"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the server at ``METROPILOT_TEST_POSTGRES_URL`` (default: the local one, trust
auth). In CI (``CI=true``) its absence fails the run; on a developer's machine those tests skip
with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from metropilot.bootstrap import Platform, all_tables, bootstrap
from metropilot.settings import Settings
from metropilot.shared.actors import Actor, ActorKind
from metropilot.simulate.services import generate_metropolis
from metropilot.web.app import create_app
from tests.factories import WORLD_ACCOUNTS, bearer, create_world_accounts

POSTGRES_ADMIN_URL = os.environ.get(
    "METROPILOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TEST_ACTOR = Actor(ActorKind.CLI, "pytest")
WORLD_SCALE = 0.05
WORLD_SEED = 7


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}"


class _Databases:
    """Creates throw-away databases and removes them when the session ends."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[str] = []
        self._pg_problem: str | bool | None = False

    def url(self, backend: str) -> str:
        name = f"metropilot_test_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            return f"sqlite:///{self.root / (name + '.db')}"
        if self._pg_problem is False:
            self._pg_problem = _postgres_available()
        if self._pg_problem:
            if IN_CI:
                pytest.fail(f"{self._pg_problem} (CI must run the PostgreSQL tests)")
            pytest.skip(str(self._pg_problem))
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    dbs = _Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.drop_all()


def _make_platform(databases: _Databases, backend: str, tmp: Path) -> Platform:
    # Cheap password hashing: the tests create many accounts; production keeps the defaults.
    settings = Settings(
        data_dir=tmp,
        database_url=databases.url(backend),
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        login_attempts_per_minute=10_000,  # one test client signs in many times a minute
    )
    return bootstrap(settings, upgrade=True)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def _empty_platform(
    databases: _Databases, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    platform = _make_platform(databases, backend, tmp_path_factory.mktemp(f"data-{backend}"))
    yield platform
    platform.close()


def empty_all_tables(platform: Platform) -> None:
    """Empty every table, the append-only audit trail included (its triggers are set aside,
    as only a test may do)."""
    tables = list(reversed(all_tables().sorted_tables))
    with platform.engine.begin() as conn:
        if platform.engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        triggers = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        for name, _ in triggers:
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        conn.execute(text("UPDATE assets SET parent_id = NULL"))
        for table in tables:
            conn.execute(table.delete())
        for _, sql in triggers:
            conn.execute(text(sql))


@pytest.fixture
def platform(_empty_platform: Platform) -> Iterator[Platform]:
    """An empty, migrated database of each backend; emptied again after the test."""
    yield _empty_platform
    empty_all_tables(_empty_platform)


@pytest.fixture(scope="session")
def world(
    databases: _Databases, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """A small synthetic metropolis (scale 0.05), shared read-only by the tests of a backend."""
    platform = _make_platform(databases, backend, tmp_path_factory.mktemp(f"world-{backend}"))
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=WORLD_SCALE, seed=WORLD_SEED)
        uow.commit()
    create_world_accounts(platform)
    yield platform
    platform.close()


@pytest.fixture(scope="session")
def world_anonymous(world: Platform) -> Iterator[TestClient]:
    """The synthetic world through HTTP, signed in as nobody."""
    with TestClient(create_app(world)) as client:
        yield client


@pytest.fixture(scope="session")
def world_tokens(world_anonymous: TestClient) -> dict[str, dict[str, str]]:
    """An Authorization header per test account of the world (see factories.WORLD_ACCOUNTS)."""
    return {name: bearer(world_anonymous, name) for name in WORLD_ACCOUNTS}


@pytest.fixture(scope="session")
def world_client(world: Platform, world_tokens: dict[str, dict[str, str]]) -> Iterator[TestClient]:
    """The synthetic world through HTTP, signed in as an operator (sees the whole city)."""
    with TestClient(create_app(world), headers=world_tokens["operator"]) as client:
        yield client


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as test_client:
        yield test_client
