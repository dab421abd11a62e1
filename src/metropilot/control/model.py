"""Commands to equipment: what may be asked of which kind, by whom, and what is never allowed.

Pure: no database, no broker. A command asks equipment for a *state* (a light level, a junction
mode, a bollard position, a door lock, a camera preset), never for a change relative to the
current one, so sending it twice is harmless: a command whose acknowledgement did not arrive may
be sent again (`Command.may_retry`).

Lifecycle (`CommandStatus`)::

    pending ──sent──► sent ──ack──► acknowledged ──done──► done
       │                │                 └──────failed──► failed
       └────────────────┴──── no answer in time ─────────► timed_out

``done`` and ``failed`` come from the equipment's own report; ``timed_out`` when it said nothing
by the deadline, after the retries. A command is never ``done`` because it was sent: the twin
shows the state the equipment reports, not the one requested.

Junction interlocks (`check_junction`), enforced against the state the junction last reported:

1. a forced green names one of the junction's approaches (1 … its ``approaches``) and lasts at
   most `FORCED_GREEN_MAX_S`, after which the controller returns to its normal plan by itself;
2. a forced green only follows ``all_red`` or ``normal``: from ``flashing_amber``, or from a
   forced green on another approach, the junction must go through ``all_red`` first (the
   clearance that empties the junction before anyone gets green);
3. a junction reporting a controller fault accepts only ``all_red`` and ``flashing_amber``, the
   two fail-safe modes;
4. ``all_red`` and ``flashing_amber`` are always allowed (they can only make it safer).
The controller's own conflict monitor still has the last word; these keep the platform from ever
asking for what it would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from metropilot.shared.errors import Conflict, Forbidden, InvalidInput, Problem
from metropilot.shared.events import DomainEvent

__all__ = [
    "AREA_CONFIRMATION",
    "COMMAND_SPECS",
    "FORCED_GREEN_MAX_S",
    "CommandSpec",
    "CommandStatus",
    "CommandType",
    "CommandsIssued",
    "JunctionMode",
    "ScenarioRolledBack",
    "ScenarioRun",
    "batch_status",
    "check_junction",
    "check_permission",
    "check_reason",
    "parse_command",
    "transition",
]

FORCED_GREEN_MAX_S: Final = 600
MIN_REASON: Final = 5
AREA_CONFIRMATION: Final = "confirm"


class CommandType(StrEnum):
    SET_LIGHT_LEVEL = "set_light_level"
    SWITCH_LIGHT = "switch_light"
    SET_JUNCTION_MODE = "set_junction_mode"
    SET_BOLLARD = "set_bollard"
    SET_DOOR_LOCK = "set_door_lock"
    CAMERA_PRESET = "camera_preset"
    APPLY_DIMMING_PROGRAM = "apply_dimming_program"


class JunctionMode(StrEnum):
    NORMAL = "normal"
    FLASHING_AMBER = "flashing_amber"
    ALL_RED = "all_red"
    FORCED_GREEN = "forced_green"


class CommandStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"
    FAILED = "failed"
    TIMED_OUT = "timed_out"

    @property
    def final(self) -> bool:
        return self in (CommandStatus.DONE, CommandStatus.FAILED, CommandStatus.TIMED_OUT)


# What moves a command on: the platform sends it, the equipment answers, the clock runs out.
_TRANSITIONS: Final[Mapping[tuple[CommandStatus, str], CommandStatus]] = {
    (CommandStatus.PENDING, "send"): CommandStatus.SENT,
    (CommandStatus.SENT, "send"): CommandStatus.SENT,  # a retry
    (CommandStatus.PENDING, "ack"): CommandStatus.ACKNOWLEDGED,
    (CommandStatus.SENT, "ack"): CommandStatus.ACKNOWLEDGED,
    (CommandStatus.ACKNOWLEDGED, "ack"): CommandStatus.ACKNOWLEDGED,  # a retry's second ack
    (CommandStatus.SENT, "done"): CommandStatus.DONE,  # the ack was lost, the result was not
    (CommandStatus.ACKNOWLEDGED, "done"): CommandStatus.DONE,
    (CommandStatus.SENT, "failed"): CommandStatus.FAILED,
    (CommandStatus.ACKNOWLEDGED, "failed"): CommandStatus.FAILED,
    (CommandStatus.PENDING, "timeout"): CommandStatus.TIMED_OUT,
    (CommandStatus.SENT, "timeout"): CommandStatus.TIMED_OUT,
    (CommandStatus.ACKNOWLEDGED, "timeout"): CommandStatus.TIMED_OUT,
}


def batch_status(counts: Mapping[str, int], targets: int) -> str:
    """An area command's status in the words of a single one: ``done`` once every command is,
    ``failed`` or ``timed_out`` once all are settled and some did not succeed, else how far
    all of them got (``pending``, ``sent``, ``acknowledged``)."""
    settled = sum(counts.get(s.value, 0) for s in CommandStatus if s.final)
    if settled == targets:
        if counts.get(CommandStatus.DONE.value, 0) == targets:
            return CommandStatus.DONE.value
        if counts.get(CommandStatus.FAILED.value, 0):
            return CommandStatus.FAILED.value
        return CommandStatus.TIMED_OUT.value
    beyond_ack = settled + counts.get(CommandStatus.ACKNOWLEDGED.value, 0)
    if beyond_ack == targets:
        return CommandStatus.ACKNOWLEDGED.value
    if counts.get(CommandStatus.PENDING.value, 0) == targets:
        return CommandStatus.PENDING.value
    return CommandStatus.SENT.value


def transition(status: CommandStatus, event: str) -> CommandStatus:
    """The status after ``event`` (send, ack, done, failed, timeout); `Conflict` when it cannot
    happen now (a late answer to a command already final is recorded, not applied)."""
    found = _TRANSITIONS.get((status, event))
    if found is None:
        raise Conflict(f"a command {status.value} cannot take {event!r}", code="command_transition")
    return found


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command type: the kinds it applies to, who may give it, how long the equipment has
    to answer, and its parameters' checker."""

    kinds: frozenset[str]
    roles: frozenset[str]
    answer_within: timedelta
    max_attempts: int = 3


