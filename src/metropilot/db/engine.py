"""Engines for the embedded SQLite file and for PostgreSQL, tuned for each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["make_engine"]


def _json_dumps(value: Any) -> str:
    # orjson is several times faster than the standard library on the registry's bulk writes.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(
    database_url: str, *, sqlite_synchronous: str = "FULL", echo: bool = False
) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            # Owner-only: the file holds password hashes and second-factor secrets. SQLite gives
            # its -wal and -shm files the permissions of the database file.
            database = Path(url.database)
            database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not database.exists():
                os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        _tune_sqlite(engine, sqlite_synchronous)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )


def _tune_sqlite(engine: Engine, synchronous: str) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take a write lock up front;
    # we issue BEGIN ourselves so that writers queue on busy_timeout instead of failing.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers ask for IMMEDIATE (see UnitOfWork) and take the write lock up front.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
