"""Routing: the ordered rules that send a case to the team responsible, and the team a decision
names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from metropilot.accounts import queries as accounts_queries
from metropilot.cases import repository
from metropilot.cases.model import Assignee
from metropilot.cases.routing import (
    CaseFacts,
    RoutingDecision,
    RoutingExplanation,
    RoutingRule,
    explain,
    parse_routing_rule,
    route,
)
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput, NotFound

__all__ = [
    "assignee_columns",
    "assignee_of",
    "create_rule",
    "decide",
    "delete_rule",
    "explain_routing",
    "list_rules",
    "update_rule",
]


def list_rules(uow: UnitOfWork) -> list[RoutingRule]:
    return repository.list_routing_rules(uow.connection)


def _check_team(uow: UnitOfWork, rule: RoutingRule) -> None:
    if accounts_queries.team(uow.connection, rule.team) is None:
        raise InvalidInput(f"no team {rule.team!r}: routing sends cases to existing teams")


def create_rule(uow: UnitOfWork, spec: dict[str, Any], actor: Actor) -> RoutingRule:
    rule = parse_routing_rule(spec)
    _check_team(uow, rule)
    rule_id = repository.insert_routing_rule(uow.connection, rule, utcnow())
    uow.audit(AuditEntry(actor, "routing_rule.created", "routing_rule", str(rule_id)))
    return rule.model_copy(update={"id": rule_id})


def update_rule(uow: UnitOfWork, rule_id: int, spec: dict[str, Any], actor: Actor) -> RoutingRule:
    rule = parse_routing_rule(spec, rule_id=rule_id)
    _check_team(uow, rule)
    if not repository.update_routing_rule(uow.connection, rule_id, rule, utcnow()):
        raise NotFound(f"no routing rule {rule_id}")
    uow.audit(AuditEntry(actor, "routing_rule.updated", "routing_rule", str(rule_id)))
    return rule


def delete_rule(uow: UnitOfWork, rule_id: int, actor: Actor) -> None:
    if not repository.delete_routing_rule(uow.connection, rule_id):
        raise NotFound(f"no routing rule {rule_id}")
    uow.audit(AuditEntry(actor, "routing_rule.deleted", "routing_rule", str(rule_id)))


def explain_routing(
    uow: UnitOfWork,
    *,
    category: str,
    asset_kind: str | None,
    commune_insee: str | None,
    at: datetime,
) -> RoutingExplanation:
    facts = CaseFacts(category=category, asset_kind=asset_kind, commune_insee=commune_insee)
    return explain(list_rules(uow), facts, at)


def decide(uow: UnitOfWork, facts: CaseFacts, at: datetime) -> RoutingDecision:
    """Where the rules send a case with these facts now."""
    return route(list_rules(uow), facts, at)


def assignee_of(uow: UnitOfWork, decision: RoutingDecision) -> Assignee | None:
    """The team a decision names, with its organisation and sector; None: the command post's
    own queue (the default, or a team that no longer exists)."""
    team = accounts_queries.team(uow.connection, decision.team)
    if team is None:
        return None
    organisation = accounts_queries.organisation_by_code(uow.connection, team.organisation)
    if organisation is None:
        return None
    return Assignee(
        team=team.code,
        organisation=organisation.code,
        sector=organisation.sector,
        team_id=team.id,
        organisation_id=organisation.id,
    )


def assignee_columns(assignee: Assignee | None, decision: RoutingDecision) -> dict[str, Any]:
    """The case's columns saying who is responsible and by which rule."""
    return {
        "team": assignee.team if assignee else None,
        "team_id": assignee.team_id if assignee else None,
        "organisation": assignee.organisation if assignee else None,
        "organisation_id": assignee.organisation_id if assignee else None,
        "sector": assignee.sector if assignee else None,
        "routing_rule_id": decision.rule.id if decision.rule else None,
    }
