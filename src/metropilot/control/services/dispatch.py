"""The outbox: what is due is sent after the commit, sent again while unanswered, timed out
at its deadline."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from metropilot.control import repository
from metropilot.control.model import COMMAND_SPECS, CommandStatus, CommandType, transition
from metropilot.control.services.transports import CommandTransport
from metropilot.db.uow import UnitOfWorkFactory
from metropilot.shared.clock import utcnow

log = logging.getLogger(__name__)


DISPATCH_BATCH: Final = 2_000


def message_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the equipment receives on ``metropilot/<asset>/commands``."""
    return {
        "command": row["id"],
        "type": row["command"],
        "params": row["params"],
        "deadline": row["deadline"].isoformat(),
    }


_work = threading.Event()


def wake_dispatcher() -> None:
    """Commands were just committed: the dispatcher sends them now, not at its next tick."""
    _work.set()


def wait_for_work(timeout_s: float) -> None:
    """The dispatcher's pause: until commands are committed, or ``timeout_s`` at most."""
    _work.wait(timeout_s)
    _work.clear()


def dispatch(
    uow_factory: UnitOfWorkFactory, transport: CommandTransport, now: datetime | None = None
) -> tuple[int, int]:
    """Send what is due (new commands and retries) in rounds of `DISPATCH_BATCH` until none
    is left, time out what went unanswered; returns (messages sent, commands timed out)."""
    total_sent = total_timed_out = 0
    while True:
        sent, timed_out, full = _dispatch_round(uow_factory, transport, now or utcnow())
        total_sent += sent
        total_timed_out += timed_out
        if not full:
            return total_sent, total_timed_out


def _dispatch_round(
    uow_factory: UnitOfWorkFactory, transport: CommandTransport, now: datetime
) -> tuple[int, int, bool]:
    with uow_factory(write=True) as uow:
        due = repository.due_to_send(uow.connection, now, DISPATCH_BATCH)
        sent_ids: list[int] = []
        last_ids: list[int] = []
        for row in due:
            if row["deadline"] <= now:
                continue  # the timeout below settles it
            spec = COMMAND_SPECS[CommandType(row["command"])]
            try:
                transport.send(row["asset_ref"], message_of(row))
            except Exception:  # the broker is away: try again at the next round
                log.exception("could not send command %s to %s", row["id"], row["asset_ref"])
                break
            if row["attempts"] + 1 >= spec.max_attempts:
                last_ids.append(row["id"])
            else:
                sent_ids.append(row["id"])
        by_spec: dict[timedelta, list[int]] = {}
        for row in due:
            if row["id"] in sent_ids:
                spec = COMMAND_SPECS[CommandType(row["command"])]
                by_spec.setdefault(spec.answer_within / spec.max_attempts, []).append(row["id"])
        for interval, ids in by_spec.items():
            repository.mark_sent(uow.connection, ids, now, now + interval)
        if last_ids:
            repository.mark_sent(uow.connection, last_ids, now, now)
            repository.stop_sending(uow.connection, last_ids)
        timed_out = 0
        for row in repository.overdue(uow.connection, now, DISPATCH_BATCH):
            repository.update_command(
                uow.connection,
                row["id"],
                {
                    "status": transition(CommandStatus(row["status"]), "timeout").value,
                    "finished_at": now,
                    "next_send_at": None,
                    "result": f"no answer by the deadline after {row['attempts']} attempt(s)",
                },
            )
            timed_out += 1
        uow.commit()
    sent = len(sent_ids) + len(last_ids)
    # Another round when this one was full and sent everything it took (not stopped early
    # by a broker away, nor holding only commands past their deadline).
    return sent, timed_out, len(due) == DISPATCH_BATCH and sent == len(due)
