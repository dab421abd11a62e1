"""Erasing citizens' personal data a while after their reports close (``metropilot privacy purge``).

What is erased, for every report closed before ``now - retention`` and not erased yet:
- the reporter's e-mail, first and last name, phone, device id and account (set to NULL), and
  ``personal_data_erased_at`` set, so the next run skips it;
- the report's followers (supporters who left an e-mail): their rows are deleted;
- its e-mails: those not sent yet are deleted (nobody is told anything about it any more), the
  sent ones keep their date, subject and body (the report's public state, no personal data) but
  lose their recipient (blanked: the column is required) and their last error (an SMTP error
  can name the address).

A report erased, then reopened (a supporter may follow it again) and closed again is erased
again once that closure is old enough.

What is kept is the public record: category, place, description, state, notes, the timeline,
photos, support count. A reopened report is open again (its closing date cleared), so it is not
erased; it will be once it is closed again for the whole retention period.

The whole purge is one transaction with one audit entry holding counts only. Reports are taken
``CHUNK`` ids at a time, so statements stay small and memory flat on a large backlog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from metropilot.db.uow import UnitOfWork
from metropilot.reports import repository
from metropilot.reports.model import CLOSED_STATES
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.errors import InvalidInput

__all__ = [
    "CHUNK",
    "DAYS_PER_MONTH",
    "PERSONAL_COLUMNS",
    "PurgeReport",
    "purge_personal_data",
    "retention_from_months",
]

CHUNK = 1000
DAYS_PER_MONTH = 365.2425 / 12  # the mean Gregorian month
PERSONAL_COLUMNS = ("email", "first_name", "last_name", "phone", "device_id", "account_id")
ERASED_RECIPIENT = ""  # report_notifications.recipient is NOT NULL

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class PurgeReport:
    closed_before: datetime
    reports: int  # reports whose personal data was (or, on a dry run, would be) erased
    followers: int  # follower rows deleted
    unsent_emails: int  # e-mails not sent yet, deleted
    sent_emails: int  # e-mails already sent, their recipient blanked
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "reports": self.reports,
            "followers": self.followers,
            "unsent_emails": self.unsent_emails,
            "sent_emails": self.sent_emails,
        }


def retention_from_months(months: float) -> timedelta:
    """A retention given in months (of mean length: 12 months = 365.2425 days)."""
    if months < 0:
        raise InvalidInput(f"the retention must not be negative, got {months:g} months")
    return timedelta(days=months * DAYS_PER_MONTH)


def _erasable(cutoff: datetime) -> ColumnElement[bool]:
    r = repository.reports.c
    return and_(
        r.closed_at.is_not(None),
        r.closed_at < cutoff,
        r.state.in_([s.value for s in CLOSED_STATES]),
        # Not erased yet, or erased, then reopened (followers may have come) and closed again.
        or_(r.personal_data_erased_at.is_(None), r.personal_data_erased_at < r.closed_at),
    )


def purge_personal_data(
    uow: UnitOfWork,
    *,
    now: datetime,
    retention: timedelta,
    actor: Actor,
    dry_run: bool = False,
    chunk: int = CHUNK,
    progress: Progress | None = None,
) -> PurgeReport:
    """Erase the personal data of reports closed for longer than ``retention``; the caller
    commits. ``dry_run`` only counts what would be erased, and changes nothing."""
    if retention < timedelta(0):
        raise InvalidInput("the retention must not be negative")
    if chunk < 1:
        raise InvalidInput("the chunk size must be positive")
    cutoff = now - retention
    conn = uow.connection
    r = repository.reports.c
    total = int(
        conn.execute(
            select(func.count()).select_from(repository.reports).where(_erasable(cutoff))
        ).scalar_one()
    )
    counts = {"reports": 0, "followers": 0, "unsent_emails": 0, "sent_emails": 0}
    last_id = 0
    if progress is not None:
        progress("erasing personal data", 0, total)
    while True:
        ids = [
            int(i)
            for (i,) in conn.execute(
                select(r.id)
                .where(and_(_erasable(cutoff), r.id > last_id))
                .order_by(r.id)
                .limit(chunk)
            )
        ]
        if not ids:
            break
        last_id = ids[-1]
        step = _count_chunk(uow, ids) if dry_run else _erase_chunk(uow, ids, now)
        for name, value in step.items():
            counts[name] += value
        if progress is not None:
            progress("erasing personal data", counts["reports"], total)
    report = PurgeReport(cutoff, dry_run=dry_run, **counts)
    if not dry_run and report.reports:
        uow.audit(
            AuditEntry(
                actor,
                "reports.personal_data_erased",
                "report",
                str(report.reports),
                {
                    **{name: [None, value] for name, value in report.counts().items()},
                    "closed_before": [None, cutoff.isoformat()],
                },
            )
        )
    return report


def _count(uow: UnitOfWork, table: Table, where: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(table).where(where)
    return int(uow.connection.execute(query).scalar_one())


def _count_chunk(uow: UnitOfWork, ids: Sequence[int]) -> dict[str, int]:
    f = repository.report_followers.c
    n = repository.report_notifications.c
    notifications = repository.report_notifications
    return {
        "reports": len(ids),
        "followers": _count(uow, repository.report_followers, f.report_id.in_(ids)),
        "unsent_emails": _count(
            uow, notifications, and_(n.report_id.in_(ids), n.sent_at.is_(None))
        ),
        "sent_emails": _count(
            uow, notifications, and_(n.report_id.in_(ids), n.sent_at.is_not(None))
        ),
    }


def _erase_chunk(uow: UnitOfWork, ids: Sequence[int], now: datetime) -> dict[str, int]:
    conn = uow.connection
    r = repository.reports.c
    f = repository.report_followers.c
    n = repository.report_notifications.c
    erased = conn.execute(
        update(repository.reports)
        .where(r.id.in_(ids))
        .values({**dict.fromkeys(PERSONAL_COLUMNS), "personal_data_erased_at": now})
    ).rowcount
    followers = conn.execute(
        delete(repository.report_followers).where(f.report_id.in_(ids))
    ).rowcount
    unsent = conn.execute(
        delete(repository.report_notifications).where(
            and_(n.report_id.in_(ids), n.sent_at.is_(None))
        )
    ).rowcount
    sent = conn.execute(
        update(repository.report_notifications)
        .where(and_(n.report_id.in_(ids), n.sent_at.is_not(None)))
        .values(recipient=ERASED_RECIPIENT, last_error=None)
    ).rowcount
    return {
        "reports": int(erased),
        "followers": int(followers),
        "unsent_emails": int(unsent),
        "sent_emails": int(sent),
    }
