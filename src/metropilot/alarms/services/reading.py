"""Reading alarms within a caller's scope: pages, open counts, one alarm with its comments and
the children it mutes."""

from __future__ import annotations

from metropilot.alarms import repository
from metropilot.alarms.model import Alarm
from metropilot.alarms.repository import AlarmFilter
from metropilot.db.uow import UnitOfWork
from metropilot.shared.errors import NotFound
from metropilot.shared.scope import UNRESTRICTED, Scope


def list_alarms(uow: UnitOfWork, flt: AlarmFilter, limit: int) -> tuple[list[Alarm], int | None]:
    """A page of alarms, newest first, and the id to continue before (None on the last page)."""
    rows = repository.list_alarms(uow.connection, flt, limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def open_counts(uow: UnitOfWork, flt: AlarmFilter) -> dict[str, int]:
    return repository.count_open(uow.connection, flt)


def get_alarm(uow: UnitOfWork, alarm_id: int, scope: Scope = UNRESTRICTED) -> Alarm:
    """One alarm; outside the caller's scope it does not exist (404, like assets)."""
    alarm = repository.get_alarm(uow.connection, alarm_id, scope)
    if alarm is None:
        raise NotFound(f"no alarm with id {alarm_id}")
    return alarm


def alarm_detail(
    uow: UnitOfWork, alarm_id: int, scope: Scope = UNRESTRICTED
) -> tuple[Alarm, list[Alarm]]:
    """An alarm with its comments, and the children's alarms it mutes (within the scope)."""
    alarm = get_alarm(uow, alarm_id, scope)
    alarm.comments = repository.comments_of(uow.connection, alarm_id)
    return alarm, repository.children_of(uow.connection, alarm_id, scope)
