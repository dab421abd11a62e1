"""Changes to dimming: programs created or changed, groups of lighting cabinets, programs
assigned to a cabinet, a group, a commune or the metropolis from a date."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final

from metropilot.assets import queries as assets_queries
from metropilot.contracts import repository
from metropilot.contracts.energy import DimmingProgram
from metropilot.contracts.services.dimming import list_assignments, list_groups, list_programs
from metropilot.contracts.services.facts import known_commune
from metropilot.contracts.services.results import Assignment, Group, Program
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput, NotFound, Problem

__all__ = ["TARGET_TYPES", "assign_program", "put_group", "put_program"]

TARGET_TYPES: Final = ("cabinet", "group", "commune", "metropolis")


def put_program(uow: UnitOfWork, code: str, definition: Mapping[str, Any], actor: Actor) -> Program:
    """Create or change a dimming program (``{"name", "steps": [{"from", "to", "level"}]}``).
    A change applies to every period computed afterwards; past frozen statements keep theirs."""
    if not code or len(code) > 48 or not all(ch.isalnum() or ch in "-_" for ch in code):
        raise InvalidInput(
            "a program code is 1–48 letters, digits, dashes or underscores",
            code="invalid_program",
        )
    program = DimmingProgram.from_dict(definition)
    now = utcnow()
    existed = repository.put_program(
        uow.connection,
        {
            "code": code,
            "name": program.name,
            "steps": program.to_dict()["steps"],
            "created_at": now,
            "updated_at": now,
            "updated_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "dimming_program.updated" if existed else "dimming_program.created",
            "dimming_program",
            code,
            {"steps": [None, program.to_dict()["steps"]]},
        )
    )
    found = next(p for p in list_programs(uow) if p["code"] == code)
    return found


def _cabinet_ids(uow: UnitOfWork, ids: Iterable[int]) -> set[int]:
    return assets_queries.lighting_cabinet_ids(uow.connection, ids)


def put_group(
    uow: UnitOfWork, code: str, name: str, cabinet_ids: Sequence[int], actor: Actor
) -> Group:
    """A named set of lighting cabinets, to give them one program across communes."""
    if not code or len(code) > 48 or not all(ch.isalnum() or ch in "-_" for ch in code):
        raise InvalidInput("a group code is 1–48 letters, digits, dashes or underscores")
    if not name.strip():
        raise InvalidInput("a group needs a name", code="invalid_group")
    wanted = sorted(set(cabinet_ids))
    found = _cabinet_ids(uow, wanted)
    unknown = [i for i in wanted if i not in found]
    if unknown or not wanted:
        raise InvalidInput(
            "a group lists lighting cabinets by id",
            details=[
                Problem("cabinet_ids", f"not lighting cabinets: {unknown}" if unknown else "empty")
            ],
            code="invalid_group",
        )
    existed = repository.put_group(
        uow.connection,
        {
            "code": code,
            "name": name.strip()[:200],
            "cabinet_ids": wanted,
            "updated_at": utcnow(),
            "updated_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "lighting_group.updated" if existed else "lighting_group.created",
            "lighting_group",
            code,
            {"cabinets": [None, len(wanted)]},
        )
    )
    return next(g for g in list_groups(uow) if g["code"] == code)


def assign_program(
    uow: UnitOfWork,
    program_code: str,
    *,
    target_type: str,
    target: str,
    effective_from: date,
    actor: Actor,
) -> Assignment:
    """Apply a program to a cabinet, a group, a commune or the whole metropolis from a date. The
    assignments in force before stay recorded: past periods keep the programs they ran."""
    conn = uow.connection
    if repository.get_program(conn, program_code) is None:
        raise NotFound(f"no dimming program {program_code!r}", code="unknown_program")
    if target_type not in TARGET_TYPES:
        raise InvalidInput(
            f"target_type must be one of {', '.join(TARGET_TYPES)}, not {target_type!r}",
            code="invalid_assignment",
        )
    if target_type == "cabinet":
        if not target.isdigit() or not _cabinet_ids(uow, [int(target)]):
            raise NotFound(f"no lighting cabinet {target!r}", code="unknown_cabinet")
    elif target_type == "group":
        if repository.get_group(conn, target) is None:
            raise NotFound(f"no lighting group {target!r}", code="unknown_group")
    elif target_type == "commune":
        known_commune(uow, target)
    else:
        target = "*"
    row_id = repository.add_assignment(
        conn,
        {
            "program_code": program_code,
            "target_type": target_type,
            "target": target,
            "effective_from": effective_from,
            "at": utcnow(),
            "by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "dimming_program.assigned",
            "dimming_program",
            program_code,
            {f"{target_type}:{target}": [None, effective_from.isoformat()]},
        )
    )
    return next(a for a in list_assignments(uow) if a["id"] == row_id)
