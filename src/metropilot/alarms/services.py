"""Rules and alarms use cases: manage rules, react to telemetry, and follow alarms to the end.

Three kinds of callers change alarms, all through this module:

- the ingest pipeline, once per batch and inside its transaction, through ``AlarmEngine``
  (a ``BatchObserver``): the pure engine (``rules.py``) turns the batch into findings, and this
  module reconciles them with the stored alarms in a few set-based queries;
- the scheduler, through ``check_timers`` (silence, held conditions, count windows running out)
  and ``escalate`` (alarms left unacknowledged);
- people, through ``acknowledge``, ``clear``, ``assign`` and ``comment``.

Every change is audited and announced (``AlarmRaised``, ``AlarmAcknowledged``, ``AlarmCleared``,
``AlarmEscalated``, published after the commit). Correlation: while a parent asset has an open
alarm of a rule that *suppresses* others (a cabinet's supply loss), the alarms its children raise
for those rules are stored but muted (``suppressed_by``), and re-evaluated from their twin when
the parent's alarm clears. Flapping: a condition that returns within the rule's flap window
reopens the alarm it had (counting ``flaps``) instead of making a new one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from metropilot.accounts import repository as accounts_repository
from metropilot.accounts.model import OrganisationKind, Role
from metropilot.accounts.policy import Principal, asset_scope
from metropilot.alarms import repository
from metropilot.alarms.defaults import DEFAULT_RULES, ZONE_PLACEHOLDER, metropolis_zone
from metropilot.alarms.model import (
    DEFAULT_ESCALATION_DELAYS,
    Alarm,
    AlarmAcknowledged,
    AlarmCleared,
    AlarmComment,
    AlarmEscalated,
    AlarmEvent,
    AlarmRaised,
    AlarmState,
    ClearReason,
    CountParams,
    GeofenceParams,
    HeartbeatParams,
    Rule,
    RuleParams,
    RuleSpec,
    RuleType,
    Severity,
    ThresholdParams,
    parse_rule_spec,
)
from metropilot.alarms.repository import INHIBITED, PENDING, AlarmFilter, OpenAlarm, active_key
from metropilot.alarms.rules import (
    AssetLike,
    CompiledRule,
    CountTrigger,
    Finding,
    RuleSet,
    condition_from_twin,
    rising_edges,
)
from metropilot.assets.model import AssetKind
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor, ActorKind
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, InvalidInput, NotFound, Problem
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.telemetry.model import METRICS
from metropilot.telemetry.services import MANUAL_STATUSES, TwinChange
from metropilot.territory import services as territory_services

__all__ = [
    "RULES",
    "RULES_ACTOR",
    "AlarmAcknowledged",
    "AlarmCleared",
    "AlarmEngine",
    "AlarmEscalated",
    "AlarmEvent",
    "AlarmFilter",
    "AlarmRaised",
    "RuleCache",
    "TimerReport",
    "acknowledge",
    "alarm_detail",
    "assign",
    "check_heartbeats",
    "check_timers",
    "clear",
    "comment",
    "create_rule",
    "delete_rule",
    "escalate",
    "get_alarm",
    "get_rule",
    "install_default_rules",
    "list_alarms",
    "list_rules",
    "open_counts",
    "update_rule",
]

log = logging.getLogger(__name__)

RULES_ACTOR = Actor(ActorKind.SYSTEM, "rules", sector="public")
MAX_COMMENT = 2000


def _ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def _at(ms: int) -> datetime:
    """Exact: an alarm's observed_at must give back the very millisecond it was made from."""
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)


# --- the rule cache ----------------------------------------------------------------------------


class RuleCache:
    """The compiled rules of each database this process talks to, reloaded when they change.

    Checking costs one aggregate over the (small) rules table per batch; an edit made by any
    process — the web app, the CLI — is therefore seen by every ingest worker at its next batch.
    """

    def __init__(self) -> None:
        self._by_engine: dict[int, tuple[tuple[Any, ...], RuleSet]] = {}
        self._lock = threading.Lock()

    def get(self, uow: UnitOfWork) -> RuleSet:
        token = repository.rules_token(uow.connection)
        key = id(uow.engine)
        cached = self._by_engine.get(key)
        if cached is not None and cached[0] == token:
            return cached[1]
        ruleset = RuleSet(repository.list_rules(uow.connection))
        with self._lock:
            self._by_engine[key] = (token, ruleset)
        return ruleset