_LIGHT_KINDS = frozenset({"streetlight", "lighting_cabinet"})
_CONTROL_ROOM = frozenset({"operator", "supervisor"})
COMMAND_SPECS: Final[Mapping[CommandType, CommandSpec]] = {
    CommandType.SET_LIGHT_LEVEL: CommandSpec(
        _LIGHT_KINDS, _CONTROL_ROOM | {"commune_agent"}, timedelta(seconds=30)
    ),
    CommandType.SWITCH_LIGHT: CommandSpec(
        _LIGHT_KINDS, _CONTROL_ROOM | {"commune_agent"}, timedelta(seconds=30)
    ),
    CommandType.SET_JUNCTION_MODE: CommandSpec(
        frozenset({"traffic_junction"}), _CONTROL_ROOM, timedelta(seconds=10)
    ),
    CommandType.SET_BOLLARD: CommandSpec(
        frozenset({"bollard"}), _CONTROL_ROOM, timedelta(seconds=20)
    ),
    CommandType.SET_DOOR_LOCK: CommandSpec(
        frozenset({"building"}), _CONTROL_ROOM | {"commune_agent"}, timedelta(seconds=20)
    ),
    CommandType.CAMERA_PRESET: CommandSpec(
        frozenset({"camera"}), _CONTROL_ROOM, timedelta(seconds=10)
    ),
    CommandType.APPLY_DIMMING_PROGRAM: CommandSpec(
        frozenset({"lighting_cabinet"}), frozenset({"supervisor"}), timedelta(seconds=60)
    ),
}


def _bool(params: Mapping[str, Any], key: str, problems: list[Problem]) -> bool:
    value = params.get(key)
    if not isinstance(value, bool):
        problems.append(Problem(f"params.{key}", f"must be true or false, not {value!r}"))
        return False
    return value


def _int(params: Mapping[str, Any], key: str, low: int, high: int, problems: list[Problem]) -> int:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(
            Problem(f"params.{key}", f"must be a whole number {low}–{high}, not {value!r}")
        )
        return low
    return value


def _choice(
    params: Mapping[str, Any], key: str, choices: tuple[str, ...], problems: list[Problem]
) -> str:
    value = params.get(key)
    if value not in choices:
        problems.append(
            Problem(f"params.{key}", f"must be one of {', '.join(choices)}, not {value!r}")
        )
        return choices[0]
    return str(value)


