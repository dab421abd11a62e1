"""Cases: opened from alarms and citizen reports (or by hand), routed to the responsible team by
ordered rules, triaged, worked through work orders on their teams' SLA clocks, and recorded step
by step on the chain timeline.

One module per thing managed: ``opening`` (by hand, for alarms and reports), ``triage``,
``routing`` (the rules, the team a decision names), ``work_orders`` (dispatch, the teams' steps,
photos; a case follows its orders), ``moves`` (the command post's own moves of a case), ``sla``
(targets, deadlines, their announcements), ``procedures``, and ``reading`` (cases, work orders,
timelines, chain statistics). A case's end reaches its reports and alarms through its events
(``CaseResolved``), subscribed in ``cases.wiring``.
"""

from __future__ import annotations

from metropilot.cases.services.moves import move_case
from metropilot.cases.services.opening import (
    SEVERITY_PRIORITY,
    RaisedAlarm,
    open_case,
    open_for_alarm,
    open_for_raised_alarm,
    open_for_report,
    open_pending,
)
from metropilot.cases.services.procedures import (
    delete_procedure,
    get_procedure,
    list_procedures,
    put_procedure,
)
from metropilot.cases.services.reading import (
    CaseQuery,
    CaseTimeline,
    case_of_report,
    case_timeline,
    chain_stats,
    get_case,
    get_work_order,
    query_cases,
    query_work_orders,
    work_order_deadlines,
)
from metropilot.cases.services.routing import (
    create_rule,
    delete_rule,
    explain_routing,
    list_rules,
    update_rule,
)
from metropilot.cases.services.sla import (
    DEFAULT_SLA,
    announce_deadlines,
    list_sla_policies,
    put_sla_policy,
)
from metropilot.cases.services.triage import triage
from metropilot.cases.services.work_orders import (
    MAX_ORDER_PHOTOS,
    act,
    attach_order_photos,
    dispatch,
)

__all__ = [
    "DEFAULT_SLA",
    "MAX_ORDER_PHOTOS",
    "SEVERITY_PRIORITY",
    "CaseQuery",
    "CaseTimeline",
    "RaisedAlarm",
    "act",
    "announce_deadlines",
    "attach_order_photos",
    "case_of_report",
    "case_timeline",
    "chain_stats",
    "create_rule",
    "delete_procedure",
    "delete_rule",
    "dispatch",
    "explain_routing",
    "get_case",
    "get_procedure",
    "get_work_order",
    "list_procedures",
    "list_rules",
    "list_sla_policies",
    "move_case",
    "open_case",
    "open_for_alarm",
    "open_for_raised_alarm",
    "open_for_report",
    "open_pending",
    "put_procedure",
    "put_sla_policy",
    "query_cases",
    "query_work_orders",
    "triage",
    "update_rule",
    "work_order_deadlines",
]
