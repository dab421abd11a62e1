"""How the registry plugs into the platform: its status changes on the live stream, and the
facts the stream scopes other contexts' events by."""

from __future__ import annotations

from metropilot.assets import queries
from metropilot.assets.model import AssetStatusChanged
from metropilot.db.wiring import Wiring
from metropilot.shared.journal import JournalEntry
from metropilot.stream.model import ASSET_STATUS

__all__ = ["asset_status_entry", "wire"]


def wire(w: Wiring) -> None:
    w.journal(AssetStatusChanged, asset_status_entry)
    w.asset_facts(queries.asset_facts)


def asset_status_entry(event: AssetStatusChanged) -> JournalEntry:
    return JournalEntry(
        type=ASSET_STATUS,
        at=event.occurred_at,
        payload={
            "asset": event.asset_id,
            "commune": event.commune_insee,
            "kind": event.kind,
            "status": event.after,
            "previous_status": event.before,
        },
        asset_id=event.asset_id,
        commune_insee=event.commune_insee,
        kind=event.kind,
        maintainer_id=event.maintainer_id,
    )
