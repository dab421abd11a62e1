"""Who made a change. Every state change is attributed; the accounts work adds users and keys."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["SYSTEM", "Actor", "ActorKind"]


class ActorKind(StrEnum):
    SYSTEM = "system"
    CLI = "cli"
    USER = "user"
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    name: str

    def label(self) -> str:
        return f"{self.kind.value}:{self.name}"


SYSTEM = Actor(ActorKind.SYSTEM, "metropilot")