RULES = RuleCache()


# --- rules -------------------------------------------------------------------------------------


def list_rules(uow: UnitOfWork) -> list[Rule]:
    return repository.list_rules(uow.connection)


def get_rule(uow: UnitOfWork, rule_id: int) -> Rule:
    rule = repository.get_rule(uow.connection, rule_id)
    if rule is None or rule.deleted_at is not None:
        raise NotFound(f"no rule with id {rule_id}")
    return rule


def _check_references(
    uow: UnitOfWork, spec: RuleSpec, params: RuleParams, rule_id: int | None
) -> None:
    """What only the rest of the platform can tell: metrics, kinds, communes, assets, rules."""
    problems: list[Problem] = []
    metric = getattr(params, "metric", None)
    if metric is not None:
        known = METRICS.get(metric)
        if known is None or known.kind == "position":
            problems.append(Problem("params.metric", f"unknown metric {metric!r}"))
        elif isinstance(params, ThresholdParams) and known.kind != "number":
            problems.append(Problem("params.metric", f"{metric} is not a number"))
        elif isinstance(params, CountParams) and known.kind != "bool":
            problems.append(Problem("params.metric", f"{metric} is not a true/false metric"))
    kinds = {k.value for k in AssetKind}
    for index, kind in enumerate(spec.scope.kinds):
        if kind not in kinds:
            problems.append(Problem(f"scope.kinds.{index}", f"unknown asset kind {kind!r}"))
    if spec.scope.communes:
        communes = {c.insee for c in territory_services.list_communes(uow)}
        for index, insee in enumerate(spec.scope.communes):
            if insee not in communes:
                problems.append(Problem(f"scope.communes.{index}", f"unknown commune {insee!r}"))
    if spec.scope.assets:
        found = repository.asset_facts(uow.connection, spec.scope.assets)
        for index, asset_id in enumerate(spec.scope.assets):
            if asset_id not in found:
                problems.append(Problem(f"scope.assets.{index}", f"no asset with id {asset_id}"))
    if spec.suppresses:
        existing = repository.existing_rule_ids(uow.connection, spec.suppresses)
        for index, other in enumerate(spec.suppresses):
            if other == rule_id:
                problems.append(Problem(f"suppresses.{index}", "a rule cannot mute itself"))
            elif other not in existing:
                problems.append(Problem(f"suppresses.{index}", f"no rule with id {other}"))
    if problems:
        summary = "; ".join(f"{p['loc']}: {p['message']}" for p in problems[:5])
        raise InvalidInput(f"invalid rule: {summary}", details=problems, code="invalid_rule")


def _rule_values(spec: RuleSpec, params: RuleParams) -> dict[str, Any]:
    return {
        "code": spec.code,
        "name": spec.name,
        "description": spec.description,
        "type": spec.type.value,
        "severity": spec.severity.value,
        "params": params.model_dump(mode="json", exclude_none=True),
        "kinds": list(dict.fromkeys(spec.scope.kinds)),
        "communes": list(dict.fromkeys(spec.scope.communes)),
        "asset_ids": list(dict.fromkeys(spec.scope.assets)),
        "hold_s": spec.hold_s,
        "flap_window_s": spec.flap_window_s,
        "suppresses": list(dict.fromkeys(spec.suppresses)),
        "opens_case": spec.opens_case,
        "enabled": spec.enabled,
    }


