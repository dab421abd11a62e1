"""E-mails to reporters and followers, through a real SMTP socket (aiosmtpd), on both databases:
what arrives, to whom, in which words; a refusing server, the backoff, and delivery once back."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from metropilot.bootstrap import Platform
from metropilot.reports import mail, repository, services
from metropilot.reports.model import ReportState
from metropilot.settings import Settings
from metropilot.shared.clock import utcnow
from metropilot.simulate.services import generate_metropolis
from tests.conftest import TEST_ACTOR

PUBLIC_URL = "https://signalements.example.fr/"  # the trailing slash is not doubled in links
FROM = "Dijon Métropole <no-reply@example.fr>"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        return str(self.message.get_content())

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


class Inbox:
    """An aiosmtpd handler keeping what it accepted; it can refuse some recipients for now."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.shut_down_on: set[str] = set()  # answer 421 to a message for them, once
        self.lock = threading.Lock()

    async def handle_RCPT(  # aiosmtpd calls its hooks by these names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "450 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.shut_down_on & set(envelope.rcpt_tos):
            self.shut_down_on -= set(envelope.rcpt_tos)
            return "421 4.3.2 Service shutting down"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if r.rcpt_tos == [address]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def city(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    return platform


def settings_for(port: int) -> Settings:
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        smtp_from=FROM,
        public_url=PUBLIC_URL,
    )


def a_place(city: Platform, offset: int = 0) -> tuple[float, float]:
    from metropilot.assets import repository as assets_repository

    a = assets_repository.assets.c
    with city.uow_factory() as uow:
        lon, lat = uow.connection.execute(
            select(a.lon, a.lat).where(a.kind == "streetlight").order_by(a.id).offset(offset)
        ).first() or (None, None)
    assert lon is not None
    assert lat is not None
    return float(lon), float(lat)


def submit(city: Platform, **fields: Any) -> services.SubmitResult:
    with city.uow_factory(write=True) as uow:
        result = services.submit(uow, services.Submission(**fields), TEST_ACTOR)
        uow.commit()
    return result


def change(city: Platform, report_id: int, state: ReportState, note: str = "") -> None:
    with city.uow_factory(write=True) as uow:
        services.change_state(uow, report_id, state, TEST_ACTOR, note=note)
        uow.commit()


def outbox(city: Platform) -> list[dict[str, Any]]:
    n = repository.report_notifications.c
    with city.uow_factory() as uow:
        query = select(repository.report_notifications).order_by(n.id)
        return [dict(row) for row in uow.connection.execute(query).mappings()]


def later(minutes: float) -> datetime:
    return utcnow() + timedelta(minutes=minutes)


def test_reporters_and_followers_receive_their_reports_news_and_nothing_else(
    city: Platform, smtp: SmtpServer
) -> None:
    lon, lat = a_place(city)
    camille = submit(
        city,
        category_code="pothole",
        lon=lon,
        lat=lat,
        description="Un trou profond",
        email="camille@example.org",
        first_name="Camille",
        last_name="Martin",
        phone="+33 6 12 34 56 78",
        device_id="device-camille-0001",
    ).report
    other_lon, other_lat = a_place(city, offset=40)
    dominique = submit(
        city,
        category_code="graffiti",
        lon=other_lon,
        lat=other_lat,
        email="dominique@example.org",
        first_name="Dominique",
        last_name="Bernard",
        phone="+33 7 98 76 54 32",
    ).report
    # A supporter close by, with an e-mail: follows Camille's report.
    support = submit(
        city, category_code="pothole", lon=lon + 0.0001, lat=lat, email="suzanne@example.org"
    )
    assert support.me_too
    assert support.report.id == camille.id
    # Anonymous: no e-mail, nobody to tell.
    submit(city, category_code="fly-tipping", lon=other_lon, lat=other_lat)
    change(city, camille.id, ReportState.IN_PROGRESS, note="Équipe voirie sur place demain.")

    sent, failed = mail.deliver_due(city.uow_factory, settings_for(smtp.port))
    assert (sent, failed) == (4, 0)
    received = smtp.inbox.received
    assert len(received) == 4
    for item in received:
        assert len(item.rcpt_tos) == 1  # one recipient per message: nobody sees another's address
        assert item.message["To"] == item.rcpt_tos[0]
        assert item.mail_from == "no-reply@example.fr"
        assert item.message["From"] == FROM
        assert item.message["Date"]
        assert item.message["Message-ID"]
        assert item.message["Message-ID"].endswith("@signalements.example.fr>")
        assert item.message["Auto-Submitted"] == "auto-generated"
        assert "{base_url}" not in item.body
        assert "//report" not in item.body
        # No personal data of anyone in any message.
        for personal in ("Camille", "Martin", "Dominique", "Bernard", "Suzanne", "+33", "device"):
            assert personal not in item.body
            assert personal not in item.subject
        for address in ("camille@", "dominique@", "suzanne@"):
            assert address not in item.body

    camille_link = f"https://signalements.example.fr/report/track/{camille.token}"
    dominique_link = f"https://signalements.example.fr/report/track/{dominique.token}"
    to_camille = smtp.inbox.to("camille@example.org")
    assert [r.subject for r in to_camille] == [
        f"Signalement {camille.id} reçu / Report {camille.id} received",
        f"Signalement {camille.id} : en cours de traitement / Report {camille.id}: in progress",
    ]
    received_body, changed_body = (r.body for r in to_camille)
    assert f"Votre signalement n° {camille.id} est reçu." in received_body
    assert f"Suivre le signalement : {camille_link}" in received_body
    assert f"Follow it: {camille_link}" in received_body
    assert f"Votre signalement n° {camille.id} est en cours de traitement." in changed_body
    assert f"Your report no. {camille.id} is in progress (open)." in changed_body
    assert "Équipe voirie sur place demain." in changed_body
    assert dominique.token not in received_body + changed_body

    # The supporter hears of the change (not of the submission, which was not theirs).
    to_suzanne = smtp.inbox.to("suzanne@example.org")
    assert [r.subject for r in to_suzanne] == [to_camille[1].subject]
    assert camille_link in to_suzanne[0].body

    to_dominique = smtp.inbox.to("dominique@example.org")
    assert [r.subject for r in to_dominique] == [
        f"Signalement {dominique.id} reçu / Report {dominique.id} received"
    ]
    assert dominique_link in to_dominique[0].body
    assert camille.token not in to_dominique[0].body

    rows = outbox(city)
    assert len(rows) == 4
    assert all(r["sent_at"] is not None and r["attempts"] == 1 for r in rows)
    assert all(r["last_error"] is None for r in rows)
    # Nothing is sent twice.
    assert mail.deliver_due(city.uow_factory, settings_for(smtp.port), now=later(600)) == (0, 0)
    assert len(smtp.inbox.received) == 4

    # A closing state, in both languages.
    change(city, camille.id, ReportState.FIXED)
    assert mail.deliver_due(city.uow_factory, settings_for(smtp.port)) == (2, 0)
    fixed = list(smtp.inbox.received[4:])
    assert sorted(r.rcpt_tos[0] for r in fixed) == ["camille@example.org", "suzanne@example.org"]
    assert {r.subject for r in fixed} == {
        f"Signalement {camille.id} : résolu / Report {camille.id}: fixed"
    }
    assert all("is fixed (closed)" in r.body for r in fixed)


def test_a_refusing_server_keeps_the_mail_and_backs_off_then_it_is_delivered_once(
    city: Platform,
) -> None:
    port = free_port()  # nothing listens there yet
    settings = settings_for(port)
    lon, lat = a_place(city)
    report = submit(city, category_code="pothole", lon=lon, lat=lat, email="ana@example.org")
    report_id = report.report.id
    change(city, report_id, ReportState.TRIAGED)

    first = utcnow()
    assert mail.deliver_due(city.uow_factory, settings, now=first) == (0, 2)
    rows = outbox(city)
    assert [r["sent_at"] for r in rows] == [None, None]
    assert [r["attempts"] for r in rows] == [1, 1]
    assert all("Connection" in (r["last_error"] or "") for r in rows), rows
    assert all(r["next_attempt_at"] == first + timedelta(minutes=2) for r in rows)

    # Not due yet: nothing tried, nothing counted.
    assert mail.deliver_due(city.uow_factory, settings, now=first + timedelta(minutes=1)) == (0, 0)
    assert [r["attempts"] for r in outbox(city)] == [1, 1]

    # Still refused: the next attempt is pushed further back (2, then 4 minutes).
    second = first + timedelta(minutes=3)
    assert mail.deliver_due(city.uow_factory, settings, now=second) == (0, 2)
    rows = outbox(city)
    assert [r["attempts"] for r in rows] == [2, 2]
    assert all(r["next_attempt_at"] == second + timedelta(minutes=4) for r in rows)

    server = SmtpServer(port)
    server.start()
    try:
        # Back, but before the next attempt is due: still waiting.
        assert mail.deliver_due(city.uow_factory, settings, now=second) == (0, 0)
        third = second + timedelta(minutes=5)
        assert mail.deliver_due(city.uow_factory, settings, now=third) == (2, 0)
        assert mail.deliver_due(city.uow_factory, settings, now=third + timedelta(hours=9)) == (
            0,
            0,
        )
        subjects = [r.subject for r in server.inbox.received]
        assert subjects == [
            f"Signalement {report_id} reçu / Report {report_id} received",
            f"Signalement {report_id} : pris en charge / Report {report_id}: triaged",
        ]
        assert [r.rcpt_tos for r in server.inbox.received] == [["ana@example.org"]] * 2
    finally:
        server.stop()
    rows = outbox(city)
    assert all(r["sent_at"] is not None for r in rows)
    assert [r["attempts"] for r in rows] == [3, 3]
    assert all(r["last_error"] is None for r in rows)


def test_a_refused_recipient_is_retried_alone_and_the_others_go(
    city: Platform, smtp: SmtpServer
) -> None:
    settings = settings_for(smtp.port)
    lon, lat = a_place(city)
    submit(city, category_code="pothole", lon=lon, lat=lat, email="busy@example.org")
    other_lon, other_lat = a_place(city, offset=40)
    submit(city, category_code="graffiti", lon=other_lon, lat=other_lat, email="ok@example.org")
    smtp.inbox.refuse.add("busy@example.org")

    now = utcnow()
    assert mail.deliver_due(city.uow_factory, settings, now=now) == (1, 1)
    assert [r.rcpt_tos for r in smtp.inbox.received] == [["ok@example.org"]]
    busy, ok = outbox(city)
    assert busy["sent_at"] is None
    assert busy["attempts"] == 1
    assert "450" in busy["last_error"]
    assert busy["next_attempt_at"] > now
    assert ok["sent_at"] is not None
    assert ok["last_error"] is None

    smtp.inbox.refuse.clear()
    assert mail.deliver_due(city.uow_factory, settings, now=now + timedelta(minutes=3)) == (1, 0)
    assert [r.rcpt_tos for r in smtp.inbox.received] == [["ok@example.org"], ["busy@example.org"]]


def test_an_e_mail_refused_too_often_stays_unsent(city: Platform, smtp: SmtpServer) -> None:
    lon, lat = a_place(city)
    submit(city, category_code="pothole", lon=lon, lat=lat, email="gone@example.org")
    n = repository.report_notifications.c
    with city.uow_factory(write=True) as uow:
        uow.connection.execute(
            update(repository.report_notifications).values(attempts=mail.MAX_ATTEMPTS)
        )
        uow.commit()
    assert mail.deliver_due(city.uow_factory, settings_for(smtp.port), now=later(10_000)) == (0, 0)
    assert smtp.inbox.received == []
    with city.uow_factory() as uow:
        assert uow.connection.execute(select(n.sent_at)).scalar_one() is None


def test_no_mail_server_configured_sends_nothing(city: Platform) -> None:
    lon, lat = a_place(city)
    submit(city, category_code="pothole", lon=lon, lat=lat, email="x@example.org")
    assert mail.deliver_due(city.uow_factory, Settings(smtp_host="")) == (0, 0)
    assert [r["attempts"] for r in outbox(city)] == [0]


def test_two_senders_at_once_send_each_mail_once(city: Platform, smtp: SmtpServer) -> None:
    lon, lat = a_place(city)
    for i in range(6):
        submit(
            city,
            category_code="pothole",
            lon=lon,
            lat=lat,
            email=f"citizen{i}@example.org",
            allow_me_too=False,  # six reports, not support for the first
        )
    settings = settings_for(smtp.port)
    results: list[tuple[int, int]] = []

    def send() -> None:
        results.append(mail.deliver_due(city.uow_factory, settings))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(sent for sent, _ in results) == 6
    assert sum(failed for _, failed in results) == 0
    recipients = sorted(r.rcpt_tos[0] for r in smtp.inbox.received)
    assert recipients == sorted(f"citizen{i}@example.org" for i in range(6))


def test_a_server_closing_mid_way_is_reconnected_to_for_the_next(
    city: Platform, smtp: SmtpServer
) -> None:
    lon, lat = a_place(city)
    for name in ("first", "second", "third"):
        submit(
            city,
            category_code="pothole",
            lon=lon,
            lat=lat,
            email=f"{name}@example.org",
            allow_me_too=False,
        )
    smtp.inbox.shut_down_on.add("first@example.org")
    now = utcnow()
    assert mail.deliver_due(city.uow_factory, settings_for(smtp.port), now=now) == (2, 1)
    assert [r.rcpt_tos for r in smtp.inbox.received] == [
        ["second@example.org"],
        ["third@example.org"],
    ]
    first = outbox(city)[0]
    assert first["sent_at"] is None
    assert "421" in first["last_error"]
    assert mail.deliver_due(
        city.uow_factory, settings_for(smtp.port), now=now + timedelta(minutes=3)
    ) == (1, 0)
    assert [r.rcpt_tos[0] for r in smtp.inbox.received] == [
        "second@example.org",
        "third@example.org",
        "first@example.org",
    ]
