"""Cases and work orders: their states, who may move them, the events they emit, and the chain
timeline. Pure.

A *case* is what the command post handles: opened from an alarm, a citizen report, an operator
or a field agent, triaged (category, priority, responsible team), then worked through one or
more *work orders* sent to a team — a metropolitan service, a commune service or a contractor.
The state machines below are the only source of what may happen: every service moves a case or
an order with ``transition_case`` / ``transition_work_order``, which say no with a precise error.

A case follows its orders: ``case_follow_up`` says what an order's change does to its case (an
accepted order puts it in progress, a verified one resolves it, the last order refused sends it
back to triage). ``chain_durations`` measures, from the recorded timeline, how long each link of
the chain detection → triage → dispatch → acceptance → on site → done → citizen informed took.
"""

from __future__ import annotations

from metropilot.cases.model.cases import (
    CASE_ACTION_ROLES,
    CASE_REASON_REQUIRED,
    CASE_TRANSITIONS,
    FINAL_CASE_STATES,
    MAX_REASON,
    OPEN_CASE_STATES,
    TRIAGE_QUEUE_STATES,
    ActorRole,
    Assignee,
    Case,
    CaseAction,
    CaseOrigin,
    CaseState,
    Priority,
    actor_role,
    parse_case_state,
    parse_priority,
    transition_case,
)
from metropilot.cases.model.events import (
    CaseCancelled,
    CaseClosed,
    CaseConcluded,
    CaseEvent,
    CaseOpened,
    CaseReopened,
    CaseResolved,
    CaseRouted,
    CaseStateChanged,
    CaseTriaged,
    WorkOrderAccepted,
    WorkOrderCancelled,
    WorkOrderCompleted,
    WorkOrderDispatched,
    WorkOrderEvent,
    WorkOrderRefused,
    WorkOrderRejected,
    WorkOrderSlaAlert,
    WorkOrderStateChanged,
    WorkOrderVerified,
)
from metropilot.cases.model.timeline import (
    CHAIN_STEPS,
    ChainDurations,
    ChainLink,
    Milestone,
    TimelineEntry,
    chain_durations,
)
from metropilot.cases.model.work_orders import (
    FINAL_WORK_ORDER_STATES,
    LIVE_WORK_ORDER_STATES,
    SETTLED_WORK_ORDER_STATES,
    WORK_ORDER_ACTION_ROLES,
    WORK_ORDER_REASON_REQUIRED,
    WORK_ORDER_TRANSITIONS,
    WorkOrder,
    WorkOrderAction,
    WorkOrderState,
    case_follow_up,
    case_state_after_orders,
    parse_work_order_state,
    transition_work_order,
)

__all__ = [
    "CASE_ACTION_ROLES",
    "CASE_REASON_REQUIRED",
    "CASE_TRANSITIONS",
    "CHAIN_STEPS",
    "FINAL_CASE_STATES",
    "FINAL_WORK_ORDER_STATES",
    "LIVE_WORK_ORDER_STATES",
    "MAX_REASON",
    "OPEN_CASE_STATES",
    "SETTLED_WORK_ORDER_STATES",
    "TRIAGE_QUEUE_STATES",
    "WORK_ORDER_ACTION_ROLES",
    "WORK_ORDER_REASON_REQUIRED",
    "WORK_ORDER_TRANSITIONS",
    "ActorRole",
    "Assignee",
    "Case",
    "CaseAction",
    "CaseCancelled",
    "CaseClosed",
    "CaseConcluded",
    "CaseEvent",
    "CaseOpened",
    "CaseOrigin",
    "CaseReopened",
    "CaseResolved",
    "CaseRouted",
    "CaseState",
    "CaseStateChanged",
    "CaseTriaged",
    "ChainDurations",
    "ChainLink",
    "Milestone",
    "Priority",
    "TimelineEntry",
    "WorkOrder",
    "WorkOrderAccepted",
    "WorkOrderAction",
    "WorkOrderCancelled",
    "WorkOrderCompleted",
    "WorkOrderDispatched",
    "WorkOrderEvent",
    "WorkOrderRefused",
    "WorkOrderRejected",
    "WorkOrderSlaAlert",
    "WorkOrderState",
    "WorkOrderStateChanged",
    "WorkOrderVerified",
    "actor_role",
    "case_follow_up",
    "case_state_after_orders",
    "chain_durations",
    "parse_case_state",
    "parse_priority",
    "parse_work_order_state",
    "transition_case",
    "transition_work_order",
]