def create_rule(
    uow: UnitOfWork, data: Mapping[str, Any], actor: Actor, *, now: datetime | None = None
) -> Rule:
    """Validate and store a rule; every problem of the definition is reported at once."""
    spec, params = parse_rule_spec(dict(data))
    _check_references(uow, spec, params, None)
    if spec.code is not None and spec.code in repository.rule_ids_by_code(uow.connection):
        raise Conflict(f"a rule with code {spec.code!r} exists already", code="rule_code_taken")
    now = now or utcnow()
    values = _rule_values(spec, params)
    rule_id = repository.insert_rule(
        uow.connection,
        {
            **values,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "created_by": actor.label(),
            "updated_by": actor.label(),
        },
    )
    rule = get_rule(uow, rule_id)
    uow.audit(
        AuditEntry(
            actor,
            "alarm_rule.created",
            "alarm_rule",
            str(rule_id),
            {k: [None, v] for k, v in rule.spec_dict().items()},
            at=now,
        )
    )
    return rule


def update_rule(
    uow: UnitOfWork,
    rule_id: int,
    changes: Mapping[str, Any],
    actor: Actor,
    *,
    version: int | None = None,
    now: datetime | None = None,
) -> Rule:
    """Change some fields of a rule (``scope`` and ``params`` merge key by key), enable or
    disable it. The open alarms it no longer justifies — disabled, asset out of scope,
    condition no longer met under the new parameters — are cleared."""
    before = get_rule(uow, rule_id)
    if version is not None and version != before.version:
        raise Conflict(
            f"rule {rule_id} is at version {before.version}, not {version}: reload and retry",
            code="version_conflict",
        )
    if "type" in changes and changes["type"] != before.type.value:
        raise InvalidInput("a rule's type cannot change: create a new rule", code="type_immutable")
    data = before.spec_dict()
    for key, value in changes.items():
        if key in ("scope", "params") and isinstance(value, Mapping):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    spec, params = parse_rule_spec(data)
    _check_references(uow, spec, params, rule_id)
    if spec.code != before.code and spec.code is not None:
        taken = repository.rule_ids_by_code(uow.connection).get(spec.code)
        if taken is not None and taken != rule_id:
            raise Conflict(f"a rule with code {spec.code!r} exists already", code="rule_code_taken")
    old, new = before.spec_dict(), {**data, **_spec_view(spec, params)}
    diff = {k: [old[k], new[k]] for k in new if old.get(k) != new[k]}
    if not diff:
        return before
    now = now or utcnow()
    repository.update_rule(
        uow.connection,
        rule_id,
        {
            **_rule_values(spec, params),
            "version": before.version + 1,
            "updated_at": now,
            "updated_by": actor.label(),
        },
    )
    after = get_rule(uow, rule_id)
    uow.audit(AuditEntry(actor, "alarm_rule.updated", "alarm_rule", str(rule_id), diff, at=now))
    if any(k in diff for k in ("params", "hold_s", "scope", "enabled")):
        repository.drop_conditions_of_rule(uow.connection, rule_id, PENDING)
    _revisit_rule_alarms(uow, after, now)
    return after


def _spec_view(spec: RuleSpec, params: RuleParams) -> dict[str, Any]:
    values = _rule_values(spec, params)
    return {
        **{k: values[k] for k in ("code", "name", "description", "type", "severity", "params")},
        "scope": {
            "kinds": values["kinds"],
            "communes": values["communes"],
            "assets": values["asset_ids"],
        },
        **{
            k: values[k] for k in ("hold_s", "flap_window_s", "suppresses", "opens_case", "enabled")
        },
    }


def delete_rule(
    uow: UnitOfWork, rule_id: int, actor: Actor, *, now: datetime | None = None
) -> None:
    """Retire a rule: it stops being evaluated and its open alarms clear; it stays stored so
    the alarms it raised keep their name and history (and a default rule is not reinstalled)."""
    rule = get_rule(uow, rule_id)
    now = now or utcnow()
    repository.update_rule(
        uow.connection,
        rule_id,
        {
            "deleted_at": now,
            "enabled": False,
            "version": rule.version + 1,
            "updated_at": now,
            "updated_by": actor.label(),
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "alarm_rule.deleted",
            "alarm_rule",
            str(rule_id),
            {"name": [rule.name, None]},
            at=now,
        )
    )
    repository.drop_conditions_of_rule(uow.connection, rule_id)
    opened = repository.open_alarms_of_rules(uow.connection, [rule_id])
    _clear_alarms(uow, [a.id for a in opened], now, actor, ClearReason.RULE_CHANGED)


