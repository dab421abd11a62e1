"""Dimming programs, groups of lighting cabinets, and which program applies where and when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from metropilot.contracts import repository
from metropilot.contracts.services.facts import LampRow
from metropilot.contracts.services.results import Assignment, Group, Program
from metropilot.db.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Assignments:
    """The program of each target on one day."""

    by_cabinet: Mapping[int, str]
    by_group_cabinet: Mapping[int, str]
    by_commune: Mapping[str, str]
    metropolis: str | None

    def program_code(self, lamp: LampRow) -> str | None:
        return self.for_cabinet(lamp.cabinet_id, lamp.commune)

    def for_cabinet(self, cabinet_id: int | None, commune: str) -> str | None:
        """The cabinet's program, else its group's, else its commune's, else the metropolis'."""
        if cabinet_id is not None:
            if (found := self.by_cabinet.get(cabinet_id)) is not None:
                return found
            if (found := self.by_group_cabinet.get(cabinet_id)) is not None:
                return found
        return self.by_commune.get(commune, self.metropolis)


def programs_in_force(
    uow: UnitOfWork, cabinets: Sequence[tuple[int, str]], day: date
) -> dict[int, str | None]:
    """The program each (cabinet id, commune) should run on a day (None: full power, the
    default when nothing is assigned)."""
    conn = uow.connection
    groups = {row["code"]: list(row["cabinet_ids"]) for row in repository.list_groups(conn)}
    assigned = assignments_on(repository.list_assignments(conn, until=day), groups, day)
    return {cabinet: assigned.for_cabinet(cabinet, commune) for cabinet, commune in cabinets}


def assignments_on(
    rows: Sequence[Mapping[str, Any]], groups: Mapping[str, Sequence[int]], day: date
) -> Assignments:
    by_cabinet: dict[int, str] = {}
    by_group: dict[int, str] = {}
    by_commune: dict[str, str] = {}
    metropolis: str | None = None
    for row in rows:  # oldest first: a later assignment of the same target wins
        if row["effective_from"] > day:
            continue
        target, program = row["target"], row["program_code"]
        if row["target_type"] == "cabinet":
            by_cabinet[int(target)] = program
        elif row["target_type"] == "group":
            for cabinet in groups.get(target, ()):
                by_group[int(cabinet)] = program
        elif row["target_type"] == "commune":
            by_commune[target] = program
        else:
            metropolis = program
    return Assignments(by_cabinet, by_group, by_commune, metropolis)


# --- dimming programs -------------------------------------------------------------------------


def _program_dict(row: Mapping[str, Any], assignments: Sequence[Mapping[str, Any]]) -> Program:
    return {
        "code": row["code"],
        "name": row["name"],
        "steps": row["steps"],
        "updated_at": row["updated_at"].isoformat(),
        "updated_by": row["updated_by"],
        "assignments": [
            _assignment_dict(a) for a in assignments if a["program_code"] == row["code"]
        ],
    }


def _assignment_dict(row: Mapping[str, Any]) -> Assignment:
    return {
        "id": row["id"],
        "program": row["program_code"],
        "target_type": row["target_type"],
        "target": row["target"],
        "effective_from": row["effective_from"].isoformat(),
        "at": row["at"].isoformat(),
        "by": row["by"],
    }


def list_programs(uow: UnitOfWork) -> list[Program]:
    assignments = repository.list_assignments(uow.connection)
    return [_program_dict(row, assignments) for row in repository.list_programs(uow.connection)]


def list_groups(uow: UnitOfWork) -> list[Group]:
    return [
        {
            "code": row["code"],
            "name": row["name"],
            "cabinet_ids": row["cabinet_ids"],
            "updated_at": row["updated_at"].isoformat(),
            "updated_by": row["updated_by"],
        }
        for row in repository.list_groups(uow.connection)
    ]


def list_assignments(uow: UnitOfWork) -> list[Assignment]:
    return [_assignment_dict(row) for row in repository.list_assignments(uow.connection)]
