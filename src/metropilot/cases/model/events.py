"""What cases and work orders tell the rest of the platform. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from metropilot.shared.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CaseEvent(DomainEvent):
    """What every case and work-order event carries, so a subscriber and the live stream can
    scope it without reading the case back: the asset and its kind, the commune, the responsible
    team with its organisation and sector. ``organisation_id`` is the responsible team's
    organisation: the stream scopes a contractor's view by it (a journal mapper sets the
    maintainer column from it when known, else lets the registry say who maintains the asset).
    The ``actor_*`` fields say who acted, for the chain timeline."""

    case_id: int
    category: str
    priority: str
    state: str
    asset_id: int | None = None
    kind: str | None = None  # the asset's kind
    commune_insee: str | None = None
    team: str | None = None
    organisation: str | None = None
    organisation_id: int | None = None
    sector: str | None = None
    actor: str = ""
    actor_organisation: str | None = None
    actor_sector: str | None = None


@dataclass(frozen=True, kw_only=True)
class CaseOpened(CaseEvent):
    origin: str
    alarm_ids: tuple[int, ...] = ()
    report_ids: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CaseTriaged(CaseEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class CaseRouted(CaseEvent):
    """The responsible team was chosen (or changed, e.g. with the category): by which rule
    (``None``: the default queue, or an operator's choice) and why."""

    rule_id: int | None
    rule_name: str | None
    reason: str
    previous_team: str | None = None


@dataclass(frozen=True, kw_only=True)
class CaseStateChanged(CaseEvent):
    """Any other move of a case (dispatched, in progress, paused, resumed, back to triage)."""

    previous: str
    action: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CaseConcluded(CaseEvent):
    """A case reached an end (resolved, closed, cancelled) or came back from one (reopened),
    with what its reports and alarms need to follow it without reading the case back: their
    ids, and (in the subclasses) what the citizens may read of why."""

    previous: str
    alarm_ids: tuple[int, ...] = ()
    report_ids: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CaseResolved(CaseConcluded):
    """The work was verified (or an operator resolved the case): its open citizen reports
    become fixed, and its alarms on equipment that is not connected clear. ``occurred_at`` is
    when the case was resolved."""

    work_order_id: int | None = None  # the verified order that resolved it, if any
    note: str = ""  # what was done, as the reporters read it


@dataclass(frozen=True, kw_only=True)
class CaseClosed(CaseConcluded):
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CaseCancelled(CaseConcluded):
    reason: str


@dataclass(frozen=True, kw_only=True)
class CaseReopened(CaseConcluded):
    reason: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderEvent(CaseEvent):
    """A work order's event; ``state`` is the order's, ``case_state`` its case's."""

    work_order_id: int
    case_state: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderDispatched(WorkOrderEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class WorkOrderAccepted(WorkOrderEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class WorkOrderRefused(WorkOrderEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderStateChanged(WorkOrderEvent):
    """The team's progress (en route, on site) and closing."""

    previous: str
    action: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderCompleted(WorkOrderEvent):
    note: str
    photos: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class WorkOrderVerified(WorkOrderEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class WorkOrderRejected(WorkOrderEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderSlaAlert(WorkOrderEvent):
    """A deadline of a work order: 80% of its time is gone (``warning``), or it passed
    (``breach``). ``deadline`` is ``response`` (the team has not accepted yet) or
    ``resolution`` (the work is not done yet)."""

    deadline: str
    level: str
    due_at: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderCancelled(WorkOrderEvent):
    previous: str
    reason: str
