"""Rules and alarms use cases: manage rules, react to telemetry, and follow alarms to the end.

Three kinds of callers change alarms, all through this package:

- the ingest pipeline, once per batch and inside its transaction, through ``AlarmEngine``
  (``engine``, a ``BatchObserver``): the pure engine (``alarms.rules``) turns the batch into
  findings, reconciled with the stored alarms in a few set-based queries (``raising``,
  ``clearing``);
- the scheduler, through ``check_timers`` (``timers``: silence, held conditions, count windows
  running out, inhibitions lifted) and ``escalate`` (``escalation``: alarms left unacknowledged);
- people, through ``acknowledge``, ``clear``, ``assign`` and ``comment`` (``handling``); rules
  are administered in ``rule_admin``, alarms read in ``reading``.

Every change is audited and announced (``AlarmRaised``, ``AlarmAcknowledged``, ``AlarmCleared``,
``AlarmEscalated``, published after the commit). Correlation: while a parent asset has an open
alarm of a rule that *suppresses* others (a cabinet's supply loss), the alarms its children raise
for those rules are stored but muted (``suppressed_by``), and re-evaluated from their twin when
the parent's alarm clears. Flapping: a condition that returns within the rule's flap window
reopens the alarm it had (counting ``flaps``) instead of making a new one.
"""

from __future__ import annotations

from metropilot.alarms.model import (
    AlarmAcknowledged,
    AlarmCleared,
    AlarmEscalated,
    AlarmEvent,
    AlarmRaised,
)
from metropilot.alarms.repository import AlarmFilter
from metropilot.alarms.services.common import RULES, RULES_ACTOR, RuleCache
from metropilot.alarms.services.engine import AlarmEngine, EngineStats
from metropilot.alarms.services.escalation import escalate
from metropilot.alarms.services.handling import acknowledge, assign, clear, comment
from metropilot.alarms.services.reading import alarm_detail, get_alarm, list_alarms, open_counts
from metropilot.alarms.services.rule_admin import (
    create_rule,
    delete_rule,
    get_rule,
    install_default_rules,
    list_rules,
    update_rule,
)
from metropilot.alarms.services.timers import TimerReport, check_heartbeats, check_timers

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
    "BatchReport",
    "EngineStats",
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