def _revisit_rule_alarms(uow: UnitOfWork, rule: Rule, now: datetime) -> None:
    """After a rule changed: clear its open alarms that it no longer justifies."""
    opened = repository.open_alarms_of_rules(uow.connection, [rule.id])
    if not opened:
        return
    if not rule.enabled:
        _clear_alarms(uow, [a.id for a in opened], now, RULES_ACTOR, ClearReason.RULE_CHANGED)
        return
    facts = repository.asset_facts(uow.connection, {a.asset_id for a in opened})
    out_of_scope = [
        a.id
        for a in opened
        if (f := facts.get(a.asset_id)) is None or not rule.covers(f.kind, f.commune, f.id)
    ]
    _clear_alarms(uow, out_of_scope, now, RULES_ACTOR, ClearReason.RULE_CHANGED)
    remaining = [a for a in opened if a.id not in set(out_of_scope)]
    values, seen = repository.twins_of(
        uow.connection, {a.asset_id for a in remaining}, _metrics_of([rule])
    )
    over = [
        a.id
        for a in remaining
        if condition_from_twin(rule, values.get(a.asset_id, {}), seen.get(a.asset_id), _ms(now))
        is False
    ]
    _clear_alarms(uow, over, now, RULES_ACTOR, ClearReason.CONDITION_ENDED)


def _metrics_of(rules: Sequence[Rule]) -> set[str]:
    """The metrics a re-evaluation of these rules reads from the twin."""
    found: set[str] = set()
    for rule in rules:
        if isinstance(rule.params, GeofenceParams):
            found |= {"position_lon", "position_lat"}
        elif (metric := getattr(rule.params, "metric", None)) is not None:
            found.add(metric)
    return found


def install_default_rules(uow: UnitOfWork, actor: Actor) -> list[Rule]:
    """Install the rules shipped for the reference equipment (``defaults.DEFAULT_RULES``).

    Idempotent: a rule whose code exists — even edited or deleted since — is left as it is, so
    running it at every start never undoes a supervisor's choices. The vehicle zone is the
    metropolis's outline, so that rule waits until the communes exist. Returns the new rules.
    """
    existing = repository.rule_ids_by_code(uow.connection)
    zone: Any = None
    wanted = [d for d in DEFAULT_RULES if d["code"] not in existing]
    if any(d["params"].get("zone") == ZONE_PLACEHOLDER for d in wanted):
        zone = metropolis_zone(c.boundary for c in territory_services.list_communes(uow))
    created: list[tuple[Rule, list[str]]] = []
    for definition in wanted:
        data = {k: v for k, v in definition.items() if k != "suppresses"}
        if data["params"].get("zone") == ZONE_PLACEHOLDER:
            if zone is None:
                continue
            data["params"] = {**data["params"], "zone": zone}
        created.append((create_rule(uow, data, actor), list(definition.get("suppresses", []))))
    if any(codes for _, codes in created):
        ids = repository.rule_ids_by_code(uow.connection)
        result = []
        for rule, codes in created:
            targets = [ids[c] for c in codes if c in ids]
            if targets:
                rule = update_rule(uow, rule.id, {"suppresses": targets}, actor)
            result.append(rule)
        return result
    return [rule for rule, _ in created]


# --- the engine: from findings to alarms -------------------------------------------------------


@dataclass(slots=True)
class _Raise:
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
    raises: list[_Raise] = []
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
        raises.append(_Raise(finding.rule, finding.asset, finding.ts_ms, finding.value))
    if release:
        repository.drop_conditions(conn, release)
    if to_hold:
        repository.hold_conditions(conn, to_hold)
        report.held = len(to_hold)
    if clears:
        report.cleared = len(
            _clear_alarms(
                uow,
                [a.id for a in clears],
                now,
                RULES_ACTOR,
                ClearReason.CONDITION_ENDED,
                ruleset=ruleset,
            )
        )
    if raises:
        report.add(_raise(uow, ruleset, raises, now))
    return report


