"""Commands to equipment: accepted and stored, sent after the commit, answered by the equipment.

1. `issue` checks the command (its parameters, who gives it, why, to what — one asset, or an
   area after an explicit confirmation — and the junction interlocks against what the junction
   last reported) and stores one ``pending`` command per asset in the caller's transaction.
2. `dispatch` (a loop of the server, every half second) sends what is due on the transport —
   MQTT ``metropilot/<asset>/commands`` or the in-process one of the embedded platform — marks
   it ``sent``, sends it again while no acknowledgement came (at most three times: a command
   asks for a state, so a second delivery is harmless), and times out what was not answered by
   its deadline.
3. The equipment answers with device events on its events topic (or ``POST /telemetry``):
   ``command.ack``, then ``command.done`` or ``command.failed``, each with ``{"command": id}``
   and, on failure, a ``message``; `record_answers` applies them in the ingest's transaction.
   An answer from another asset than the one commanded is ignored.
The state the equipment then reports (``light_level_pct``, ``junction_mode``, …) is what the
twin shows; a command never changes the twin itself.

The package, by what it manages: ``targets`` (who commands what: one asset, an area),
``commands`` (issuing, reading), ``dispatch`` (the outbox), ``answers`` (the equipment's),
``scenario_plans`` and ``scenario_runs`` (response plans: preview, run, rollback, public
messages), ``programs`` (dimming programs on the cabinets), ``transports``.
"""

from __future__ import annotations

from metropilot.control.services.answers import ANSWER_CODES, record_answers
from metropilot.control.services.commands import (
    JUNCTION_MODE_CODES,
    get_batch,
    get_command,
    issue,
    list_commands,
)
from metropilot.control.services.dispatch import (
    dispatch,
    message_of,
    wait_for_work,
    wake_dispatcher,
)
from metropilot.control.services.programs import cabinet_programs, push_programs
from metropilot.control.services.scenario_plans import (
    Plan,
    PlannedCommand,
    plan_scenario,
    preview_scenario,
)
from metropilot.control.services.scenario_runs import (
    get_run,
    public_alerts,
    rollback_scenario,
    run_scenario,
)
from metropilot.control.services.targets import Caller, visible
from metropilot.control.services.transports import CommandTransport, LocalTransport

__all__ = [
    "ANSWER_CODES",
    "JUNCTION_MODE_CODES",
    "Caller",
    "CommandTransport",
    "LocalTransport",
    "Plan",
    "PlannedCommand",
    "cabinet_programs",
    "dispatch",
    "get_batch",
    "get_command",
    "get_run",
    "issue",
    "list_commands",
    "message_of",
    "plan_scenario",
    "preview_scenario",
    "public_alerts",
    "push_programs",
    "record_answers",
    "rollback_scenario",
    "run_scenario",
    "visible",
    "wait_for_work",
    "wake_dispatcher",
]
