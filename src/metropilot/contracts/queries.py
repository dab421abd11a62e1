"""What other contexts read of the contracts: dimming programs and lighting groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from metropilot.contracts import repository

__all__ = [
    "ProgramVersion",
    "dimming_program",
    "dimming_programs",
    "group_cabinet_ids",
]


# --- read by control ---


@dataclass(frozen=True, slots=True)
class ProgramVersion:
    """A dimming program as it stands: its steps, and the version a cabinet reports back."""

    code: str
    name: str
    steps: Sequence[Mapping[str, Any]]
    updated_at: datetime

    @property
    def version(self) -> str:
        return self.updated_at.isoformat()


def _program(row: Mapping[str, Any]) -> ProgramVersion:
    return ProgramVersion(str(row["code"]), str(row["name"]), row["steps"], row["updated_at"])


def dimming_program(conn: Connection, code: str) -> ProgramVersion | None:
    row = repository.get_program(conn, code)
    return None if row is None else _program(row)


def dimming_programs(conn: Connection) -> list[ProgramVersion]:
    """Every dimming program, by code."""
    return [_program(row) for row in repository.list_programs(conn)]


def group_cabinet_ids(conn: Connection, code: str) -> list[int] | None:
    """The cabinets of a lighting group (None: no such group)."""
    row = repository.get_group(conn, code)
    return None if row is None else [int(i) for i in row["cabinet_ids"]]