def _count(
    uow: UnitOfWork, ruleset: RuleSet, triggers: Sequence[CountTrigger], now: datetime
) -> BatchReport:
    """Count rules: the window is counted in SQL (the batch's own rows are already written), so
    every worker and a restart see the same count."""
    conn = uow.connection
    opened = repository.open_alarms_of(conn, {t.asset.id for t in triggers})
    held = repository.conditions_of(conn, {t.asset.id for t in triggers})
    raises: list[_Raise] = []
    for trigger in triggers:
        key = (trigger.asset.id, trigger.rule.id)
        if key in opened or key in held or trigger.asset.status in MANUAL_STATUSES:
            continue
        params = trigger.rule.params
        assert isinstance(params, CountParams)
        found = _occurrences(uow, trigger.asset.id, params, trigger.ts_ms)
        if found >= params.count:
            raises.append(_Raise(trigger.rule, trigger.asset, trigger.ts_ms, float(found)))
    return _raise(uow, ruleset, raises, now) if raises else BatchReport()


def _occurrences(uow: UnitOfWork, asset_id: int, params: CountParams, end_ms: int) -> int:
    since = end_ms - params.window_s * 1000
    if params.code is not None:
        return repository.count_events(uow.connection, asset_id, params.code, since)
    assert params.metric is not None
    before, values = repository.metric_since(uow.connection, asset_id, params.metric, since)
    return rising_edges(before, values)


def _raise(
    uow: UnitOfWork, ruleset: RuleSet, raises: Sequence[_Raise], now: datetime
) -> BatchReport:
    """Open alarms for these conditions: parents first (so their children, in the same batch,
    find them and are muted), reopening a recently cleared alarm of the same (asset, rule)."""
    report = BatchReport()
    conn = uow.connection
    unique: dict[tuple[int, int], _Raise] = {}
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
    group: Sequence[_Raise],
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
    group: Sequence[_Raise],
    recent: Mapping[tuple[int, int], tuple[int, datetime, int]],
    muting: Mapping[tuple[int, int], int],
    now: datetime,
    report: BatchReport,
) -> dict[tuple[int, int], int]:
    conn = uow.connection
    new_rows: list[dict[str, Any]] = []
    reopen_rows: list[dict[str, Any]] = []
    by_key: dict[str, _Raise] = {}
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
            "observed_at": _at(item.ts_ms),
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
    item: _Raise,
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
    uow: UnitOfWork, item: _Raise, parent_alarm_id: int, now: datetime
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


def _clear_alarms(
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
            AlarmCleared(**_alarm_event_fields(alarm, actor), reason=reason.value, occurred_at=now)
        )
    parents = [a.id for a in alarms if a.suppressed_count]
    if parents:
        _revisit_children(uow, ruleset or RULES.get(uow), parents, now)
    return cleared


def _alarm_event_fields(alarm: Alarm, actor: Actor) -> dict[str, Any]:
    return {
        "alarm_id": alarm.id,
        "asset_id": alarm.asset_id,
        "commune_insee": alarm.commune,
        "kind": alarm.kind,
        "maintainer_id": alarm.maintainer_id,
        "rule_id": alarm.rule_id,
        "rule_code": alarm.rule_code,
        "rule_name": alarm.rule_name,
        "severity": alarm.severity.value,
        "opens_case": alarm.opens_case,
        "suppressed_by": alarm.suppressed_by,
        "actor": actor.label(),
    }


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
        _metrics_of([r for c in children if (r := ruleset.rules.get(c.rule_id)) is not None]),
    )
    now_ms = _ms(now)
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
            holds = _occurrences(uow, child.asset_id, rule.params, now_ms) >= rule.params.count
        if holds is False:
            over.append(child.id)
        else:
            still.append(child)  # holding, or not judged from a twin (an event): keep it
    _clear_alarms(uow, gone, now, RULES_ACTOR, ClearReason.RULE_CHANGED, ruleset=ruleset)
    _clear_alarms(uow, over, now, RULES_ACTOR, ClearReason.CONDITION_ENDED, ruleset=ruleset)
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
                **_alarm_event_fields(alarm, RULES_ACTOR),
                message=alarm.message,
                released=True,
                flaps=alarm.flaps,
                occurred_at=now,
            )
        )


