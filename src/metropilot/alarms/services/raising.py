"""Raising alarms: parents first, reopening a flapping alarm, muting the children of an open
parent alarm (correlation), announcing each raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from metropilot.alarms import repository
from metropilot.alarms.model import AlarmRaised, AlarmState, CountParams, Rule
from metropilot.alarms.repository import active_key
from metropilot.alarms.rules import AssetLike, CompiledRule, RuleSet, rising_edges
from metropilot.alarms.services.common import RULES_ACTOR, at_ms
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry


@dataclass(slots=True)
class Raise:
    """A condition that holds on an asset, to raise (or reopen) an alarm for."""

    rule: CompiledRule
    asset: AssetLike
    ts_ms: int
    value: float | None


@dataclass(slots=True)
class BatchReport:
    """What one batch (or one timer run) did, for the observer's counters and the bench."""

    findings: int = 0
    raised: int = 0
    reopened: int = 0
    suppressed: int = 0
    cleared: int = 0
    held: int = 0

    def add(self, other: BatchReport) -> None:
        for name in BatchReport.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def occurrences(uow: UnitOfWork, asset_id: int, params: CountParams, end_ms: int) -> int:
    since = end_ms - params.window_s * 1000
    if params.code is not None:
        return repository.count_events(uow.connection, asset_id, params.code, since)
    assert params.metric is not None
    before, values = repository.metric_since(uow.connection, asset_id, params.metric, since)
    return rising_edges(before, values)


def raise_alarms(
    uow: UnitOfWork, ruleset: RuleSet, raises: Sequence[Raise], now: datetime
) -> BatchReport:
    """Open alarms for these conditions: parents first (so their children, in the same batch,
    find them and are muted), reopening a recently cleared alarm of the same (asset, rule)."""
    report = BatchReport()
    conn = uow.connection
    unique: dict[tuple[int, int], Raise] = {}
    for item in raises:
        unique.setdefault((item.asset.id, item.rule.id), item)
    pairs = list(unique)
    longest = max(item.rule.rule.flap_window_s for item in unique.values())
    recent = (
        repository.recently_cleared(conn, pairs, now - timedelta(seconds=longest))
        if longest
        else {}
    )
    parents = [i for i in unique.values() if i.rule.id in ruleset.suppressing]
    others = [i for i in unique.values() if i.rule.id not in ruleset.suppressing]
    new_parents: dict[tuple[int, int], int] = {}
    for group in (parents, others):
        if not group:
            continue
        muting = _muting_alarms(uow, ruleset, group, new_parents)
        opened = _open(uow, group, recent, muting, now, report)
        for item in group:
            alarm_id = opened.get((item.asset.id, item.rule.id))
            if alarm_id is not None and item.rule.id in ruleset.suppressing:
                new_parents[(item.asset.id, item.rule.id)] = alarm_id
                report.suppressed += _mute_existing_children(uow, item, alarm_id, now)
    return report


def _muting_alarms(
    uow: UnitOfWork,
    ruleset: RuleSet,
    group: Sequence[Raise],
    new_parents: Mapping[tuple[int, int], int],
) -> dict[tuple[int, int], int]:
    """For each raise, the open parent alarm that mutes it, if any: (asset, rule) → alarm."""
    wanted = [
        i for i in group if i.asset.parent_id is not None and i.rule.id in ruleset.suppressors
    ]
    if not wanted:
        return {}
    parent_rules = {r for i in wanted for r in ruleset.suppressors[i.rule.id]}
    stored = repository.open_parent_alarms(
        uow.connection, {i.asset.parent_id for i in wanted if i.asset.parent_id}, parent_rules
    )
    stored.update(new_parents)
    muting: dict[tuple[int, int], int] = {}
    for item in wanted:
        for parent_rule in ruleset.suppressors[item.rule.id]:
            assert item.asset.parent_id is not None
            parent_alarm = stored.get((item.asset.parent_id, parent_rule))
            if parent_alarm is not None:
                muting[(item.asset.id, item.rule.id)] = parent_alarm
                break
    return muting


