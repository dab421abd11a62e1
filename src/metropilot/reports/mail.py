"""E-mails to citizens about their reports: composed in the transaction that changes the report
(an outbox row), sent afterwards by ``deliver_due``, retried with backoff when the server fails.

Written in French and English, plain text, with the link to the tracking page. Nothing in them
but what the recipient may see: the report's public state and note.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import and_, select, update

from metropilot.db.uow import UnitOfWorkFactory
from metropilot.reports import repository
from metropilot.reports.model import Report, ReportState, open311_status
from metropilot.settings import Settings
from metropilot.shared.clock import utcnow

__all__ = ["BASE_URL", "MAX_ATTEMPTS", "compose", "deliver_due"]

log = logging.getLogger(__name__)

BASE_URL = "{base_url}"  # replaced by the public address when the e-mail is sent
MAX_ATTEMPTS = 10

_STATE_FR = {
    ReportState.NEW: "reçu",
    ReportState.TRIAGED: "pris en charge",
    ReportState.IN_PROGRESS: "en cours de traitement",
    ReportState.ACTION_SCHEDULED: "intervention programmée",
    ReportState.REOPENED: "rouvert",
    ReportState.FIXED: "résolu",
    ReportState.DUPLICATE: "déjà signalé",
    ReportState.NOT_OUR_RESPONSIBILITY: "transmis à l'organisme compétent",
    ReportState.NO_FURTHER_ACTION: "clos sans suite",
    ReportState.CANCELLED: "annulé",
}


def compose(report: Report, what: str) -> tuple[str, str]:
    """Subject and body of an e-mail about ``report`` (``what``: received or changed)."""
    link = f"{BASE_URL}/report/track/{report.token}"
    state_en = report.state.value.replace("_", " ")
    state_fr = _STATE_FR[report.state]
    if what == "received":
        subject = f"Signalement {report.id} reçu / Report {report.id} received"
    else:
        subject = f"Signalement {report.id} : {state_fr} / Report {report.id}: {state_en}"
    body = "\n".join(
        [
            f"Votre signalement n° {report.id} est {state_fr}.",
            f"{report.status_notes}",
            f"Suivre le signalement : {link}",
            "",
            f"Your report no. {report.id} is {state_en} ({open311_status(report.state)}).",
            f"{report.status_notes}",
            f"Follow it: {link}",
            "",
            "-- ",
            "Ce message est envoyé automatiquement ; ne répondez pas.",
            "This message is sent automatically; please do not reply.",
        ]
    )
    return subject, body


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 360))


def deliver_due(
    uow_factory: UnitOfWorkFactory, settings: Settings, *, now: datetime | None = None
) -> tuple[int, int]:
    """Send the e-mails that are due; returns (sent, failed). Does nothing without a server."""
    if not settings.smtp_host:
        return 0, 0
    now = now or utcnow()
    n = repository.report_notifications.c
    with uow_factory() as uow:
        due = uow.connection.execute(
            select(n.id, n.recipient, n.subject, n.body, n.attempts)
            .where(and_(n.sent_at.is_(None), n.next_attempt_at <= now, n.attempts < MAX_ATTEMPTS))
            .order_by(n.id)
            .limit(100)
        ).all()
    if not due:
        return 0, 0
    sent = failed = 0
    base_url = settings.public_url.rstrip("/")
    try:
        server = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("cannot reach the mail server %s: %s", settings.smtp_host, exc)
        _record_failures(uow_factory, [(row[0], row[4]) for row in due], str(exc), now)
        return 0, len(due)
    try:
        for notification_id, recipient, subject, body, attempts in due:
            message = EmailMessage()
            message["From"] = settings.smtp_from
            message["To"] = recipient
            message["Subject"] = subject
            message["Message-ID"] = make_msgid(domain="metropilot")
            message.set_content(body.replace(BASE_URL, base_url))
            try:
                server.send_message(message)
            except (OSError, smtplib.SMTPException) as exc:
                failed += 1
                _record_failures(uow_factory, [(notification_id, attempts)], str(exc), now)
                continue
            sent += 1
            with uow_factory(write=True) as uow:
                uow.connection.execute(
                    update(repository.report_notifications)
                    .where(n.id == notification_id)
                    .values(sent_at=utcnow(), attempts=attempts + 1, last_error=None)
                )
                uow.commit()
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            server.quit()
    return sent, failed


def _connect(settings: Settings) -> smtplib.SMTP:
    server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15)
    if settings.smtp_starttls:
        server.starttls(context=ssl.create_default_context())
    if settings.smtp_username:
        server.login(settings.smtp_username, settings.smtp_password)
    return server


def _record_failures(
    uow_factory: UnitOfWorkFactory, rows: list[tuple[int, int]], error: str, now: datetime
) -> None:
    n = repository.report_notifications.c
    with uow_factory(write=True) as uow:
        for notification_id, attempts in rows:
            uow.connection.execute(
                update(repository.report_notifications)
                .where(n.id == notification_id)
                .values(
                    attempts=attempts + 1,
                    next_attempt_at=now + _backoff(attempts + 1),
                    last_error=error[:500],
                )
            )
        uow.commit()