# --- time-driven checks ------------------------------------------------------------------------


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
    now_ms = _ms(now)
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
        raises = [_Raise(compiled, facts, last_seen, None) for facts, last_seen in silent]
        done = _raise(uow, ruleset, raises, now)
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
    values, seen = repository.twins_of(conn, {a for a, _, _ in held}, _metrics_of(rules))
    now_ms = _ms(now)
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
    due = repository.due_conditions(conn, rule.id, _ms(now) - rule.hold_s * 1000, limit)
    if not due:
        return 0
    assets = [a for a, _, _ in due]
    facts = repository.asset_facts(conn, assets)
    values, seen = repository.twins_of(conn, assets, _metrics_of([rule]))
    repository.drop_conditions(conn, [(a, rule.id) for a in assets])
    raises = [
        _Raise(compiled, facts[a], since, value)
        for a, since, value in due
        if a in facts
        and facts[a].status not in MANUAL_STATUSES
        and condition_from_twin(rule, values.get(a, {}), seen.get(a), _ms(now), active=False)
        is not False
    ]
    if not raises:
        return 0
    done = _raise(uow, ruleset, raises, now)
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
        conn, {a.asset_id for a in opened}, _metrics_of(list(rules.values()))
    )
    now_ms = _ms(now)
    over = []
    for alarm in opened:
        if alarm.rule_id in heartbeats:
            # Heard since the alarm was raised (its observed_at is the last time it was heard).
            raised_seen = _ms(alarm.observed_at) if alarm.observed_at else now_ms
            if seen.get(alarm.asset_id, 0) > raised_seen:
                over.append(alarm.id)
            continue
        holds = condition_from_twin(
            rules[alarm.rule_id], values.get(alarm.asset_id, {}), seen.get(alarm.asset_id), now_ms
        )
        if holds is False:
            over.append(alarm.id)
    return len(
        _clear_alarms(uow, over, now, RULES_ACTOR, ClearReason.CONDITION_ENDED, ruleset=ruleset)
    )


def _expire_window(uow: UnitOfWork, ruleset: RuleSet, compiled: CompiledRule, now: datetime) -> int:
    """Count alarms clear once their window holds fewer occurrences than the rule's count."""
    params = compiled.params
    assert isinstance(params, CountParams)
    now_ms = _ms(now)
    over = [
        alarm.id
        for alarm in repository.open_alarms_of_rules(uow.connection, [compiled.id])
        if _occurrences(uow, alarm.asset_id, params, now_ms) < params.count
    ]
    cleared = _clear_alarms(
        uow, over, now, RULES_ACTOR, ClearReason.CONDITION_ENDED, ruleset=ruleset
    )
    rearmed = [
        (asset_id, compiled.id)
        for asset_id, phase in repository.conditions_of_rule(uow.connection, compiled.id)
        if phase == INHIBITED and _occurrences(uow, asset_id, params, now_ms) < params.count
    ]
    repository.drop_conditions(uow.connection, rearmed)
    return len(cleared)


