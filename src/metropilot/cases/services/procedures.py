"""Procedures: the checklist a category's work follows, written by supervisors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from metropilot.cases import repository
from metropilot.cases.services.results import Procedure
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput, NotFound

__all__ = ["MAX_STEPS", "delete_procedure", "get_procedure", "list_procedures", "put_procedure"]

MAX_STEPS = 60


def _procedure(row: Mapping[str, Any]) -> Procedure:
    return {
        "category": row["category"],
        "title": row["title"],
        "steps": row["steps"],
        "updated_at": row["updated_at"],
        "updated_by": row["updated_by"],
    }


def get_procedure(uow: UnitOfWork, category: str) -> Procedure | None:
    row = repository.get_procedure(uow.connection, category)
    return None if row is None else _procedure(row)


def list_procedures(uow: UnitOfWork) -> list[Procedure]:
    return [_procedure(row) for row in repository.list_procedures(uow.connection)]


def _problems(title: str, steps: Sequence[str]) -> list[str]:
    problems = []
    if not title.strip():
        problems.append("a procedure needs a title")
    if not steps:
        problems.append("a procedure needs at least one step")
    if len(steps) > MAX_STEPS:
        problems.append(f"a procedure has at most {MAX_STEPS} steps")
    long_steps = [i + 1 for i, step in enumerate(steps) if len(step) > 500]
    if long_steps:
        problems.append(f"steps {long_steps} are over 500 characters")
    return problems


def put_procedure(
    uow: UnitOfWork, category: str, title: str, steps: Sequence[str], actor: Actor
) -> Procedure:
    """Write the checklist of a category (supervisors): the steps in order, each one line."""
    cleaned = [step.strip() for step in steps if step.strip()]
    problems = _problems(title, cleaned)
    if problems:
        raise InvalidInput("; ".join(problems), code="invalid_procedure")
    existed = repository.put_procedure(
        uow.connection,
        {
            "category": category,
            "title": title.strip()[:200],
            "steps": cleaned,
            "updated_at": utcnow(),
            "updated_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "procedure.updated" if existed else "procedure.created",
            "procedure",
            category,
            {"steps": [None, len(cleaned)]},
        )
    )
    found = get_procedure(uow, category)
    assert found is not None
    return found


def delete_procedure(uow: UnitOfWork, category: str, actor: Actor) -> None:
    if not repository.delete_procedure(uow.connection, category):
        raise NotFound(f"no procedure for {category!r}")
    uow.audit(AuditEntry(actor, "procedure.deleted", "procedure", category))
