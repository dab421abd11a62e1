"""What a context tells the live stream about one of its events: a journal entry.

Each context maps its own events to entries (its ``wiring`` registers the mappers); the stream
context stores them and serves them, knowing no context's events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["AssetFacts", "AssetFactsReader", "JournalEntry"]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One change as the journal stores it: its type, what scoping needs, and the payload.

    ``maintainer_known`` is False when the event does not say who maintains the asset (a case
    with no responsible team yet); the journal then asks the registry, in its transaction, through
    the reader the assets context registered.
    """

    type: str
    at: datetime
    payload: dict[str, Any]
    asset_id: int | None = None
    commune_insee: str | None = None
    maintainer_id: int | None = None
    kind: str | None = None
    maintainer_known: bool = True


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """What the stream scopes by, for one asset."""

    commune_insee: str
    maintainer_id: int | None
    kind: str


# Reads the facts of the given assets on the caller's connection (a SQLAlchemy Connection; typed
# loosely so this kernel module needs no database library).
AssetFactsReader = Callable[[Any, set[int]], dict[int, AssetFacts]]
