"""Routing: which team is responsible for a case. Pure.

Rules are tried in their ``order`` (ties in the order given); the first enabled rule whose every
criterion matches names the team. A criterion left empty does not restrict. When nothing
matches, the case goes to the default queue, where an operator triages it. ``explain`` gives,
for every rule, whether it matched and which criteria did not, for
``POST /api/v1/routing/explain``.

Times of day and days of the week are Europe/Paris local time, whatever the offset of the
instant given (so a rule "08:00–18:00" follows the clock across daylight-saving changes). A
window spanning midnight (``20:00``–``06:00``) belongs to the day it starts: with days
``["fri"]`` it covers Friday 20:00 to Saturday 06:00, as an on-call rota reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from metropilot.shared.errors import InvalidInput, Problem

__all__ = [
    "DAYS",
    "DEFAULT_QUEUE_TEAM",
    "LOCAL_TIME",
    "CaseFacts",
    "Criterion",
    "CriterionFailure",
    "RoutingDecision",
    "RoutingExplanation",
    "RoutingRule",
    "RuleVerdict",
    "TimeWindow",
    "explain",
    "parse_routing_rule",
    "route",
]

LOCAL_TIME: Final = ZoneInfo("Europe/Paris")
# The team code of the command post's triage queue: where a case goes when no rule matches.
DEFAULT_QUEUE_TEAM: Final = "command-post"
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()

_HHMM = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")
_INSEE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_TEAM_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")  # as accounts.model validates team codes
_MINUTES_PER_DAY = 24 * 60
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NAMES = {day: day for day in DAYS} | {full: full[:3] for full in _FULL_DAYS}


def _minutes(value: str) -> int:
    match = _HHMM.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 24:00)")
    minutes = int(match[1]) * 60 + int(match[2])
    if minutes > _MINUTES_PER_DAY:
        raise ValueError(f"{value!r} is past 24:00")
    return minutes


class TimeWindow(BaseModel):
    """From ``start`` (included) to ``end`` (excluded), local time; ``end`` before ``start``
    spans midnight. ``24:00`` may end a window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        _minutes(value)
        return value.strip()

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start_minute == _MINUTES_PER_DAY:
            raise ValueError("a window cannot start at 24:00; start at 00:00")
        if self.start_minute == self.end_minute % _MINUTES_PER_DAY:
            raise ValueError(
                f"the window {self.start}–{self.end} is empty or the whole day; "
                "leave time_windows empty for the whole day"
            )
        return self

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end)

    @property
    def spans_midnight(self) -> bool:
        return self.end_minute < self.start_minute

    def started_on(self, local: datetime) -> int | None:
        """If ``local`` falls in the window, the weekday (0 = Monday) the window started on."""
        minute = local.hour * 60 + local.minute
        if not self.spans_midnight:
            return local.weekday() if self.start_minute <= minute < self.end_minute else None
        if minute >= self.start_minute:
            return local.weekday()
        if minute < self.end_minute:
            return (local.weekday() - 1) % 7
        return None

    def label(self) -> str:
        return f"{self.start}–{self.end}"


