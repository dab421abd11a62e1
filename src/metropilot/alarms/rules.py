"""The rules engine's pure half: rules compiled into an index, and the verdict on each change.

The ingest target is tens of thousands of readings a second, so the work per batch must be
proportional to the batch, not to the number of rules or assets. Rules are compiled once (when
they change) into a per-kind index: for a street light, the engine only looks at the few metrics
some street-light rule watches, with a dictionary lookup each, and skips every other kind's
rules without looking at them. What it produces is a list of *findings* — "rule R says raise (or
clear) on asset A at time T" — which ``services`` reconciles with the stored alarms in a few
set-based queries. No I/O here, so the hysteresis and every verdict are tested without a database.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import shapely
from shapely.geometry.base import BaseGeometry

from metropilot.alarms.model import (
    CountParams,
    GeofenceParams,
    HeartbeatParams,
    Rule,
    RuleType,
    StateParams,
    ThresholdParams,
)

__all__ = [
    "AssetLike",
    "Change",
    "CompiledRule",
    "CountTrigger",
    "Evaluation",
    "Finding",
    "LastSeen",
    "RuleSet",
    "condition_from_twin",
    "hysteresis_step",
    "rising_edges",
    "threshold_verdict",
]


class AssetLike(Protocol):
    """What the engine needs to know of an asset (``telemetry.services.AssetInfo`` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def commune(self) -> str: ...
    @property
    def maintainer_id(self) -> int | None: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def status(self) -> str: ...


# What one batch brought for one asset, as the telemetry pipeline hands it over
# (``telemetry.services.TwinChange`` is this tuple, named): the asset, its newest time in the
# batch (ms), the values brought, each metric's value before the batch (absent: never seen;
# read-only), the status before and after, the event codes brought. A plain tuple so that the
# engine unpacks it in one step: it sees every reading of the city.
Change = tuple[AssetLike, int, dict[str, float], Mapping[str, float], str, str, tuple[str, ...]]


# --- verdicts ----------------------------------------------------------------------------------


def threshold_verdict(params: ThresholdParams, value: float) -> bool | None:
    """True: the condition holds (raise); False: it is over (clear); None: inside the
    hysteresis band, where the alarm keeps whatever state it has."""
    if params.direction == "above":
        if value > params.raise_at:
            return True
        if value < params.clear_level:
            return False
        return None
    if value < params.raise_at:
        return True
    if value > params.clear_level:
        return False
    return None


def hysteresis_step(active: bool, params: ThresholdParams, value: float) -> bool:
    """The alarm's next state after one value: the threshold state machine in one line."""
    verdict = threshold_verdict(params, value)
    return active if verdict is None else verdict


def rising_edges(before: float | None, values: Iterable[float]) -> int:
    """How many times a boolean series turns true (``before`` is the value preceding it)."""
    edges = 0
    last = before
    for value in values:
        if value == 1.0 and last != 1.0:
            edges += 1
        last = value
    return edges


@dataclass(slots=True)
class Finding:
    """One rule's verdict on one asset in one batch."""

    rule: CompiledRule
    asset: AssetLike
    raised: bool  # True: the condition holds; False: it is over
    ts_ms: int
    value: float | None = None


@dataclass(slots=True)
class CountTrigger:
    """An occurrence a count rule watches arrived: the services count the window in SQL."""

    rule: CompiledRule
    asset: AssetLike
    ts_ms: int


@dataclass(slots=True)
class Evaluation:
    findings: list[Finding] = field(default_factory=list)
    counts: list[CountTrigger] = field(default_factory=list)


# --- compiled rules ----------------------------------------------------------------------------


class CompiledRule:
    """A rule with what evaluation needs precomputed: scope as sets, the zone prepared."""

    __slots__ = (
        "asset_ids",
        "communes",
        "id",
        "params",
        "rule",
        "scoped",
        "zone",
    )

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.id = rule.id
        self.params = rule.params
        self.communes = frozenset(rule.communes) if rule.communes else None
        self.asset_ids = frozenset(rule.asset_ids) if rule.asset_ids else None
        self.scoped = self.communes is not None or self.asset_ids is not None
        self.zone: BaseGeometry | None = None
        if isinstance(rule.params, GeofenceParams):
            self.zone = rule.params.geometry()
            shapely.prepare(self.zone)

    def covers(self, asset: AssetLike) -> bool:
        return (self.communes is None or asset.commune in self.communes) and (
            self.asset_ids is None or asset.id in self.asset_ids
        )

    def inside(self, lon: float, lat: float) -> bool:
        assert self.zone is not None
        return bool(shapely.contains_xy(self.zone, lon, lat))

    def message(self, value: float | None) -> str:
        """Why the alarm was raised, in words an operator reads on the alarm list."""
        p = self.params
        if isinstance(p, ThresholdParams):
            side = "above" if p.direction == "above" else "below"
            return f"{p.metric} {value:g} {side} {p.raise_at:g}"
        if isinstance(p, StateParams):
            if p.metric is not None:
                return f"{p.metric} reported {value:g}" if value is not None else p.metric
            return f"device event {p.code}"
        if isinstance(p, HeartbeatParams):
            return (
                f"no reading for {p.missed} expected intervals of {p.interval_s} s "
                f"({p.interval_s * p.missed // 60} min)"
            )
        if isinstance(p, CountParams):
            what = p.code if p.code is not None else f"{p.metric} turning true"
            return f"{p.count} × {what} within {p.window_s} s"
        return "outside its zone"


# How a metric check compares: the value against (raise, clear) levels, or equality.
ABOVE, BELOW, EQUALS = 0, 1, 2
MetricCheck = tuple[CompiledRule, int, float, float]


def _metric_check(compiled: CompiledRule) -> MetricCheck:
    p = compiled.params
    if isinstance(p, ThresholdParams):
        op = ABOVE if p.direction == "above" else BELOW
        return (compiled, op, p.raise_at, p.clear_level)
    assert isinstance(p, StateParams)
    return (compiled, EQUALS, p.target, p.target)


@dataclass(slots=True)
class KindRules:
    """The rules that can concern one asset kind, indexed by what they watch."""

    metric_rules: list[tuple[str, tuple[MetricCheck, ...]]] = field(default_factory=list)
    metric_checks: dict[str, tuple[MetricCheck, ...]] = field(default_factory=dict)  # the same
    heartbeat: tuple[tuple[CompiledRule, int], ...] = ()  # with half the rule's timeout, in ms
    geofence: tuple[CompiledRule, ...] = ()
    code_rules: dict[str, list[tuple[CompiledRule, bool]]] = field(default_factory=dict)
    count_codes: dict[str, list[CompiledRule]] = field(default_factory=dict)
    count_metrics: list[tuple[str, tuple[CompiledRule, ...]]] = field(default_factory=list)
    empty: bool = True
    # The metrics some rule of this kind looks at: a reading bringing none of them (most of
    # them: power, light level) is passed over in one set operation.
    watched: frozenset[str] = frozenset()
    # The shortest half-timeout of the kind's heartbeat rules: a reading closer than this to
    # the asset's previous one cannot end a silence.
    shortest_heartbeat_ms: int = 0


class LastSeen:
    """When this process last saw each asset, in milliseconds: an array indexed by asset id
    (8 bytes an asset, about 3 MB for a 340,000-asset city) rather than a dictionary."""

    def __init__(self) -> None:
        self.ms = array("q")

    def swap(self, asset_id: int, ts_ms: int) -> int:
        """Record ``ts_ms`` (if newer) and return what was recorded before (0: never)."""
        store = self.ms
        if asset_id >= len(store):
            store.frombytes(bytes(store.itemsize * (asset_id + 1024 - len(store))))
        before = store[asset_id]
        if ts_ms > before:
            store[asset_id] = ts_ms
        return before


class RuleSet:
    """Every rule, and the enabled ones indexed by asset kind for evaluation."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules: dict[int, Rule] = {r.id: r for r in rules}
        live = [r for r in rules if r.enabled and r.deleted_at is None]
        self.compiled: dict[int, CompiledRule] = {r.id: CompiledRule(r) for r in live}
        self._by_kind: dict[str, KindRules] = {}
        self.last_seen = LastSeen()
        # child rule id → the parent rules that mute it (correlation)
        suppressors: dict[int, list[int]] = {}
        for rule in live:
            for child in rule.suppresses:
                suppressors.setdefault(child, []).append(rule.id)
        self.suppressors: dict[int, tuple[int, ...]] = {k: tuple(v) for k, v in suppressors.items()}
        self.suppressing: frozenset[int] = frozenset(r.id for r in live if r.suppresses)

    def __len__(self) -> int:
        return len(self.compiled)

    def live(self, rule_type: RuleType | None = None) -> list[CompiledRule]:
        return [c for c in self.compiled.values() if rule_type is None or c.rule.type is rule_type]

    def for_kind(self, kind: str) -> KindRules:
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = self._compile_kind(kind)
        return found

    def _compile_kind(self, kind: str) -> KindRules:
        metric: dict[str, list[MetricCheck]] = {}
        heartbeat: list[tuple[CompiledRule, int]] = []
        geofence: list[CompiledRule] = []
        codes: dict[str, list[tuple[CompiledRule, bool]]] = {}
        count_codes: dict[str, list[CompiledRule]] = {}
        count_metrics: dict[str, list[CompiledRule]] = {}
        for compiled in self.compiled.values():
            rule = compiled.rule
            if rule.kinds and kind not in rule.kinds:
                continue
            p = rule.params
            if isinstance(p, ThresholdParams):
                metric.setdefault(p.metric, []).append(_metric_check(compiled))
            elif isinstance(p, StateParams):
                if p.metric is not None:
                    metric.setdefault(p.metric, []).append(_metric_check(compiled))
                else:
                    assert p.code is not None
                    codes.setdefault(p.code, []).append((compiled, True))
                    if p.clear_code is not None:
                        codes.setdefault(p.clear_code, []).append((compiled, False))
            elif isinstance(p, HeartbeatParams):
                heartbeat.append((compiled, p.timeout_ms // 2))
            elif isinstance(p, GeofenceParams):
                geofence.append(compiled)
            elif p.code is not None:
                count_codes.setdefault(p.code, []).append(compiled)
            else:
                assert p.metric is not None
                count_metrics.setdefault(p.metric, []).append(compiled)
        found = KindRules(
            metric_rules=[(m, tuple(rs)) for m, rs in metric.items()],
            metric_checks={m: tuple(rs) for m, rs in metric.items()},
            heartbeat=tuple(heartbeat),
            geofence=tuple(geofence),
            code_rules=codes,
            count_codes=count_codes,
            count_metrics=[(m, tuple(rs)) for m, rs in count_metrics.items()],
        )
        found.empty = not (metric or heartbeat or geofence or codes or count_codes or count_metrics)
        found.watched = frozenset(metric) | frozenset(count_metrics)
        found.shortest_heartbeat_ms = min((half for _, half in heartbeat), default=0)
        return found

    def evaluate(self, changes: Sequence[Change]) -> Evaluation:
        """The findings of one batch, proportional to the changes and to the few rules that
        watch what each change brought.

        A condition that holds is always reported (the services make sure its alarm exists).
        A condition that is over is reported only at its edge — when the asset's previous value
        did not already say "over", or on the first reading after a silence for heartbeats —
        since only then can an alarm be open to clear. Steady normal readings, the bulk of the
        traffic, therefore cost the database nothing. (``services.check_timers`` re-judges the
        open alarms periodically, which covers what an edge seen by another worker missed.)
        """
        result = Evaluation()
        append = result.findings.append
        by_kind = self._by_kind
        last_seen = self.last_seen
        store = last_seen.ms
        # A batch is mostly of one kind: its rules are looked up when the kind changes.
        kind_of_rules: str | None = None
        rules = KindRules()
        watched: frozenset[str] = frozenset()
        heartbeat: tuple[tuple[CompiledRule, int], ...] = ()
        shortest_heartbeat_ms = 0
        for asset, ts_ms, values, previous, _before, _after, events in changes:
            if asset.kind is not kind_of_rules:
                kind_of_rules = asset.kind
                rules = by_kind.get(kind_of_rules) or self.for_kind(kind_of_rules)
                watched, heartbeat = rules.watched, rules.heartbeat
                shortest_heartbeat_ms = rules.shortest_heartbeat_ms
            if rules.empty:
                continue
            if not watched.isdisjoint(values):
                self._readings(asset, ts_ms, values, previous, rules, result)
            if heartbeat:
                # Any reading proves the asset alive; an alarm can only be open after a silence.
                asset_id = asset.id
                if asset_id < len(store):
                    last = store[asset_id]
                    if ts_ms > last:
                        store[asset_id] = ts_ms
                else:
                    last = last_seen.swap(asset_id, ts_ms)
                if not last or ts_ms - last >= shortest_heartbeat_ms:
                    for compiled, half_timeout_ms in heartbeat:
                        if (not last or ts_ms - last >= half_timeout_ms) and (
                            not compiled.scoped or compiled.covers(asset)
                        ):
                            append(Finding(compiled, asset, False, ts_ms))
            if rules.geofence:
                self._positions(asset, ts_ms, values, previous, rules, result)
            if events:
                self._events(asset, ts_ms, events, rules, result)
        return result

    @staticmethod
    def _readings(
        asset: AssetLike,
        ts_ms: int,
        values: Mapping[str, float],
        previous: Mapping[str, float],
        rules: KindRules,
        result: Evaluation,
    ) -> None:
        """The threshold and count rules on the metrics a reading brought."""
        append = result.findings.append
        # A reading brings a few metrics, of which rules watch fewer still: look each brought
        # metric up, rather than each watched metric.
        checks_of = rules.metric_checks
        for metric, value in values.items():
            checks = checks_of.get(metric)
            if checks is None:
                continue
            before = previous.get(metric)
            for compiled, op, raise_at, clear_at in checks:
                if compiled.scoped and not compiled.covers(asset):
                    continue
                if op == EQUALS:
                    if value == raise_at:
                        append(Finding(compiled, asset, True, ts_ms, value))
                    elif before is None or before == raise_at:
                        append(Finding(compiled, asset, False, ts_ms, value))
                elif op == ABOVE:
                    if value > raise_at:
                        append(Finding(compiled, asset, True, ts_ms, value))
                    elif value < clear_at and (before is None or before >= clear_at):
                        append(Finding(compiled, asset, False, ts_ms, value))
                elif value < raise_at:
                    append(Finding(compiled, asset, True, ts_ms, value))
                elif value > clear_at and (before is None or before <= clear_at):
                    append(Finding(compiled, asset, False, ts_ms, value))
        for metric, compiled_rules in rules.count_metrics:
            if values.get(metric) == 1.0 and previous.get(metric) != 1.0:
                for compiled in compiled_rules:
                    if not compiled.scoped or compiled.covers(asset):
                        result.counts.append(CountTrigger(compiled, asset, ts_ms))

    @staticmethod
    def _positions(
        asset: AssetLike,
        ts_ms: int,
        values: Mapping[str, float],
        previous: Mapping[str, float],
        rules: KindRules,
        result: Evaluation,
    ) -> None:
        lon, lat = values.get("position_lon"), values.get("position_lat")
        if lon is None or lat is None:
            return
        before_lon, before_lat = previous.get("position_lon"), previous.get("position_lat")
        for compiled in rules.geofence:
            if compiled.scoped and not compiled.covers(asset):
                continue
            if not compiled.inside(lon, lat):
                result.findings.append(Finding(compiled, asset, True, ts_ms))
            elif (
                before_lon is None
                or before_lat is None
                or not compiled.inside(before_lon, before_lat)
            ):
                result.findings.append(Finding(compiled, asset, False, ts_ms))

    @staticmethod
    def _events(
        asset: AssetLike, ts_ms: int, events: tuple[str, ...], rules: KindRules, result: Evaluation
    ) -> None:
        decided: dict[int, tuple[CompiledRule, bool]] = {}
        counted: set[int] = set()
        for code in events:  # in arrival order: the last relevant code decides
            for compiled, raises in rules.code_rules.get(code, ()):
                if not compiled.scoped or compiled.covers(asset):
                    decided[compiled.id] = (compiled, raises)
            for compiled in rules.count_codes.get(code, ()):
                if compiled.id not in counted and (not compiled.scoped or compiled.covers(asset)):
                    counted.add(compiled.id)
                    result.counts.append(CountTrigger(compiled, asset, ts_ms))
        for compiled, raises in decided.values():
            result.findings.append(Finding(compiled, asset, raises, ts_ms))


def condition_from_twin(
    rule: Rule,
    values: Mapping[str, float],
    last_seen_ms: int | None,
    now_ms: int,
    *,
    active: bool = True,
) -> bool | None:
    """Whether a rule's condition holds now, judged from an asset's twin (its latest values and
    when it was last heard); None when the twin cannot tell (events, counts: the services
    decide). Used to re-evaluate children when their parent's alarm clears."""
    p = rule.params
    if isinstance(p, ThresholdParams):
        value = values.get(p.metric)
        return None if value is None else hysteresis_step(active, p, value)
    if isinstance(p, StateParams):
        if p.metric is None:
            return None
        value = values.get(p.metric)
        return None if value is None else value == p.target
    if isinstance(p, HeartbeatParams):
        return last_seen_ms is None or now_ms - last_seen_ms > p.timeout_ms
    if isinstance(p, GeofenceParams):
        lon, lat = values.get("position_lon"), values.get("position_lat")
        if lon is None or lat is None:
            return None
        zone = p.geometry()
        return not bool(shapely.contains_xy(zone, lon, lat))
    return None
