"""The equipment's answers (``command.ack``, ``command.done``, ``command.failed``) applied to
the commands, in the ingest's transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import orjson

from metropilot.control import repository
from metropilot.control.model import CommandStatus, transition
from metropilot.db.uow import UnitOfWork
from metropilot.shared.errors import Conflict

log = logging.getLogger(__name__)


ANSWER_CODES: Final = {"command.ack": "ack", "command.done": "done", "command.failed": "failed"}


def record_answers(
    uow: UnitOfWork, events: Sequence[tuple[int, int, str, str]], now: datetime
) -> int:
    """Apply the equipment's answers among a batch's device events (asset id, time, code,
    payload JSON), in the ingest's transaction: one read of the commands answered and one
    statement per set of columns changed, so that an area's thousands of answers cost a few
    statements. Returns how many commands moved on."""
    answers: list[tuple[int, int, str, dict[str, Any]]] = []
    for asset_id, _ts_ms, code, payload_json in events:
        event = ANSWER_CODES.get(code)
        if event is None:
            continue
        try:
            payload = orjson.loads(payload_json)
            command_id = int(payload["command"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("asset %s sent %s without a command id", asset_id, code)
            continue
        answers.append((asset_id, command_id, event, payload))
    if not answers:
        return 0
    state = repository.get_commands(uow.connection, sorted({a[1] for a in answers}))
    changed: dict[int, dict[str, Any]] = {}
    for asset_id, command_id, event, payload in answers:  # in arrival order: ack before done
        row = state.get(command_id)
        if row is None or row["asset_id"] != asset_id:
            log.warning("asset %s answered command %s, which is not its own", asset_id, command_id)
            continue
        try:
            after = transition(CommandStatus(row["status"]), event)
        except Conflict:
            continue  # a late or repeated answer: the device event keeps it on record
        values = changed.setdefault(command_id, {})
        values.update({"status": after.value, "next_send_at": None})
        if after is CommandStatus.ACKNOWLEDGED and row["acknowledged_at"] is None:
            values["acknowledged_at"] = now
        if after.final:
            values["finished_at"] = now
            if row["acknowledged_at"] is None and "acknowledged_at" not in values:
                values["acknowledged_at"] = now
        if after is CommandStatus.FAILED:
            values["result"] = str(payload.get("message") or "the equipment reported a failure")[
                :500
            ]
        row.update(values)  # a later answer of this batch starts from here
    if changed:
        repository.update_commands(uow.connection, changed)
    return len(changed)