def parse_command(
    command: str, params: Mapping[str, Any] | None
) -> tuple[CommandType, dict[str, Any]]:
    """The command type and its normalised parameters; every complaint names its parameter."""
    try:
        kind = CommandType(command)
    except ValueError:
        raise InvalidInput(
            f"unknown command {command!r}",
            details=[Problem("command", f"one of {', '.join(c.value for c in CommandType)}")],
            code="unknown_command",
        ) from None
    params = dict(params or {})
    problems: list[Problem] = []
    normalised: dict[str, Any]
    if kind is CommandType.SET_LIGHT_LEVEL:
        normalised = {"level_pct": _int(params, "level_pct", 0, 100, problems)}
    elif kind is CommandType.SWITCH_LIGHT:
        normalised = {"on": _bool(params, "on", problems)}
    elif kind is CommandType.SET_JUNCTION_MODE:
        mode = _choice(params, "mode", tuple(m.value for m in JunctionMode), problems)
        normalised = {"mode": mode}
        if mode == JunctionMode.FORCED_GREEN:
            normalised["approach"] = _int(params, "approach", 1, 12, problems)
            normalised["duration_s"] = _int(params, "duration_s", 10, FORCED_GREEN_MAX_S, problems)
        elif "approach" in params or "duration_s" in params:
            problems.append(Problem("params.approach", "only a forced green names an approach"))
    elif kind is CommandType.SET_BOLLARD:
        normalised = {"position": _choice(params, "position", ("up", "down"), problems)}
    elif kind is CommandType.SET_DOOR_LOCK:
        normalised = {"locked": _bool(params, "locked", problems)}
    elif kind is CommandType.CAMERA_PRESET:
        normalised = {"preset": _int(params, "preset", 1, 256, problems)}
    else:
        program = params.get("program")
        if not isinstance(program, str) or not program.strip():
            problems.append(Problem("params.program", "must name a dimming program"))
        normalised = {"program": str(program or "").strip()}
    unknown = sorted(set(params) - set(normalised) - {"approach", "duration_s"})
    problems += [Problem(f"params.{key}", "not a parameter of this command") for key in unknown]
    if problems:
        raise InvalidInput(f"invalid {kind.value}", details=problems, code="invalid_command")
    return kind, normalised


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise InvalidInput(
            f"a command needs its reason (at least {MIN_REASON} characters): it is audited",
            details=[Problem("reason", "missing or too short")],
            code="reason_required",
        )
    return text[:500]


def check_permission(kind: CommandType, role: str | None) -> None:
    spec = COMMAND_SPECS[kind]
    if role not in spec.roles:
        raise Forbidden(
            f"{role or 'this caller'} may not give {kind.value} commands",
            code="command_not_allowed",
        )


def check_target(kind: CommandType, asset_kind: str, ref: str) -> None:
    if asset_kind not in COMMAND_SPECS[kind].kinds:
        allowed = ", ".join(sorted(COMMAND_SPECS[kind].kinds))
        raise InvalidInput(
            f"{kind.value} applies to {allowed}, not to {ref} ({asset_kind})",
            code="wrong_kind",
        )


def check_junction(
    params: Mapping[str, Any],
    *,
    reported_mode: str | None,
    reported_approach: int | None,
    controller_fault: bool,
    approaches: int,
    ref: str,
) -> None:
    """Refuse (`Conflict`) what could leave the junction in an unsafe combination, judged
    against what it last reported (see the module's interlocks 1–4)."""
    mode = JunctionMode(params["mode"])
    if mode in (JunctionMode.ALL_RED, JunctionMode.FLASHING_AMBER):
        return
    if controller_fault:
        raise Conflict(
            f"{ref} reports a controller fault: only all_red or flashing_amber until repaired",
            code="junction_interlock",
        )
    if mode is JunctionMode.NORMAL:
        return
    approach = int(params["approach"])
    if approach > approaches:
        raise Conflict(
            f"{ref} has {approaches} approaches; there is no approach {approach}",
            code="junction_interlock",
        )
    current = reported_mode or JunctionMode.NORMAL.value
    same_green = current == JunctionMode.FORCED_GREEN and reported_approach == approach
    if current not in (JunctionMode.ALL_RED, JunctionMode.NORMAL) and not same_green:
        raise Conflict(
            f"{ref} is in {current}"
            + (f" (approach {reported_approach})" if reported_approach else "")
            + ": send all_red first, so the junction is cleared before a forced green",
            code="junction_interlock",
        )


@dataclass(frozen=True, slots=True)
class Command:
    """One command to one asset, as the platform tracks it."""

    id: int
    asset_id: int
    kind: CommandType
    params: Mapping[str, Any]
    status: CommandStatus
    attempts: int
    created_at: datetime
    deadline: datetime

    def may_retry(self, now: datetime) -> bool:
        """Sent, not acknowledged, attempts left, before its deadline: send it again (commands
        ask for a state, so a second delivery changes nothing)."""
        spec = COMMAND_SPECS[self.kind]
        return (
            self.status is CommandStatus.SENT
            and self.attempts < spec.max_attempts
            and now < self.deadline
        )


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CommandsIssued(DomainEvent):
    """Commands were accepted (one, or an area's batch) and go out after the commit: who gave
    which command to which assets, in which communes."""

    command: str
    batch_id: int | None
    command_ids: tuple[int, ...]
    asset_ids: tuple[int, ...]
    communes: tuple[str, ...]
    reason: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class ScenarioRun(DomainEvent):
    """A response plan was carried out: its command batches, its cases, its public message."""

    run_id: int
    scenario: str
    batch_ids: tuple[int, ...]
    case_ids: tuple[int, ...]
    alert_id: int | None
    communes: tuple[str, ...]
    actor: str


@dataclass(frozen=True, kw_only=True)
class ScenarioRolledBack(DomainEvent):
    """A run's assets were asked for their earlier state again; its public message ended."""

    run_id: int
    scenario: str
    batch_ids: tuple[int, ...]
    not_restored: int
    actor: str
