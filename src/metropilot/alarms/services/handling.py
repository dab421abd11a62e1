"""People and alarms: acknowledge, clear by hand (inhibiting the rule until the condition ends),
assign, comment."""

from __future__ import annotations

from datetime import datetime

from metropilot.accounts.model import Role
from metropilot.accounts.policy import asset_scope
from metropilot.accounts.queries import active_principal
from metropilot.alarms import repository
from metropilot.alarms.model import (
    Alarm,
    AlarmAcknowledged,
    AlarmComment,
    AlarmState,
    ClearReason,
    CountParams,
)
from metropilot.alarms.services.clearing import clear_alarms
from metropilot.alarms.services.common import alarm_event_fields, epoch_ms
from metropilot.alarms.services.reading import get_alarm
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput
from metropilot.shared.scope import UNRESTRICTED, Scope

MAX_COMMENT = 2000


def _text(value: str | None, what: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{what} is required", code="comment_required")
        return None
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"{what} is at most {MAX_COMMENT} characters, got {len(text)}")
    return text


def _add_comment(uow: UnitOfWork, alarm: Alarm, text: str, actor: Actor, now: datetime) -> int:
    comment_id = repository.insert_comment(uow.connection, alarm.id, now, actor.label(), text)
    uow.audit(
        AuditEntry(
            actor, "alarm.commented", "alarm", str(alarm.id), {"comment": [None, text]}, at=now
        )
    )
    return comment_id


def acknowledge(
    uow: UnitOfWork,
    alarm_id: int,
    actor: Actor,
    *,
    scope: Scope = UNRESTRICTED,
    comment: str | None = None,
    now: datetime | None = None,
) -> Alarm:
    """Someone has seen the alarm and takes it on: it stops escalating."""
    now = now or utcnow()
    alarm = get_alarm(uow, alarm_id, scope)
    alarm.check_acknowledge()
    text = _text(comment, "comment", required=False)
    repository.update_alarm(
        uow.connection,
        alarm_id,
        {
            "state": AlarmState.ACKNOWLEDGED.value,
            "acknowledged_at": now,
            "acknowledged_by": actor.label(),
            "updated_at": now,
        },
    )
    uow.audit(
        AuditEntry(
            actor,
            "alarm.acknowledged",
            "alarm",
            str(alarm_id),
            {"state": [alarm.state.value, AlarmState.ACKNOWLEDGED.value]},
            at=now,
        )
    )
    if text:
        _add_comment(uow, alarm, text, actor, now)
    uow.record(AlarmAcknowledged(**alarm_event_fields(alarm, actor), occurred_at=now))
    return get_alarm(uow, alarm_id, scope)


def clear(
    uow: UnitOfWork,
    alarm_id: int,
    comment: str,
    actor: Actor,
    *,
    scope: Scope = UNRESTRICTED,
    now: datetime | None = None,
) -> Alarm:
    """Clear an alarm by hand, saying why. If the equipment still reports the condition, the
    rule does not raise it again until the equipment has reported normal once (a false alarm
    cleared by hand does not come straight back at the next reading)."""
    now = now or utcnow()
    text = _text(comment, "a comment saying why the alarm is cleared", required=True)
    assert text is not None
    alarm = get_alarm(uow, alarm_id, scope)
    alarm.check_clear()
    _add_comment(uow, alarm, text, actor, now)
    clear_alarms(uow, [alarm_id], now, actor, ClearReason.MANUAL)
    rule = repository.get_rule(uow.connection, alarm.rule_id)
    if rule is not None and (rule.level or isinstance(rule.params, CountParams)):
        repository.inhibit(uow.connection, alarm.asset_id, alarm.rule_id, epoch_ms(now))
    return get_alarm(uow, alarm_id, scope)


def _no_assignee(username: str) -> InvalidInput:
    """One answer for every assignee refused: whether an account of that name exists, is
    disabled, is a citizen's or sees elsewhere is not for the assigner to learn (accounts are
    the administrators' to read)."""
    return InvalidInput(
        f"no active account {username!r} that sees this alarm's asset", code="unknown_assignee"
    )


def assign(
    uow: UnitOfWork,
    alarm_id: int,
    assignee: str | None,
    actor: Actor,
    *,
    scope: Scope = UNRESTRICTED,
    now: datetime | None = None,
) -> Alarm:
    """Give the alarm to someone (``None`` takes it back). The assignee must be an active
    account that can see the alarm's asset — otherwise they could not open what they were given."""
    now = now or utcnow()
    alarm = get_alarm(uow, alarm_id, scope)
    name = (assignee or "").strip() or None
    if name is not None:
        principal = active_principal(uow.connection, name)
        if principal is None or principal.role is Role.CITIZEN:
            raise _no_assignee(name)
        visible = asset_scope(principal)
        if not visible.allows(alarm.commune, alarm.maintainer_id, alarm.kind):
            raise _no_assignee(name)
    if name == alarm.assignee:
        return alarm
    repository.update_alarm(uow.connection, alarm_id, {"assignee": name, "updated_at": now})
    uow.audit(
        AuditEntry(
            actor,
            "alarm.assigned",
            "alarm",
            str(alarm_id),
            {"assignee": [alarm.assignee, name]},
            at=now,
        )
    )
    return get_alarm(uow, alarm_id, scope)


def comment(
    uow: UnitOfWork,
    alarm_id: int,
    text: str,
    actor: Actor,
    *,
    scope: Scope = UNRESTRICTED,
    now: datetime | None = None,
) -> AlarmComment:
    now = now or utcnow()
    clean = _text(text, "text", required=True)
    assert clean is not None
    alarm = get_alarm(uow, alarm_id, scope)
    comment_id = _add_comment(uow, alarm, clean, actor, now)
    repository.update_alarm(uow.connection, alarm_id, {"updated_at": now})
    return AlarmComment(comment_id, alarm_id, now, actor.label(), clean)
