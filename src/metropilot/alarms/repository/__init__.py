"""Storage of rules, alarms, their comments, and the conditions the engine is holding.

At most one open alarm per (asset, rule) is the database's promise as well as the engine's: an
alarm carries ``active_key = "<asset>:<rule>"`` while it is open and NULL once cleared, under a
unique constraint (several NULLs are allowed by SQLite and PostgreSQL alike), and raising is an
``INSERT … ON CONFLICT DO NOTHING``, so two workers racing on the same fault make one alarm.

The engine's per-batch lookups pass the batch's asset ids as one parameter (a JSON array that
SQLite unpacks with ``json_each``, a PostgreSQL array with ``= ANY``): binding ten thousand
placeholders one by one would cost more than the lookup itself.
"""

from __future__ import annotations

from metropilot.alarms.repository.conditions import (
    conditions_of_rule,
    drop_conditions,
    drop_conditions_of_rule,
    due_conditions,
    hold_conditions,
    inhibit,
    inhibitions,
)
from metropilot.alarms.repository.engine import (
    OpenAlarm,
    clear_open,
    conditions_of,
    insert_alarms,
    link_open_children,
    muted_children,
    open_alarms_of,
    open_alarms_of_rules,
    open_parent_alarms,
    recently_cleared,
    reopen_alarms,
    update_alarm,
)
from metropilot.alarms.repository.facts import (
    AssetFacts,
    asset_facts,
    count_events,
    escalation_due,
    latest_readings,
    metric_since,
    newest_seen_ms,
    silent_assets,
    twins_of,
)
from metropilot.alarms.repository.reading import (
    AlarmFilter,
    children_of,
    comments_of,
    count_open,
    get_alarm,
    get_alarms,
    insert_comment,
    list_alarms,
)
from metropilot.alarms.repository.rule_store import (
    existing_rule_ids,
    get_rule,
    insert_rule,
    list_rules,
    rule_ids_by_code,
    rules_token,
    update_rule,
)
from metropilot.alarms.repository.tables import (
    INHIBITED,
    PENDING,
    active_key,
    alarm_comments,
    alarm_conditions,
    alarm_rules,
    alarms,
)

__all__ = [
    "INHIBITED",
    "PENDING",
    "AlarmFilter",
    "AssetFacts",
    "OpenAlarm",
    "active_key",
    "alarm_comments",
    "alarm_conditions",
    "alarm_rules",
    "alarms",
    "asset_facts",
    "children_of",
    "clear_open",
    "comments_of",
    "conditions_of",
    "conditions_of_rule",
    "count_events",
    "count_open",
    "drop_conditions",
    "drop_conditions_of_rule",
    "due_conditions",
    "escalation_due",
    "existing_rule_ids",
    "get_alarm",
    "get_alarms",
    "get_rule",
    "hold_conditions",
    "inhibit",
    "inhibitions",
    "insert_alarms",
    "insert_comment",
    "insert_rule",
    "latest_readings",
    "link_open_children",
    "list_alarms",
    "list_rules",
    "metric_since",
    "muted_children",
    "newest_seen_ms",
    "open_alarms_of",
    "open_alarms_of_rules",
    "open_parent_alarms",
    "recently_cleared",
    "reopen_alarms",
    "rule_ids_by_code",
    "rules_token",
    "silent_assets",
    "twins_of",
    "update_alarm",
    "update_rule",
]
