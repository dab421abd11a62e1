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
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

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


# A claimed e-mail is not due again before this, so two senders (the server's housekeeping and
# a command, two server processes) never send it twice; should the sender die mid-way, it is
# sent once the lease is over.
LEASE = timedelta(minutes=15)
BATCH = 100


def deliver_due(
    uow_factory: UnitOfWorkFactory, settings: Settings, *, now: datetime | None = None
) -> tuple[int, int]:
    """Send the e-mails that are due; returns (sent, failed). Does nothing without a server.

    E-mails are claimed a batch at a time (their next attempt pushed past a lease), sent over
    one connection, and marked sent one by one; a refused connection or a refused message
    counts an attempt, keeps the error and pushes the next attempt back (2, 4, 8 … minutes, at
    most 6 hours; after ``MAX_ATTEMPTS`` the e-mail stays unsent, for an operator to look at)."""
    if not settings.smtp_host:
        return 0, 0
    now = now or utcnow()
    sent = failed = 0
    server: smtplib.SMTP | None = None
    try:
        while True:
            due = _claim(uow_factory, now)
            if not due:
                break
            for position, (notification_id, recipient, subject, body, attempts) in enumerate(due):
                if server is None:
                    try:
                        server = _connect(settings)
                    except (OSError, smtplib.SMTPException) as exc:
                        log.warning("cannot reach the mail server %s: %s", settings.smtp_host, exc)
                        rest = [(row[0], row[4]) for row in due[position:]]
                        _record_failures(uow_factory, rest, exc, now)
                        return sent, failed + len(rest)
                try:
                    server.send_message(_message(settings, recipient, subject, body))
                except (OSError, smtplib.SMTPException) as exc:
                    failed += 1
                    _record_failures(uow_factory, [(notification_id, attempts)], exc, now)
                    if not _still_connected(server, exc):
                        _close(server)  # a new connection for the next one
                        server = None
                    continue
                sent += 1
                _record_sent(uow_factory, notification_id, attempts)
    finally:
        if server is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                server.quit()
    return sent, failed


def _still_connected(server: smtplib.SMTP, exc: Exception) -> bool:
    """Whether the server refused one message but the connection can carry on (smtplib's
    exceptions are all OSErrors; it closes the socket itself on a 421 reply)."""
    answered = isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused)
    return answered and server.sock is not None


def _close(server: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        server.close()


def _claim(uow_factory: UnitOfWorkFactory, now: datetime) -> list[tuple[int, str, str, str, int]]:
    n = repository.report_notifications.c
    with uow_factory(write=True) as uow:
        query = (
            select(n.id, n.recipient, n.subject, n.body, n.attempts)
            .where(and_(n.sent_at.is_(None), n.next_attempt_at <= now, n.attempts < MAX_ATTEMPTS))
            .order_by(n.id)
            .limit(BATCH)
        )
        if uow.dialect == "postgresql":  # SQLite: the write transaction already serialises
            query = query.with_for_update(skip_locked=True)
        due = [
            (int(i), str(recipient), str(subject), str(body), int(attempts))
            for i, recipient, subject, body, attempts in uow.connection.execute(query)
        ]
        if due:
            uow.connection.execute(
                update(repository.report_notifications)
                .where(n.id.in_([row[0] for row in due]))
                .values(next_attempt_at=now + LEASE)
            )
            uow.commit()
    return due


def _message(settings: Settings, recipient: str, subject: str, body: str) -> EmailMessage:
    base_url = settings.public_url.rstrip("/")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=urlsplit(base_url).hostname or "metropilot")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    # Quoted-printable: 7-bit clean for any server, still readable as it is.
    message.set_content(body.replace(BASE_URL, base_url), cte="quoted-printable")
    return message


def _connect(settings: Settings) -> smtplib.SMTP:
    server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15)
    try:
        if settings.smtp_starttls:
            server.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            server.login(settings.smtp_username, settings.smtp_password)
    except BaseException:
        _close(server)  # a refused STARTTLS or login leaves no open socket behind
        raise
    return server


def _record_sent(uow_factory: UnitOfWorkFactory, notification_id: int, attempts: int) -> None:
    n = repository.report_notifications.c
    with uow_factory(write=True) as uow:
        uow.connection.execute(
            update(repository.report_notifications)
            .where(n.id == notification_id)
            .values(sent_at=utcnow(), attempts=attempts + 1, last_error=None)
        )
        uow.commit()


def _record_failures(
    uow_factory: UnitOfWorkFactory, rows: list[tuple[int, int]], error: Exception, now: datetime
) -> None:
    n = repository.report_notifications.c
    text = f"{error.__class__.__name__}: {error}"[:500]
    with uow_factory(write=True) as uow:
        for notification_id, attempts in rows:
            uow.connection.execute(
                update(repository.report_notifications)
                .where(n.id == notification_id)
                .values(
                    attempts=attempts + 1,
                    next_attempt_at=now + _backoff(attempts + 1),
                    last_error=text,
                )
            )
        uow.commit()
