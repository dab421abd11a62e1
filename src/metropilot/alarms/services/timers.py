"""What happens because time passes: silences (heartbeats), held conditions, count windows,
inhibitions lifted, open alarms judged again against the latest readings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from metropilot.alarms import repository
from metropilot.alarms.model import ClearReason, CountParams, HeartbeatParams, RuleType
from metropilot.alarms.repository import INHIBITED
from metropilot.alarms.rules import CompiledRule, RuleSet, condition_from_twin
from metropilot.alarms.services.clearing import clear_alarms
from metropilot.alarms.services.common import RULES, RULES_ACTOR, epoch_ms, metrics_of
from metropilot.alarms.services.raising import Raise, occurrences, raise_alarms
from metropilot.db.uow import UnitOfWork
from metropilot.telemetry.services import MANUAL_STATUSES

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TimerReport:
    heartbeats: int = 0  # alarms raised for silence
    holds: int = 0  # held conditions that lasted long enough
    windows: int = 0  # count alarms cleared as their window emptied
    reconciled: int = 0  # open alarms cleared because the latest readings say it is over
    rearmed: int = 0  # inhibitions lifted because the condition is over
    skipped_deaf: bool = False  # nothing heard from anyone: silence not blamed on equipment


def check_heartbeats(
    uow: UnitOfWork, now: datetime, *, limit: int = 10_000, deaf_guard: bool = True
) -> TimerReport:
    """Raise an alarm for every asset a heartbeat rule watches that has been silent for the
    rule's number of expected intervals. One SQL query per rule over ``asset_twin`` joined to
    the assets of the rule's kinds: no Python loop over the registry.

    Only assets heard at least once are judged (the registry holds equipment not yet connected).
    When nothing at all was heard within a rule's timeout (``deaf_guard``), the silence is the
    platform's — broker down, ingest stopped — and no alarm is raised for it. At most ``limit``
    alarms are raised per call (the oldest silences first); the rest follow at the next call.
    """
    report = TimerReport()
    ruleset = RULES.get(uow)
    rules = ruleset.live(RuleType.HEARTBEAT)
    if not rules:
        return report
    conn = uow.connection
    newest = repository.newest_seen_ms(conn)
    if newest is None:
        return report
    now_ms = epoch_ms(now)
    budget = limit
    for compiled in rules:
        params = compiled.params
        assert isinstance(params, HeartbeatParams)
        before_ms = now_ms - params.timeout_ms
        if deaf_guard and newest < before_ms:
            report.skipped_deaf = True
            log.warning(
                "heartbeats: nothing heard for %s s; not blaming the equipment",
                (now_ms - newest) // 1000,
            )
            continue
        if budget <= 0:
            break
        silent = repository.silent_assets(
            conn, compiled.rule, before_ms, sorted(MANUAL_STATUSES), budget
        )
        if not silent:
            continue
        raises = [Raise(compiled, facts, last_seen, None) for facts, last_seen in silent]
        done = raise_alarms(uow, ruleset, raises, now)
        report.heartbeats += done.raised + done.reopened
        budget -= len(silent)
    return report


def check_timers(uow: UnitOfWork, now: datetime, *, limit: int = 10_000) -> TimerReport:
    """Everything that happens because time passes, not because a reading arrived: silence
    (``check_heartbeats``), conditions held long enough (a rule's ``hold_s`` when the device
    does not report again), count windows that emptied, and a re-judgement of every open alarm
    of a lasting condition against the latest readings — which clears, within one period, an
    alarm whose end another ingest worker saw. Schedule it every 15–60 s."""
    report = check_heartbeats(uow, now, limit=limit)
    ruleset = RULES.get(uow)
    for compiled in ruleset.live():
        rule = compiled.rule
        if rule.hold_s:
            report.holds += _promote_held(uow, ruleset, compiled, now, limit)
        if isinstance(compiled.params, CountParams):
            report.windows += _expire_window(uow, ruleset, compiled, now)
    report.reconciled = _rejudge_open(uow, ruleset, now)
    report.rearmed = _rearm(uow, ruleset, now)
    return report


def _rearm(uow: UnitOfWork, ruleset: RuleSet, now: datetime) -> int:
    """Lift the inhibitions (alarms cleared by hand while their condition held) whose condition
    the latest readings say is over, or whose silent asset has been heard since: from then on the
    rule raises again. The engine does it at the edge it sees; this catches the others."""
    conn = uow.connection
    held = [
        (asset_id, rule_id, since)
        for asset_id, rule_id, since in repository.inhibitions(conn)
        if (rule := ruleset.rules.get(rule_id)) is not None and rule.level
    ]
    if not held:
        return 0
    rules = [ruleset.rules[r] for _, r, _ in held]
    values, seen = repository.twins_of(conn, {a for a, _, _ in held}, metrics_of(rules))
    now_ms = epoch_ms(now)
    over = []
    for asset_id, rule_id, since in held:
        rule = ruleset.rules[rule_id]
        if rule.type is RuleType.HEARTBEAT:
            if seen.get(asset_id, 0) > since:
                over.append((asset_id, rule_id))
        elif (
            condition_from_twin(rule, values.get(asset_id, {}), seen.get(asset_id), now_ms) is False
        ):
            over.append((asset_id, rule_id))
    repository.drop_conditions(conn, over)
    return len(over)


def _promote_held(
    uow: UnitOfWork, ruleset: RuleSet, compiled: CompiledRule, now: datetime, limit: int
) -> int:
    """Raise the pending conditions of a rule that have held for its hold time, if the latest
    readings still say so (the device may have said otherwise to another worker)."""
    conn = uow.connection
    rule = compiled.rule
    due = repository.due_conditions(conn, rule.id, epoch_ms(now) - rule.hold_s * 1000, limit)
    if not due:
        return 0
    assets = [a for a, _, _ in due]
    facts = repository.asset_facts(conn, assets)
    values, seen = repository.twins_of(conn, assets, metrics_of([rule]))
    repository.drop_conditions(conn, [(a, rule.id) for a in assets])
    raises = [
        Raise(compiled, facts[a], since, value)
        for a, since, value in due
        if a in facts
        and facts[a].status not in MANUAL_STATUSES
        and condition_from_twin(rule, values.get(a, {}), seen.get(a), epoch_ms(now), active=False)
        is not False
    ]
    if not raises:
        return 0
    done = raise_alarms(uow, ruleset, raises, now)
    return done.raised + done.reopened


def _rejudge_open(uow: UnitOfWork, ruleset: RuleSet, now: datetime) -> int:
    """Clear the open alarms of lasting conditions that the latest readings say are over."""
    rules = {
        c.id: c.rule
        for c in ruleset.live()
        if c.rule.level and c.rule.type is not RuleType.HEARTBEAT
    }
    heartbeats = {c.id: c.rule for c in ruleset.live(RuleType.HEARTBEAT)}
    conn = uow.connection
    opened = repository.open_alarms_of_rules(conn, [*rules, *heartbeats])
    if not opened:
        return 0
    values, seen = repository.twins_of(
        conn, {a.asset_id for a in opened}, metrics_of(list(rules.values()))
    )
    now_ms = epoch_ms(now)
    over = []
    for alarm in opened:
        if alarm.rule_id in heartbeats:
            # Heard since the alarm was raised (its observed_at is the last time it was heard).
            raised_seen = epoch_ms(alarm.observed_at) if alarm.observed_at else now_ms
            if seen.get(alarm.asset_id, 0) > raised_seen:
                over.append(alarm.id)
            continue
        holds = condition_from_twin(
            rules[alarm.rule_id], values.get(alarm.asset_id, {}), seen.get(alarm.asset_id), now_ms
        )
        if holds is False:
            over.append(alarm.id)
    return len(
        clear_alarms(uow, over, now, RULES_ACTOR, ClearReason.CONDITION_ENDED, ruleset=ruleset)
    )


def _expire_window(uow: UnitOfWork, ruleset: RuleSet, compiled: CompiledRule, now: datetime) -> int:
    """Count alarms clear once their window holds fewer occurrences than the rule's count."""
    params = compiled.params
    assert isinstance(params, CountParams)
    now_ms = epoch_ms(now)
    over = [
        alarm.id
        for alarm in repository.open_alarms_of_rules(uow.connection, [compiled.id])
        if occurrences(uow, alarm.asset_id, params, now_ms) < params.count
    ]
    cleared = clear_alarms(
        uow, over, now, RULES_ACTOR, ClearReason.CONDITION_ENDED, ruleset=ruleset
    )
    rearmed = [
        (asset_id, compiled.id)
        for asset_id, phase in repository.conditions_of_rule(uow.connection, compiled.id)
        if phase == INHIBITED and occurrences(uow, asset_id, params, now_ms) < params.count
    ]
    repository.drop_conditions(uow.connection, rearmed)
    return len(cleared)