class RoutingRule(BaseModel):
    """One routing rule, as people write it; an empty criterion does not restrict."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: int | None = None
    order: int = Field(ge=0, le=1_000_000)
    name: str = Field(min_length=1, max_length=120)
    categories: tuple[str, ...] = Field(default=(), max_length=200)
    asset_kinds: tuple[str, ...] = Field(default=(), max_length=50)
    communes: tuple[str, ...] = Field(default=(), max_length=200)  # INSEE codes
    time_windows: tuple[TimeWindow, ...] = Field(default=(), max_length=20)
    days: tuple[str, ...] = Field(default=(), max_length=7)  # mon … sun
    team: str
    enabled: bool = True

    @field_validator("categories", "asset_kinds")
    @classmethod
    def _codes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not _CODE.match(value):
                raise ValueError(
                    f"{value!r} is not a code (lowercase letters, digits, '-' and '_')"
                )
        return _unique(values)

    @field_validator("communes")
    @classmethod
    def _communes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not _INSEE.match(value):
                raise ValueError(f"{value!r} is not an INSEE commune code (5 characters)")
        return _unique(values)

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, values: Any) -> Any:
        if not isinstance(values, list | tuple):
            return values
        days = set()
        for value in values:
            day = _DAY_NAMES.get(value.strip().lower()) if isinstance(value, str) else None
            if day is None:
                raise ValueError(f"{value!r} is not a day; use {', '.join(DAYS)}")
            days.add(day)
        return tuple(sorted(days, key=DAYS.index))

    @field_validator("time_windows", mode="before")
    @classmethod
    def _windows(cls, values: Any) -> Any:
        # "20:00-06:00" is accepted as a shorthand for {"start": "20:00", "end": "06:00"}.
        if not isinstance(values, list | tuple):
            return values
        parsed: list[Any] = []
        for value in values:
            if isinstance(value, str):
                start, sep, end = value.replace("–", "-").partition("-")
                if not sep:
                    raise ValueError(f"{value!r} is not a window; write 20:00-06:00")
                parsed.append({"start": start.strip(), "end": end.strip()})
            else:
                parsed.append(value)
        return parsed

    @field_validator("team")
    @classmethod
    def _team(cls, value: str) -> str:
        if not _TEAM_CODE.match(value):
            raise ValueError(
                f"{value!r} is not a team code (2-63 lowercase letters, digits or dashes)"
            )
        return value

    def spec_dict(self) -> dict[str, Any]:
        """The rule as the dictionary ``parse_routing_rule`` reads (without its id)."""
        return self.model_dump(mode="json", exclude={"id"})


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def parse_routing_rule(spec: Mapping[str, Any], *, rule_id: int | None = None) -> RoutingRule:
    """Validate a rule's definition; every problem names its field."""
    data = dict(spec)
    if rule_id is not None:
        data["id"] = rule_id
    try:
        return RoutingRule.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"]) or "body"
            problems.append(Problem(loc, str(err["msg"]).removeprefix("Value error, ")))
        summary = "; ".join(f"{p['loc']}: {p['message']}" for p in problems[:5])
        raise InvalidInput(
            f"invalid routing rule: {summary}", details=problems, code="invalid_routing_rule"
        ) from None


# --- deciding ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What routing looks at in a case."""

    category: str
    asset_kind: str | None = None
    commune_insee: str | None = None


class Criterion(StrEnum):
    ENABLED = "enabled"
    CATEGORIES = "categories"
    ASSET_KINDS = "asset_kinds"
    COMMUNES = "communes"
    TIME_OF_DAY = "time_of_day"
    DAYS = "days"


@dataclass(frozen=True, slots=True)
class CriterionFailure:
    criterion: Criterion
    message: str


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    team: str
    rule: RoutingRule | None  # None: the default queue
    reason: str

    @property
    def default(self) -> bool:
        return self.rule is None


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    rule: RoutingRule
    # Every criterion holds (whether or not the rule is enabled).
    matches: bool
    chosen: bool
    # Each criterion that does not hold, ``enabled`` first when the rule is disabled.
    failures: tuple[CriterionFailure, ...]


@dataclass(frozen=True, slots=True)
class RoutingExplanation:
    decision: RoutingDecision
    local_time: datetime
    verdicts: tuple[RuleVerdict, ...]