def _open(
    uow: UnitOfWork,
    group: Sequence[Raise],
    recent: Mapping[tuple[int, int], tuple[int, datetime, int]],
    muting: Mapping[tuple[int, int], int],
    now: datetime,
    report: BatchReport,
) -> dict[tuple[int, int], int]:
    conn = uow.connection
    new_rows: list[dict[str, Any]] = []
    reopen_rows: list[dict[str, Any]] = []
    by_key: dict[str, Raise] = {}
    for item in group:
        rule = item.rule.rule
        key = active_key(item.asset.id, rule.id)
        by_key[key] = item
        pair = (item.asset.id, rule.id)
        common = {
            "active_key": key,
            "state": AlarmState.ACTIVE.value,
            "severity": rule.severity.value,
            "message": item.rule.message(item.value)[:300],
            "value": item.value,
            "observed_at": at_ms(item.ts_ms),
            "suppressed_by": muting.get(pair),
            "escalation_level": 0,
            "escalated_at": None,
            "updated_at": now,
        }
        previous = recent.get(pair)
        if (
            previous is not None
            and rule.flap_window_s
            and now - previous[1] <= timedelta(seconds=rule.flap_window_s)
        ):
            reopen_rows.append(
                {
                    **common,
                    "id": previous[0],
                    "flaps": previous[2] + 1,
                    "reopened_at": now,
                    "acknowledged_at": None,
                    "acknowledged_by": None,
                    "cleared_at": None,
                    "cleared_by": None,
                    "clear_reason": None,
                }
            )
        else:
            new_rows.append(
                {
                    **common,
                    "rule_id": rule.id,
                    "asset_id": item.asset.id,
                    "raised_at": now,
                    "flaps": 0,
                }
            )
    opened: dict[tuple[int, int], int] = {}
    for key, alarm_id in repository.insert_alarms(conn, new_rows).items():
        item = by_key[key]
        opened[(item.asset.id, item.rule.id)] = alarm_id
        _announce_raise(uow, alarm_id, item, muting, now, reopened=False, flaps=0)
        report.raised += 1
    for row in reopen_rows:
        if not repository.reopen_alarms(conn, [row]):
            continue
        item = by_key[row["active_key"]]
        opened[(item.asset.id, item.rule.id)] = row["id"]
        _announce_raise(uow, row["id"], item, muting, now, reopened=True, flaps=row["flaps"])
        report.reopened += 1
    report.suppressed += sum(1 for pair in opened if pair in muting)
    return opened


def _event_fields(
    alarm_id: int, asset: AssetLike, rule: Rule, suppressed_by: int | None, actor: Actor
) -> dict[str, Any]:
    return {
        "alarm_id": alarm_id,
        "asset_id": asset.id,
        "commune_insee": asset.commune,
        "kind": asset.kind,
        "maintainer_id": asset.maintainer_id,
        "rule_id": rule.id,
        "rule_code": rule.code,
        "rule_name": rule.name,
        "severity": rule.severity.value,
        "opens_case": rule.opens_case,
        "suppressed_by": suppressed_by,
        "actor": actor.label(),
    }


def _announce_raise(
    uow: UnitOfWork,
    alarm_id: int,
    item: Raise,
    muting: Mapping[tuple[int, int], int],
    now: datetime,
    *,
    reopened: bool,
    flaps: int,
) -> None:
    rule = item.rule.rule
    muted_by = muting.get((item.asset.id, rule.id))
    changes: dict[str, list[Any]] = {
        "state": [AlarmState.CLEARED.value if reopened else None, AlarmState.ACTIVE.value],
        "asset": [None, item.asset.id],
        "rule": [None, rule.id],
        "severity": [None, rule.severity.value],
        "message": [None, item.rule.message(item.value)],
    }
    if reopened:
        changes["flaps"] = [flaps - 1, flaps]
    if muted_by is not None:
        changes["suppressed_by"] = [None, muted_by]
    action = "alarm.reopened" if reopened else "alarm.raised"
    uow.audit(AuditEntry(RULES_ACTOR, action, "alarm", str(alarm_id), changes, at=now))
    if muted_by is None:
        uow.record(
            AlarmRaised(
                **_event_fields(alarm_id, item.asset, rule, None, RULES_ACTOR),
                message=item.rule.message(item.value),
                reopened=reopened,
                flaps=flaps,
                occurred_at=now,
            )
        )


def _mute_existing_children(
    uow: UnitOfWork, item: Raise, parent_alarm_id: int, now: datetime
) -> int:
    """A parent's alarm arrived after some of its children's: mute those too (they were raised
    for the same cause a moment earlier, e.g. lamps reporting before their cabinet)."""
    linked = repository.link_open_children(
        uow.connection, parent_alarm_id, item.asset.id, item.rule.rule.suppresses
    )
    for child in linked:
        uow.audit(
            AuditEntry(
                RULES_ACTOR,
                "alarm.suppressed",
                "alarm",
                str(child),
                {"suppressed_by": [None, parent_alarm_id]},
                at=now,
            )
        )
    return len(linked)
