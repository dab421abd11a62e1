"""Domain events and the in-process message bus that carries them between contexts.

Contexts never call each other to announce a change: a service records an event on the unit of
work, and the bus delivers it to the subscribed handlers once the transaction has committed, so a
handler never sees a change that was rolled back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["DomainEvent", "MessageBus", "bus"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


Handler = Callable[[Any], None]


class MessageBus:
    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[DomainEvent], handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    def unsubscribe(self, event_type: type[DomainEvent], handler: Handler) -> None:
        self._handlers[event_type].remove(handler)

    def publish(self, event: DomainEvent) -> None:
        for event_type in type(event).__mro__:
            for handler in list(self._handlers.get(event_type, ())):
                try:
                    handler(event)
                except Exception:
                    # One failing subscriber must not stop the others nor undo a committed change.
                    log.exception("event handler %r failed on %r", handler, event)


bus = MessageBus()