def _local(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(
            "the routing time must carry its UTC offset (a timezone-aware time)",
            code="naive_datetime",
        )
    return at.astimezone(LOCAL_TIME)


def _in_order(rules: Sequence[RoutingRule]) -> list[RoutingRule]:
    return sorted(rules, key=lambda r: r.order)  # stable: ties keep the order given


def _failures(rule: RoutingRule, facts: CaseFacts, local: datetime) -> list[CriterionFailure]:
    failures = []
    if rule.categories and facts.category not in rule.categories:
        failures.append(
            CriterionFailure(
                Criterion.CATEGORIES,
                f"category {facts.category!r} is not one of {', '.join(rule.categories)}",
            )
        )
    if rule.asset_kinds and facts.asset_kind not in rule.asset_kinds:
        what = f"asset kind {facts.asset_kind!r}" if facts.asset_kind else "the case has no asset"
        failures.append(
            CriterionFailure(
                Criterion.ASSET_KINDS, f"{what}, not one of {', '.join(rule.asset_kinds)}"
            )
        )
    if rule.communes and facts.commune_insee not in rule.communes:
        what = f"commune {facts.commune_insee}" if facts.commune_insee else "no commune"
        failures.append(
            CriterionFailure(Criterion.COMMUNES, f"{what}, not one of {', '.join(rule.communes)}")
        )
    clock = local.strftime("%H:%M")
    day = DAYS[local.weekday()]
    if rule.time_windows:
        started = [w.started_on(local) for w in rule.time_windows]
        in_window = [d for d in started if d is not None]
        windows = ", ".join(w.label() for w in rule.time_windows)
        if not in_window:
            failures.append(
                CriterionFailure(Criterion.TIME_OF_DAY, f"{clock} local is outside {windows}")
            )
        elif rule.days and not any(DAYS[d] in rule.days for d in in_window):
            started_days = ", ".join(sorted({DAYS[d] for d in in_window}, key=DAYS.index))
            failures.append(
                CriterionFailure(
                    Criterion.DAYS,
                    f"{day} {clock} local falls in a window started on {started_days}, "
                    f"not one of {', '.join(rule.days)}",
                )
            )
    elif rule.days and day not in rule.days:
        failures.append(
            CriterionFailure(Criterion.DAYS, f"{day} is not one of {', '.join(rule.days)}")
        )
    return failures


def _why(rule: RoutingRule, facts: CaseFacts, local: datetime) -> str:
    held = []
    if rule.categories:
        held.append(f"category {facts.category}")
    if rule.asset_kinds:
        held.append(f"asset kind {facts.asset_kind}")
    if rule.communes:
        held.append(f"commune {facts.commune_insee}")
    if rule.time_windows or rule.days:
        held.append(f"{DAYS[local.weekday()]} {local.strftime('%H:%M')} local")
    matched = ", ".join(held) if held else "it matches every case"
    return f"rule {rule.order} {rule.name!r} → {rule.team}: {matched}"


def _decide(
    ordered: Sequence[RoutingRule],
    failures: Sequence[Sequence[CriterionFailure]],
    facts: CaseFacts,
    local: datetime,
    default_team: str,
) -> RoutingDecision:
    for rule, failed in zip(ordered, failures, strict=True):
        if rule.enabled and not failed:
            return RoutingDecision(team=rule.team, rule=rule, reason=_why(rule, facts, local))
    return _default(default_team)


def _default(default_team: str) -> RoutingDecision:
    return RoutingDecision(
        team=default_team,
        rule=None,
        reason=f"no enabled rule matches: the default queue {default_team}",
    )


def route(
    rules: Sequence[RoutingRule],
    facts: CaseFacts,
    at: datetime,
    *,
    default_team: str = DEFAULT_QUEUE_TEAM,
) -> RoutingDecision:
    """The first enabled rule, by ``order``, whose every criterion matches; else the default
    queue. ``at`` must be timezone-aware."""
    local = _local(at)
    ordered = _in_order(rules)
    for rule in ordered:
        if rule.enabled and not _failures(rule, facts, local):
            return RoutingDecision(team=rule.team, rule=rule, reason=_why(rule, facts, local))
    return _default(default_team)


def explain(
    rules: Sequence[RoutingRule],
    facts: CaseFacts,
    at: datetime,
    *,
    default_team: str = DEFAULT_QUEUE_TEAM,
) -> RoutingExplanation:
    """Every rule, in the order they are tried, with whether it matches and, when not, each
    criterion that fails; and the decision ``route`` takes."""
    local = _local(at)
    ordered = _in_order(rules)
    failures = [_failures(rule, facts, local) for rule in ordered]
    decision = _decide(ordered, failures, facts, local, default_team)
    verdicts = []
    for rule, failed in zip(ordered, failures, strict=True):
        disabled = (
            [CriterionFailure(Criterion.ENABLED, "the rule is disabled")]
            if not rule.enabled
            else []
        )
        verdicts.append(
            RuleVerdict(
                rule=rule,
                matches=not failed,
                chosen=decision.rule is rule,
                failures=(*disabled, *failed),
            )
        )
    return RoutingExplanation(decision=decision, local_time=local, verdicts=tuple(verdicts))
