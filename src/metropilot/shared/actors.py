"""Who made a change. Every state change is attributed: a person, a machine key, the CLI or the
platform itself, with the organisation they act for and whether it is public or private."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["SYSTEM", "Actor", "ActorKind"]


class ActorKind(StrEnum):
    SYSTEM = "system"
    CLI = "cli"
    USER = "user"
    API_KEY = "api_key"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    name: str
    id: int | None = None
    organisation: str | None = None  # organisation code
    sector: str | None = None  # "public" or "private": which side of the contract acted

    def label(self) -> str:
        return f"{self.kind.value}:{self.name}"


SYSTEM = Actor(ActorKind.SYSTEM, "metropilot", sector="public")
