"""The rules engine on every telemetry batch: findings reconciled with the stored alarms and
held conditions in a few set-based queries, inside the batch's transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from metropilot.alarms import repository
from metropilot.alarms.model import ClearReason, CountParams
from metropilot.alarms.repository import INHIBITED, PENDING, OpenAlarm
from metropilot.alarms.rules import CountTrigger, Finding, RuleSet
from metropilot.alarms.services.clearing import clear_alarms
from metropilot.alarms.services.common import RULES, RULES_ACTOR, RuleCache
from metropilot.alarms.services.raising import BatchReport, Raise, occurrences, raise_alarms
from metropilot.db.uow import UnitOfWork
from metropilot.telemetry.services import MANUAL_STATUSES, TwinChange


@dataclass(slots=True)
class EngineStats:
    batches: int = 0
    changes: int = 0
    seconds: float = 0.0
    totals: BatchReport = field(default_factory=BatchReport)


class AlarmEngine:
    """The rules engine as the ingest pipeline's ``BatchObserver``.

    Called inside the batch's write transaction, before commit: alarms commit with the readings
    that caused them or not at all, and a redelivered batch finds its alarms already open.
    """

    def __init__(self, rules: RuleCache = RULES) -> None:
        self.rules = rules
        self.stats = EngineStats()

    def __call__(self, uow: UnitOfWork, changes: Sequence[TwinChange], now: datetime) -> None:
        started = time.perf_counter()
        ruleset = self.rules.get(uow)
        if len(ruleset):
            evaluation = ruleset.evaluate(changes)
            report = _reconcile(uow, ruleset, evaluation.findings, now)
            if evaluation.counts:
                report.add(_count(uow, ruleset, evaluation.counts, now))
            self.stats.totals.add(report)
        self.stats.batches += 1
        self.stats.changes += len(changes)
        self.stats.seconds += time.perf_counter() - started


def _reconcile(
    uow: UnitOfWork, ruleset: RuleSet, findings: Sequence[Finding], now: datetime
) -> BatchReport:
    """Findings against the stored alarms and held conditions: two indexed queries for the
    batch, then writes only where something changes."""
    report = BatchReport(findings=len(findings))
    if not findings:
        return report
    conn = uow.connection
    asset_ids = {f.asset.id for f in findings}
    opened = repository.open_alarms_of(conn, asset_ids)
    held = repository.conditions_of(conn, asset_ids)
    raises: list[Raise] = []
    clears: list[OpenAlarm] = []
    to_hold: list[dict[str, Any]] = []
    release: list[tuple[int, int]] = []
    for finding in findings:
        key = (finding.asset.id, finding.rule.id)
        alarm = opened.get(key)
        condition = held.get(key)
        if not finding.raised:
            if alarm is not None:
                clears.append(alarm)
            if condition is not None:
                release.append(key)
            continue
        if alarm is not None or finding.asset.status in MANUAL_STATUSES:
            continue
        if condition is not None and condition[0] == INHIBITED:
            continue
        hold_ms = finding.rule.rule.hold_s * 1000
        if hold_ms:
            if condition is None:
                to_hold.append(
                    {
                        "asset_id": key[0],
                        "rule_id": key[1],
                        "phase": PENDING,
                        "since_ms": finding.ts_ms,
                        "value": finding.value,
                    }
                )
                continue
            if finding.ts_ms - condition[1] < hold_ms:
                continue
            release.append(key)
        raises.append(Raise(finding.rule, finding.asset, finding.ts_ms, finding.value))
    if release:
        repository.drop_conditions(conn, release)
    if to_hold:
        repository.hold_conditions(conn, to_hold)
        report.held = len(to_hold)
    if clears:
        report.cleared = len(
            clear_alarms(
                uow,
                [a.id for a in clears],
                now,
                RULES_ACTOR,
                ClearReason.CONDITION_ENDED,
                ruleset=ruleset,
            )
        )
    if raises:
        report.add(raise_alarms(uow, ruleset, raises, now))
    return report


def _count(
    uow: UnitOfWork, ruleset: RuleSet, triggers: Sequence[CountTrigger], now: datetime
) -> BatchReport:
    """Count rules: the window is counted in SQL (the batch's own rows are already written), so
    every worker and a restart see the same count."""
    conn = uow.connection
    opened = repository.open_alarms_of(conn, {t.asset.id for t in triggers})
    held = repository.conditions_of(conn, {t.asset.id for t in triggers})
    raises: list[Raise] = []
    for trigger in triggers:
        key = (trigger.asset.id, trigger.rule.id)
        if key in opened or key in held or trigger.asset.status in MANUAL_STATUSES:
            continue
        params = trigger.rule.params
        assert isinstance(params, CountParams)
        found = occurrences(uow, trigger.asset.id, params, trigger.ts_ms)
        if found >= params.count:
            raises.append(Raise(trigger.rule, trigger.asset, trigger.ts_ms, float(found)))
    return raise_alarms(uow, ruleset, raises, now) if raises else BatchReport()
