"""Administering rules: create, change, retire, install the defaults; the open alarms a rule no
longer justifies clear."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from metropilot.alarms import repository
from metropilot.alarms.defaults import DEFAULT_RULES, ZONE_PLACEHOLDER, metropolis_zone
from metropilot.alarms.model import (
    ClearReason,
    CountParams,
    Rule,
    RuleParams,
    RuleSpec,
    ThresholdParams,
    parse_rule_spec,
)
from metropilot.alarms.repository import PENDING
from metropilot.alarms.rules import condition_from_twin
from metropilot.alarms.services.clearing import clear_alarms
from metropilot.alarms.services.common import RULES_ACTOR, epoch_ms, metrics_of
from metropilot.assets.model import AssetKind
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, InvalidInput, NotFound, Problem
from metropilot.telemetry.model import METRICS
from metropilot.territory import services as territory_services


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
    clear_alarms(uow, [a.id for a in opened], now, actor, ClearReason.RULE_CHANGED)


def _revisit_rule_alarms(uow: UnitOfWork, rule: Rule, now: datetime) -> None:
    """After a rule changed: clear its open alarms that it no longer justifies."""
    opened = repository.open_alarms_of_rules(uow.connection, [rule.id])
    if not opened:
        return
    if not rule.enabled:
        clear_alarms(uow, [a.id for a in opened], now, RULES_ACTOR, ClearReason.RULE_CHANGED)
        return
    facts = repository.asset_facts(uow.connection, {a.asset_id for a in opened})
    out_of_scope = [
        a.id
        for a in opened
        if (f := facts.get(a.asset_id)) is None or not rule.covers(f.kind, f.commune, f.id)
    ]
    clear_alarms(uow, out_of_scope, now, RULES_ACTOR, ClearReason.RULE_CHANGED)
    remaining = [a for a in opened if a.id not in set(out_of_scope)]
    values, seen = repository.twins_of(
        uow.connection, {a.asset_id for a in remaining}, metrics_of([rule])
    )
    over = [
        a.id
        for a in remaining
        if condition_from_twin(
            rule, values.get(a.asset_id, {}), seen.get(a.asset_id), epoch_ms(now)
        )
        is False
    ]
    clear_alarms(uow, over, now, RULES_ACTOR, ClearReason.CONDITION_ENDED)


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
