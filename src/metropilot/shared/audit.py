"""What the audit trail records for one state change.

Services put an entry on their unit of work for every change they make; the audit context
appends the entries to the hash-chained trail in the same transaction, so a change and its
record commit or roll back together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from metropilot.shared.actors import Actor
from metropilot.shared.clock import utcnow

__all__ = ["AuditEntry"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: Actor
    action: str  # "<object_type>.<verb>", e.g. "asset.updated", "user.disabled"
    object_type: str  # "asset", "user", "api_key", "commune", …
    object_id: str
    changes: dict[str, list[Any]] = field(default_factory=dict)  # {field: [before, after]}
    at: datetime = field(default_factory=utcnow)
