"""Commands to equipment, pure: parameters with precise errors, who may give what, the
lifecycle, retries, and the junction interlocks that never leave a junction unsafe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from metropilot.control.model import (
    FORCED_GREEN_MAX_S,
    Command,
    CommandStatus,
    CommandType,
    batch_status,
    check_junction,
    check_permission,
    check_reason,
    check_target,
    parse_command,
    transition,
)
from metropilot.shared.errors import Conflict, Forbidden, InvalidInput

NOW = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def test_parameters_are_normalised_and_checked_by_name() -> None:
    assert parse_command("set_light_level", {"level_pct": 100}) == (
        CommandType.SET_LIGHT_LEVEL,
        {"level_pct": 100},
    )
    assert parse_command(
        "set_junction_mode", {"mode": "forced_green", "approach": 2, "duration_s": 120}
    )[1] == {
        "mode": "forced_green",
        "approach": 2,
        "duration_s": 120,
    }
    with pytest.raises(InvalidInput) as refused:
        parse_command("set_light_level", {"level_pct": 150, "colour": "red"})
    assert [p["loc"] for p in refused.value.details] == ["params.level_pct", "params.colour"]
    with pytest.raises(InvalidInput) as refused:
        parse_command("set_junction_mode", {"mode": "forced_green", "approach": 2})
    assert [p["loc"] for p in refused.value.details] == ["params.duration_s"]
    with pytest.raises(InvalidInput) as refused:
        parse_command("set_junction_mode", {"mode": "all_red", "approach": 1})
    assert "only a forced green" in refused.value.details[0]["message"]
    with pytest.raises(InvalidInput, match="unknown command"):
        parse_command("self_destruct", {})
    with pytest.raises(InvalidInput):
        parse_command("switch_light", {"on": "yes"})  # a boolean, not a word
    with pytest.raises(InvalidInput):
        parse_command(
            "set_junction_mode",
            {"mode": "forced_green", "approach": 1, "duration_s": FORCED_GREEN_MAX_S + 1},
        )


def test_who_may_give_what_and_to_which_equipment() -> None:
    check_permission(CommandType.SET_JUNCTION_MODE, "operator")
    check_permission(CommandType.SET_LIGHT_LEVEL, "commune_agent")
    for role in ("commune_agent", "contractor", "field_agent", "citizen", "admin", None):
        with pytest.raises(Forbidden):
            check_permission(CommandType.SET_JUNCTION_MODE, role)
    with pytest.raises(Forbidden):
        check_permission(CommandType.APPLY_DIMMING_PROGRAM, "operator")
    check_target(CommandType.SET_LIGHT_LEVEL, "lighting_cabinet", "CAB-1")
    with pytest.raises(InvalidInput, match="not to CAM-1"):
        check_target(CommandType.SET_BOLLARD, "camera", "CAM-1")


def test_a_reason_is_mandatory() -> None:
    assert check_reason("  night accident at the junction ") == "night accident at the junction"
    for missing in (None, "", "   ", "ok"):
        with pytest.raises(InvalidInput, match="reason"):
            check_reason(missing)


def test_the_lifecycle_never_calls_a_command_done_because_it_was_sent() -> None:
    status = transition(CommandStatus.PENDING, "send")
    assert status is CommandStatus.SENT
    with pytest.raises(Conflict):
        transition(CommandStatus.PENDING, "done")  # nothing done before it was sent
    status = transition(status, "ack")
    assert transition(status, "done") is CommandStatus.DONE
    assert transition(status, "failed") is CommandStatus.FAILED
    assert transition(CommandStatus.SENT, "timeout") is CommandStatus.TIMED_OUT
    assert transition(CommandStatus.SENT, "done") is CommandStatus.DONE  # its ack was lost
    for final in (CommandStatus.DONE, CommandStatus.FAILED, CommandStatus.TIMED_OUT):
        assert final.final
        for event in ("send", "ack", "done", "failed", "timeout"):
            with pytest.raises(Conflict):
                transition(final, event)


def command(**changes: Any) -> Command:
    fields: dict[str, Any] = {
        "id": 1,
        "asset_id": 7,
        "kind": CommandType.SET_LIGHT_LEVEL,
        "params": {"level_pct": 100},
        "status": CommandStatus.SENT,
        "attempts": 1,
        "created_at": NOW,
        "deadline": NOW + timedelta(seconds=30),
    }
    fields.update(changes)
    return Command(**fields)


def test_an_unacknowledged_command_is_sent_again_while_it_may() -> None:
    assert command().may_retry(NOW + timedelta(seconds=5))
    assert not command(attempts=3).may_retry(NOW)  # three attempts at most
    assert not command(status=CommandStatus.ACKNOWLEDGED).may_retry(NOW)
    assert not command().may_retry(NOW + timedelta(seconds=31))  # past its deadline


FORCED = {"mode": "forced_green", "approach": 2, "duration_s": 120}


def junction(params: dict[str, Any], **state: Any) -> None:
    facts: dict[str, Any] = {
        "reported_mode": "normal",
        "reported_approach": None,
        "controller_fault": False,
        "approaches": 4,
        "ref": "TJ-1",
    }
    facts.update(state)
    check_junction(params, **facts)


def test_junction_interlocks() -> None:
    # 4. the fail-safe modes are always allowed, even on a faulty controller
    for mode in ("all_red", "flashing_amber"):
        junction({"mode": mode}, reported_mode="forced_green", reported_approach=1)
        junction({"mode": mode}, controller_fault=True)
    # 3. a faulty controller gets nothing else
    with pytest.raises(Conflict, match="controller fault"):
        junction({"mode": "normal"}, controller_fault=True)
    with pytest.raises(Conflict, match="controller fault"):
        junction(FORCED, controller_fault=True, reported_mode="all_red")
    # 1. an approach the junction has
    with pytest.raises(Conflict, match="no approach 5"):
        junction({**FORCED, "approach": 5})
    # 2. a forced green follows all_red or normal only
    junction(FORCED, reported_mode="all_red")
    junction(FORCED, reported_mode="normal")
    junction(FORCED, reported_mode=None)  # never reported: its normal plan
    junction(FORCED, reported_mode="forced_green", reported_approach=2)  # the same green again
    with pytest.raises(Conflict, match="send all_red first"):
        junction(FORCED, reported_mode="flashing_amber")
    with pytest.raises(Conflict, match="approach 1"):
        junction(FORCED, reported_mode="forced_green", reported_approach=1)


def test_an_area_commands_status_in_the_words_of_one() -> None:
    assert batch_status({"pending": 3}, 3) == "pending"
    assert batch_status({"pending": 1, "sent": 2}, 3) == "sent"
    assert batch_status({"acknowledged": 2, "done": 1}, 3) == "acknowledged"
    assert batch_status({"done": 3}, 3) == "done"
    assert batch_status({"done": 2, "failed": 1}, 3) == "failed"
    assert batch_status({"done": 2, "timed_out": 1}, 3) == "timed_out"
    assert batch_status({"done": 2, "sent": 1}, 3) == "sent"
