"""The chain timeline of a case, and how long each link of the chain took. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise


class Milestone(StrEnum):
    """What a timeline entry records."""

    DETECTED = "detected"  # the alarm was raised or the report submitted
    OPENED = "opened"  # the case was opened
    ROUTED = "routed"
    TRIAGED = "triaged"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    DONE = "done"
    VERIFIED = "verified"
    REJECTED = "rejected"
    WAITING_THIRD_PARTY = "waiting_third_party"
    RESUMED = "resumed"
    RETURNED_TO_TRIAGE = "returned_to_triage"
    RESOLVED = "resolved"
    CITIZEN_INFORMED = "citizen_informed"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REOPENED = "reopened"
    SLA_WARNING = "sla_warning"  # 80% of a deadline's time gone
    SLA_BREACHED = "sla_breached"  # a deadline passed


# The chain whose links are measured, in order.
CHAIN_STEPS: tuple[Milestone, ...] = (
    Milestone.DETECTED,
    Milestone.TRIAGED,
    Milestone.DISPATCHED,
    Milestone.ACCEPTED,
    Milestone.ON_SITE,
    Milestone.DONE,
    Milestone.CITIZEN_INFORMED,
)
# Entries that send the chain back: counted as loops.
_LOOPS = frozenset(
    {
        Milestone.REFUSED,
        Milestone.REJECTED,
        Milestone.REOPENED,
        Milestone.RETURNED_TO_TRIAGE,
    }
)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened to a case or one of its orders, attributed."""

    at: datetime
    what: Milestone
    actor: str
    organisation: str | None = None
    sector: str | None = None  # "public" or "private"
    work_order_id: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ChainLink:
    """From one step of the chain reached to the next one reached. When steps are missing
    (nobody recorded an acceptance), the link spans them: ``dispatched → on_site``."""

    start: Milestone
    end: Milestone
    started_at: datetime
    ended_at: datetime

    @property
    def duration(self) -> timedelta:
        return self.ended_at - self.started_at

    @property
    def name(self) -> str:
        return f"{self.start.value}→{self.end.value}"

    @property
    def complete(self) -> bool:
        """Whether the link joins two consecutive steps (no step missing in between)."""
        return CHAIN_STEPS.index(self.end) == CHAIN_STEPS.index(self.start) + 1


@dataclass(frozen=True, slots=True)
class ChainDurations:
    links: tuple[ChainLink, ...]
    # From detection to the last chain step reached, reopenings and rework included.
    total: timedelta | None
    # How many times the chain went back: refusals, rejections, returns to triage, reopenings.
    loops: int
    # After a rejection or reopening, the first ``done`` → the last ``done``: the time redoing
    # the work (``None`` without such a loop).
    rework: timedelta | None = None
    missing: tuple[Milestone, ...] = field(default=())


def chain_durations(entries: Sequence[TimelineEntry]) -> ChainDurations:
    """How long each link of the chain took, from a case's timeline (order does not matter).

    What is measured:
    - the first pass through the chain: each step is the first time it was reached *after* the
      previous step reached (so "citizen informed" is the first notice after the work was done,
      not the acknowledgement of the report);
    - detection is the earliest of ``detected`` and ``opened`` (a case opened by an operator
      has no separate detection);
    - a step never reached after its predecessor is missing and the link spans it, so the
      links always add up to the time from detection to the last step of the first pass;
    - a loop before a step is reached counts in the link where it happened: a refusal and the
      re-dispatch that followed lengthen dispatch → acceptance;
    - a loop after the first ``done`` (rejected at verification, case reopened) is not in the
      links: it is in ``rework`` (first ``done`` → last ``done``) and in ``total``.
    """
    ordered = sorted(entries, key=lambda e: e.at)
    step_of = {m: m for m in CHAIN_STEPS} | {Milestone.OPENED: Milestone.DETECTED}
    reached: list[tuple[Milestone, datetime]] = []
    position = -1
    since: datetime | None = None
    for step_index, step in enumerate(CHAIN_STEPS):
        when = next(
            (
                e.at
                for e in ordered
                if step_of.get(e.what) is step and (since is None or e.at >= since)
            ),
            None,
        )
        if when is None:
            continue
        reached.append((step, when))
        position, since = step_index, when
    links = tuple(
        ChainLink(start=a, end=b, started_at=a_at, ended_at=b_at)
        for (a, a_at), (b, b_at) in pairwise(reached)
    )
    reached_steps = {step for step, _ in reached}
    missing = tuple(s for s in CHAIN_STEPS[: position + 1] if s not in reached_steps)
    chain_times = [e.at for e in ordered if e.what in step_of]
    total = None
    if reached and reached[0][0] is Milestone.DETECTED:
        total = max(chain_times) - reached[0][1]
    dones = [e.at for e in ordered if e.what is Milestone.DONE]
    rework = None
    # Two orders done side by side are not rework; a rejection or reopening in between is.
    if dones and any(e.what in _LOOPS and e.at >= dones[0] for e in ordered):
        rework = dones[-1] - dones[0]
    loops = sum(1 for e in ordered if e.what in _LOOPS)
    return ChainDurations(links=links, total=total, loops=loops, rework=rework, missing=missing)