def escalate(
    uow: UnitOfWork,
    now: datetime,
    delay: timedelta | Mapping[Severity | str, timedelta] | None = None,
    *,
    limit: int = 1000,
) -> int:
    """Escalate the alarms nobody acknowledged within the delay of their severity (defaults:
    ``DEFAULT_ESCALATION_DELAYS``; one ``timedelta`` applies to every severity but ``info``).
    Each alarm escalates once per opening: ``AlarmEscalated`` is recorded, the alarm keeps
    ``escalated_at`` and ``escalation_level``. Muted children never escalate: their parent does.
    """
    if delay is None:
        delays: dict[Severity, timedelta] = dict(DEFAULT_ESCALATION_DELAYS)
    elif isinstance(delay, timedelta):
        delays = {s: delay for s in Severity if s is not Severity.INFO}
    else:
        delays = {Severity(k): v for k, v in delay.items()}
    conn = uow.connection
    escalated = 0
    for severity, wait in delays.items():
        ids = repository.escalation_due(conn, severity.value, now - wait, limit - escalated)
        for alarm in repository.get_alarms(conn, ids):
            repository.update_alarm(
                conn, alarm.id, {"escalation_level": 1, "escalated_at": now, "updated_at": now}
            )
            opened_at = alarm.reopened_at or alarm.raised_at
            waited = (now - opened_at).total_seconds()
            uow.audit(
                AuditEntry(
                    RULES_ACTOR,
                    "alarm.escalated",
                    "alarm",
                    str(alarm.id),
                    {"escalation_level": [0, 1]},
                    at=now,
                )
            )
            uow.record(
                AlarmEscalated(
                    **_alarm_event_fields(alarm, RULES_ACTOR),
                    level=1,
                    unacknowledged_s=waited,
                    occurred_at=now,
                )
            )
            escalated += 1
    return escalated


# --- people and alarms -------------------------------------------------------------------------


