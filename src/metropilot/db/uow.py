"""The unit of work: one database transaction plus the domain events it produced.

Services receive a unit of work, read and write through it, record events on it, and the caller
commits. Events are published only after the commit succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from metropilot.shared.events import DomainEvent, MessageBus, bus

__all__ = ["UnitOfWork", "UnitOfWorkFactory"]


class UnitOfWork:
    def __init__(self, engine: Engine, message_bus: MessageBus = bus) -> None:
        self.engine = engine
        self._bus = message_bus
        self._connection: Connection | None = None
        self._events: list[DomainEvent] = []

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside its 'with' block")
        return self._connection

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __enter__(self) -> Self:
        self._connection = self.engine.connect()
        self._connection.begin()
        self._events = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._connection is not None
        try:
            if self._connection.in_transaction():
                self._connection.rollback()
        finally:
            self._connection.close()
            self._connection = None

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def commit(self) -> None:
        self.connection.commit()
        published, self._events = self._events, []
        for event in published:
            self._bus.publish(event)
        self.connection.begin()

    def rollback(self) -> None:
        self.connection.rollback()
        self._events = []
        self.connection.begin()


UnitOfWorkFactory = Callable[[], UnitOfWork]
