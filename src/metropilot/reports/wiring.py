"""How citizen reports plug into the platform: new reports on the live stream, the citizens'
e-mails delivered by housekeeping."""

from __future__ import annotations

from metropilot.db.wiring import Wiring
from metropilot.reports import mail
from metropilot.reports.model import ReportSubmitted
from metropilot.shared.journal import JournalEntry
from metropilot.stream.model import REPORT_SUBMITTED

__all__ = ["report_submitted_entry", "wire"]


def wire(w: Wiring) -> None:
    w.journal(ReportSubmitted, report_submitted_entry)
    # Citizens' e-mails waiting in the outbox (nothing without a mail server).
    w.housekeeping("citizen-mail", lambda: mail.deliver_due(w.uow_factory, w.settings))


def report_submitted_entry(event: ReportSubmitted) -> JournalEntry:
    """A new citizen report: its number, category, commune and equipment, nothing about the
    citizen. For the command post and the commune (not for contractors: they never read
    citizens' reports, so the maintainer is left out on purpose)."""
    return JournalEntry(
        type=REPORT_SUBMITTED,
        at=event.occurred_at,
        payload={
            "report": event.report_id,
            "category": event.category_code,
            "priority": event.priority,
            "asset": event.asset_id,
            "commune": event.commune_insee,
        },
        asset_id=event.asset_id,
        commune_insee=event.commune_insee,
        maintainer_id=None,
        maintainer_known=True,
    )
