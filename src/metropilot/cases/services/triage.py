"""Triage: an operator checks a case in the queue; a new category routes it again, and says
why."""

from __future__ import annotations

from typing import Any

from metropilot.cases import repository
from metropilot.cases.model import (
    Case,
    CaseAction,
    CaseRouted,
    CaseTriaged,
    Milestone,
    Priority,
    actor_role,
    transition_case,
)
from metropilot.cases.routing import CaseFacts, RoutingDecision
from metropilot.cases.services.reading import get_case
from metropilot.cases.services.recording import event_fields, record_step
from metropilot.cases.services.routing import assignee_columns, assignee_of, decide
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput
from metropilot.shared.scope import ALL_WORK, WorkScope

__all__ = ["triage"]


def triage(
    uow: UnitOfWork,
    case_id: int,
    actor: Actor,
    actor_account_role: str | None,
    *,
    category: str | None = None,
    priority: Priority | None = None,
    reason: str = "",
    scope: WorkScope = ALL_WORK,
) -> Case:
    """Check a case in the triage queue; a new category routes it again, and says why."""
    case = get_case(uow, case_id, for_update=True, scope=scope)
    state = transition_case(case.state, CaseAction.TRIAGE, actor_role(actor_account_role))
    now = utcnow()
    values: dict[str, Any] = {"state": state.value, "updated_at": now}
    if priority is not None:
        values["priority"] = priority.value
    rerouted: RoutingDecision | None = None
    if category is not None and category != case.category:
        if not reason.strip():
            raise InvalidInput("say why the category changes", code="reason_required")
        values["category"] = category
        rerouted = decide(uow, CaseFacts(category, case.asset_kind, case.commune_insee), now)
        values |= assignee_columns(assignee_of(uow, rerouted), rerouted)
    repository.update_case(uow.connection, case_id, values)
    record_step(uow, case_id, now, Milestone.TRIAGED, actor, note=reason)
    if rerouted is not None:
        note = f"category {case.category} → {category}: {reason.strip()}; {rerouted.reason}"
        record_step(uow, case_id, now, Milestone.ROUTED, actor, note=note)
    changed = get_case(uow, case_id)
    uow.audit(
        AuditEntry(
            actor,
            "case.triaged",
            "case",
            str(case_id),
            {
                k: [getattr(case, k, None), v]
                for k, v in values.items()
                if k in ("category", "priority", "team")
            },
        )
    )
    common = event_fields(changed, actor)
    uow.record(CaseTriaged(**common))
    if rerouted is not None:
        uow.record(
            CaseRouted(
                **common,
                rule_id=rerouted.rule.id if rerouted.rule else None,
                rule_name=rerouted.rule.name if rerouted.rule else None,
                reason=rerouted.reason,
                previous_team=case.assignee.team if case.assignee else None,
            )
        )
    return changed