def list_alarms(uow: UnitOfWork, flt: AlarmFilter, limit: int) -> tuple[list[Alarm], int | None]:
    """A page of alarms, newest first, and the id to continue before (None on the last page)."""
    rows = repository.list_alarms(uow.connection, flt, limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def open_counts(uow: UnitOfWork, flt: AlarmFilter) -> dict[str, int]:
    return repository.count_open(uow.connection, flt)


def get_alarm(uow: UnitOfWork, alarm_id: int, scope: Scope = UNRESTRICTED) -> Alarm:
    """One alarm; outside the caller's scope it does not exist (404, like assets)."""
    alarm = repository.get_alarm(uow.connection, alarm_id, scope)
    if alarm is None:
        raise NotFound(f"no alarm with id {alarm_id}")
    return alarm


def alarm_detail(
    uow: UnitOfWork, alarm_id: int, scope: Scope = UNRESTRICTED
) -> tuple[Alarm, list[Alarm]]:
    """An alarm with its comments, and the children's alarms it mutes (within the scope)."""
    alarm = get_alarm(uow, alarm_id, scope)
    alarm.comments = repository.comments_of(uow.connection, alarm_id)
    return alarm, repository.children_of(uow.connection, alarm_id, scope)


def _text(value: str | None, what: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{what} is required", code="comment_required")
        return None
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"{what} is at most {MAX_COMMENT} characters, got {len(text)}")
    return text


def _add_comment(uow: UnitOfWork, alarm: Alarm, text: str, actor: Actor, now: datetime) -> int:
    comment_id = repository.insert_comment(uow.connection, alarm.id, now, actor.label(), text)
    uow.audit(
        AuditEntry(
            actor, "alarm.commented", "alarm", str(alarm.id), {"comment": [None, text]}, at=now
        )
    )
    return comment_id


def acknowledge(
    uow: UnitOfWork,
    alarm_id: int,
    actor: Actor,
    *,
    scope: Scope = UNRESTRICTED,
    comment: str | None = None,
    now: datetime | None = None,
) -> Alarm:
    """Someone has seen the alarm and takes it on: it stops escalating."""
    now = now or utcnow()
    alarm = get_alarm(uow, alarm_id, scope)
    alarm.check_acknowledge()
    text = _text(comment, "comment", required=False)
    repository.update_alarm(
        uow.connection,
        alarm_id,
        {
            "state": AlarmState.ACKNOWLEDGED.value,
            "acknowledged_at": now,
            "acknowledged_by": actor.label(),
            "updated_at": now,
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "alarm.acknowledged",
            "alarm",
            str(alarm_id),
            {"state": [alarm.state.value, AlarmState.ACKNOWLEDGED.value]},
            at=now,
        )
    )
    if text:
        _add_comment(uow, alarm, text, actor, now)
    uow.record(AlarmAcknowledged(**_alarm_event_fields(alarm, actor), occurred_at=now))
    return get_alarm(uow, alarm_id, scope)


def clear(
    uow: UnitOfWork,
    alarm_id: int,
    comment: str,
    actor: Actor,
    *,
    scope: Scope = UNRESTRICTED,
    now: datetime | None = None,
) -> Alarm:
    """Clear an alarm by hand, saying why. If the equipment still reports the condition, the
    rule does not raise it again until the equipment has reported normal once (a false alarm
    cleared by hand does not come straight back at the next reading)."""
    now = now or utcnow()
    text = _text(comment, "a comment saying why the alarm is cleared", required=True)
    assert text is not None
    alarm = get_alarm(uow, alarm_id, scope)
    alarm.check_clear()
    _add_comment(uow, alarm, text, actor, now)
    _clear_alarms(uow, [alarm_id], now, actor, ClearReason.MANUAL)
    rule = repository.get_rule(uow.connection, alarm.rule_id)
    if rule is not None and (rule.level or isinstance(rule.params, CountParams)):
        repository.inhibit(uow.connection, alarm.asset_id, alarm.rule_id, _ms(now))
    return get_alarm(uow, alarm_id, scope)


def _no_assignee(username: str) -> InvalidInput:
    """One answer for every assignee refused: whether an account of that name exists, is
    disabled, is a citizen's or sees elsewhere is not for the assigner to learn (accounts are
    the administrators' to read)."""
    return InvalidInput(
        f"no active account {username!r} that sees this alarm's asset", code="unknown_assignee"
    )


def _principal_of(uow: UnitOfWork, username: str) -> Principal | None:
    stored = accounts_repository.get_user(uow.connection, username=username)
    if stored is None or stored.user.disabled:
        return None
    user = stored.user
    return Principal(
        kind=ActorKind.USER,
        name=user.username,
        id=user.id,
        role=user.role,
        organisation=user.organisation,
        organisation_id=stored.organisation_id,
        organisation_kind=OrganisationKind(user.organisation_kind)
        if user.organisation_kind
        else None,
        organisation_commune=stored.organisation_commune,
        sector=user.organisation_sector,
        communes=user.communes,
        team=user.team,
    )


def assign(
    uow: UnitOfWork,
    alarm_id: int,
    assignee: str | None,
    actor: Actor,
    *,
    scope: Scope = UNRESTRICTED,
    now: datetime | None = None,
) -> Alarm:
    """Give the alarm to someone (``None`` takes it back). The assignee must be an active
    account that can see the alarm's asset — otherwise they could not open what they were given."""
    now = now or utcnow()
    alarm = get_alarm(uow, alarm_id, scope)
    name = (assignee or "").strip() or None
    if name is not None:
        principal = _principal_of(uow, name)
        if principal is None or principal.role is Role.CITIZEN:
            raise _no_assignee(name)
        visible = asset_scope(principal)
        if not visible.allows(alarm.commune, alarm.maintainer_id, alarm.kind):
            raise _no_assignee(name)
    if name == alarm.assignee:
        return alarm
    repository.update_alarm(uow.connection, alarm_id, {"assignee": name, "updated_at": now})
    uow.audit(
        AuditEntry(
            actor,
            "alarm.assigned",
            "alarm",
            str(alarm_id),
            {"assignee": [alarm.assignee, name]},
            at=now,
        )
    )
    return get_alarm(uow, alarm_id, scope)


def comment(
    uow: UnitOfWork,
    alarm_id: int,
    text: str,
    actor: Actor,
    *,
    scope: Scope = UNRESTRICTED,
    now: datetime | None = None,
) -> AlarmComment:
    now = now or utcnow()
    clean = _text(text, "text", required=True)
    assert clean is not None
    alarm = get_alarm(uow, alarm_id, scope)
    comment_id = _add_comment(uow, alarm, clean, actor, now)
    repository.update_alarm(uow.connection, alarm_id, {"updated_at": now})
    return AlarmComment(comment_id, alarm_id, now, actor.label(), clean)
