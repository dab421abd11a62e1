"""Clearing alarms, and judging again the children a cleared parent alarm muted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from metropilot.alarms import repository
from metropilot.alarms.model import AlarmCleared, AlarmRaised, AlarmState, ClearReason, CountParams
from metropilot.alarms.repository import OpenAlarm
from metropilot.alarms.rules import RuleSet, condition_from_twin
from metropilot.alarms.services.common import (
    RULES,
    RULES_ACTOR,
    alarm_event_fields,
    epoch_ms,
    metrics_of,
)
from metropilot.alarms.services.raising import occurrences
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry


def clear_alarms(
    uow: UnitOfWork,
    ids: Sequence[int],
    now: datetime,
    actor: Actor,
    reason: ClearReason,
    *,
    ruleset: RuleSet | None = None,
) -> list[int]:
    """Clear open alarms, announce it, and re-evaluate the children a cleared parent muted."""
    if not ids:
        return []
    conn = uow.connection
    cleared = repository.clear_open(
        conn,
        ids,
        {
            "cleared_at": now,
            "cleared_by": actor.label(),
            "clear_reason": reason.value,
            "updated_at": now,
        },
    )
    if not cleared:
        return []
    alarms = repository.get_alarms(conn, cleared)
    for alarm in alarms:
        uow.audit(
            AuditEntry(
                actor,
                "alarm.cleared",
                "alarm",
                str(alarm.id),
                {"state": [None, AlarmState.CLEARED.value], "reason": [None, reason.value]},
                at=now,
            )
        )
        uow.record(
            AlarmCleared(**alarm_event_fields(alarm, actor), reason=reason.value, occurred_at=now)
        )
    parents = [a.id for a in alarms if a.suppressed_count]
    if parents:
        _revisit_children(uow, ruleset or RULES.get(uow), parents, now)
    return cleared


def _revisit_children(
    uow: UnitOfWork, ruleset: RuleSet, parent_alarm_ids: Sequence[int], now: datetime
) -> None:
    """The parent's alarm cleared: each child it muted is judged again from its own twin. Still
    faulty: released as an alarm of its own (or handed to another open parent alarm); over:
    cleared."""
    conn = uow.connection
    children = repository.muted_children(conn, parent_alarm_ids)
    if not children:
        return
    facts = repository.asset_facts(conn, {c.asset_id for c in children})
    values, seen = repository.twins_of(
        conn,
        {c.asset_id for c in children},
        metrics_of([r for c in children if (r := ruleset.rules.get(c.rule_id)) is not None]),
    )
    now_ms = epoch_ms(now)
    still: list[OpenAlarm] = []
    over: list[int] = []
    gone: list[int] = []
    for child in children:
        rule = ruleset.rules.get(child.rule_id)
        asset = facts.get(child.asset_id)
        if rule is None or not rule.enabled or rule.deleted_at is not None or asset is None:
            gone.append(child.id)
            continue
        holds = condition_from_twin(
            rule, values.get(child.asset_id, {}), seen.get(child.asset_id), now_ms
        )
        if holds is None and isinstance(rule.params, CountParams):
            holds = occurrences(uow, child.asset_id, rule.params, now_ms) >= rule.params.count
        if holds is False:
            over.append(child.id)
        else:
            still.append(child)  # holding, or not judged from a twin (an event): keep it
    clear_alarms(uow, gone, now, RULES_ACTOR, ClearReason.RULE_CHANGED, ruleset=ruleset)
    clear_alarms(uow, over, now, RULES_ACTOR, ClearReason.CONDITION_ENDED, ruleset=ruleset)
    if not still:
        return
    parent_of = {c.asset_id: facts[c.asset_id].parent_id for c in still}
    other_parents = repository.open_parent_alarms(
        conn,
        {p for p in parent_of.values() if p is not None},
        {r for c in still for r in ruleset.suppressors.get(c.rule_id, ())},
    )
    released = []
    for child in still:
        parent = parent_of[child.asset_id]
        handover = next(
            (
                other_parents[(parent, r)]
                for r in ruleset.suppressors.get(child.rule_id, ())
                if parent is not None and (parent, r) in other_parents
            ),
            None,
        )
        repository.update_alarm(conn, child.id, {"suppressed_by": handover, "updated_at": now})
        uow.audit(
            AuditEntry(
                RULES_ACTOR,
                "alarm.released" if handover is None else "alarm.suppressed",
                "alarm",
                str(child.id),
                {"suppressed_by": [child.suppressed_by, handover]},
                at=now,
            )
        )
        if handover is None:
            released.append(child.id)
    for alarm in repository.get_alarms(conn, released):
        uow.record(
            AlarmRaised(
                **alarm_event_fields(alarm, RULES_ACTOR),
                message=alarm.message,
                released=True,
                flaps=alarm.flaps,
                occurred_at=now,
            )
        )
