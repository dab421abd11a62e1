"""What the alarms' use cases share: the rules actor, the compiled rules each process caches, the
fields every alarm event carries, and exact millisecond times."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from metropilot.alarms import repository
from metropilot.alarms.model import Alarm, GeofenceParams, Rule
from metropilot.alarms.rules import RuleSet
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor, ActorKind

RULES_ACTOR = Actor(ActorKind.SYSTEM, "rules", sector="public")


def epoch_ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def at_ms(ms: int) -> datetime:
    """Exact: an alarm's observed_at must give back the very millisecond it was made from."""
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)


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


def metrics_of(rules: Sequence[Rule]) -> set[str]:
    """The metrics a re-evaluation of these rules reads from the twin."""
    found: set[str] = set()
    for rule in rules:
        if isinstance(rule.params, GeofenceParams):
            found |= {"position_lon", "position_lat"}
        elif (metric := getattr(rule.params, "metric", None)) is not None:
            found.add(metric)
    return found


def alarm_event_fields(alarm: Alarm, actor: Actor) -> dict[str, Any]:
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
