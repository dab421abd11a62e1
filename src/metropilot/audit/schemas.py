"""API shapes of the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from metropilot.audit.model import AuditRecord

__all__ = ["AuditActorOut", "AuditEntryOut", "AuditPageOut", "entry_out"]


class AuditActorOut(BaseModel):
    kind: str = Field(examples=["user"], description="user, api_key, cli, system or anonymous")
    name: str = Field(examples=["j.martin"])
    id: int | None = Field(description="Id of the user or API key, when there is one.")
    organisation: str | None = Field(description="Code of the organisation the actor acted for.")
    sector: str | None = Field(description="public or private: which side of the contract acted.")


class AuditEntryOut(BaseModel):
    id: int = Field(description="Position in the trail: ids increase with every append.")
    at: datetime
    actor: AuditActorOut
    action: str = Field(examples=["asset.updated"])
    object_type: str = Field(examples=["asset"])
    object_id: str = Field(examples=["42"])
    changes: dict[str, Any] = Field(description="{field: [before, after]}")
    prev_hash: str = Field(
        description="Hash of the entry before this one (64 zeros for the first)."
    )
    hash: str = Field(description="SHA-256 of this entry's canonical form and prev_hash.")


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


def entry_out(record: AuditRecord) -> dict[str, Any]:
    # Built by hand rather than validated: this runs for every entry of every page.
    return {
        "id": record.id,
        "at": record.at,
        "actor": {
            "kind": record.actor_kind,
            "name": record.actor_name,
            "id": record.actor_id,
            "organisation": record.organisation,
            "sector": record.sector,
        },
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "changes": record.changes,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }
