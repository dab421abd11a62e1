"""The privacy purge on both databases: personal data of reports closed longer than the retention
is erased, the public record kept; recent, open and reopened reports untouched; idempotent; a
dry run changes nothing; the audit entry holds counts only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from metropilot.audit import repository as audit_repository
from metropilot.bootstrap import Platform
from metropilot.reports import privacy, repository, services
from metropilot.reports.model import ReportState
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import InvalidInput
from metropilot.simulate.services import generate_metropolis
from tests.conftest import TEST_ACTOR

YEAR = privacy.retention_from_months(12)
MONTH = privacy.retention_from_months(1)
PERSONAL = {
    "email": "{who}@example.org",
    "first_name": "First-{who}",
    "last_name": "Last-{who}",
    "phone": "+33 6 00 00 00 {n:02d}",
    "device_id": "device-{who}",
}


@pytest.fixture
def city(platform: Platform) -> Platform:
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.01, seed=3)
        uow.commit()
    return platform


def places(city: Platform) -> list[tuple[float, float]]:
    from metropilot.assets import repository as assets_repository

    a = assets_repository.assets.c
    with city.uow_factory() as uow:
        rows = uow.connection.execute(
            select(a.lon, a.lat).where(a.kind == "streetlight").order_by(a.id).limit(400)
        ).all()
    return [(float(x), float(y)) for x, y in rows[::40]]


def new_report(city: Platform, who: str, n: int, place: tuple[float, float]) -> int:
    anonymous = who.endswith("anonymous")
    personal = {} if anonymous else {k: v.format(who=who, n=n) for k, v in PERSONAL.items()}
    with city.uow_factory(write=True) as uow:
        result = services.submit(
            uow,
            services.Submission(
                category_code="pothole",
                lon=place[0],
                lat=place[1],
                description=f"Report {who}",
                address=f"{n} rue de la Liberté",
                allow_me_too=False,
                **personal,
            ),
            TEST_ACTOR,
        )
        uow.commit()
    return result.report.id


def support(city: Platform, report_id: int, email: str) -> None:
    report = row_of(city, report_id)
    with city.uow_factory(write=True) as uow:
        result = services.submit(
            uow,
            services.Submission(
                category_code="pothole", lon=report["lon"], lat=report["lat"], email=email
            ),
            TEST_ACTOR,
        )
        uow.commit()
    assert result.me_too
    assert result.report.id == report_id


def change(city: Platform, report_id: int, state: ReportState, at: datetime) -> None:
    with city.uow_factory(write=True) as uow:
        services.change_state(uow, report_id, state, TEST_ACTOR, now=at)
        uow.commit()


def row_of(city: Platform, report_id: int) -> dict[str, Any]:
    r = repository.reports.c
    with city.uow_factory() as uow:
        return dict(
            uow.connection.execute(select(repository.reports).where(r.id == report_id))
            .mappings()
            .one()
        )


def followers(city: Platform, report_id: int) -> list[str]:
    f = repository.report_followers.c
    with city.uow_factory() as uow:
        return [
            str(e)
            for (e,) in uow.connection.execute(select(f.email).where(f.report_id == report_id))
        ]


def outbox(city: Platform, report_id: int) -> list[dict[str, Any]]:
    n = repository.report_notifications.c
    with city.uow_factory() as uow:
        query = (
            select(repository.report_notifications).where(n.report_id == report_id).order_by(n.id)
        )
        return [dict(row) for row in uow.connection.execute(query).mappings()]


def timeline(city: Platform, report_id: int) -> list[dict[str, Any]]:
    with city.uow_factory() as uow:
        return services.timeline(uow, report_id)


def mark_first_sent(city: Platform, report_id: int, error: str) -> None:
    """Pretend the first e-mail of a report went out (after a refusal naming the address)."""
    n = repository.report_notifications.c
    first = outbox(city, report_id)[0]["id"]
    with city.uow_factory(write=True) as uow:
        uow.connection.execute(
            update(repository.report_notifications)
            .where(n.id == first)
            .values(sent_at=utcnow(), attempts=2, last_error=error)
        )
        uow.commit()


def purge(
    city: Platform, *, now: datetime | None = None, dry_run: bool = False, chunk: int = 2
) -> privacy.PurgeReport:
    with city.uow_factory(write=True) as uow:
        report = privacy.purge_personal_data(
            uow,
            now=now or utcnow(),
            retention=YEAR,
            actor=TEST_ACTOR,
            dry_run=dry_run,
            chunk=chunk,  # small chunks: the loop over chunks is exercised
        )
        uow.commit()
    return report


def audit_entries(city: Platform) -> list[dict[str, Any]]:
    log = audit_repository.audit_log.c
    with city.uow_factory() as uow:
        query = (
            select(audit_repository.audit_log)
            .where(log.action == "reports.personal_data_erased")
            .order_by(log.id)
        )
        return [dict(row) for row in uow.connection.execute(query).mappings()]


def snapshot(city: Platform) -> dict[str, list[dict[str, Any]]]:
    tables = [
        repository.reports,
        repository.report_followers,
        repository.report_notifications,
        repository.report_updates,
        audit_repository.audit_log,
    ]
    found = {}
    with city.uow_factory() as uow:
        for table in tables:
            rows = uow.connection.execute(select(table)).mappings()
            found[table.name] = sorted((dict(row) for row in rows), key=repr)
    return found


PUBLIC = (
    "category_code",
    "state",
    "priority",
    "lon",
    "lat",
    "commune_insee",
    "address",
    "description",
    "attributes",
    "asset_id",
    "token",
    "status_notes",
    "requested_at",
    "closed_at",
    "supporters",
)


@pytest.fixture
def reports(city: Platform) -> dict[str, int]:
    """Reports in every situation the purge must tell apart."""
    now = utcnow()
    spots = places(city)
    ids = {
        name: new_report(city, name, n, spots[n])
        for n, name in enumerate(
            ["old_fixed", "old_cancelled", "recent_fixed", "open", "reopened", "old_anonymous"]
        )
    }
    support(city, ids["old_fixed"], "supporter-old@example.org")
    support(city, ids["recent_fixed"], "supporter-recent@example.org")
    support(city, ids["open"], "supporter-open@example.org")
    change(city, ids["old_fixed"], ReportState.IN_PROGRESS, now - 14 * MONTH)
    change(city, ids["old_fixed"], ReportState.FIXED, now - 13 * MONTH)
    change(city, ids["old_cancelled"], ReportState.CANCELLED, now - 13 * MONTH)
    change(city, ids["recent_fixed"], ReportState.FIXED, now - 11 * MONTH)
    change(city, ids["reopened"], ReportState.FIXED, now - 14 * MONTH)
    change(city, ids["reopened"], ReportState.REOPENED, now - 13 * MONTH)
    # One e-mail of the old report was sent, after a refusal that named the address.
    mark_first_sent(
        city, ids["old_fixed"], "SMTPRecipientsRefused: {'old_fixed@example.org': (450, b'busy')}"
    )
    # An anonymous report, closed long ago: nothing personal, marked all the same.
    change(city, ids["old_anonymous"], ReportState.NO_FURTHER_ACTION, now - 20 * MONTH)
    return ids


def test_reports_closed_longer_than_the_retention_lose_their_personal_data_only(
    city: Platform, reports: dict[str, int]
) -> None:
    before = {name: row_of(city, i) for name, i in reports.items()}
    timelines = {name: timeline(city, i) for name, i in reports.items()}
    untouched = ("recent_fixed", "open", "reopened")
    kept_outbox = {name: outbox(city, reports[name]) for name in untouched}
    kept_followers = {name: followers(city, reports[name]) for name in untouched}
    assert before["old_fixed"]["email"] == "old_fixed@example.org"
    assert followers(city, reports["old_fixed"]) == ["supporter-old@example.org"]
    old_outbox = outbox(city, reports["old_fixed"])
    # received (sent), in progress, fixed (both to the reporter and the supporter): 1 + 2 + 2
    assert len(old_outbox) == 5

    now = utcnow()
    result = purge(city, now=now)
    assert result.counts() == {
        "reports": 3,  # old_fixed, old_cancelled, old_anonymous
        "followers": 1,
        "unsent_emails": 4 + 2,  # old_fixed: 4 unsent; old_cancelled: received, cancelled
        "sent_emails": 1,
    }
    assert result.closed_before == now - YEAR
    assert not result.dry_run

    for name in ("old_fixed", "old_cancelled", "old_anonymous"):
        after = row_of(city, reports[name])
        assert {c: after[c] for c in privacy.PERSONAL_COLUMNS} == dict.fromkeys(
            privacy.PERSONAL_COLUMNS
        )
        assert after["personal_data_erased_at"] == now
        # The public record is kept as it was.
        assert {c: after[c] for c in PUBLIC} == {c: before[name][c] for c in PUBLIC}
        assert timeline(city, reports[name]) == timelines[name]
        assert followers(city, reports[name]) == []
        assert all(n["sent_at"] is not None for n in outbox(city, reports[name]))
    # The one sent e-mail is kept, without any address.
    (sent,) = outbox(city, reports["old_fixed"])
    assert sent["id"] == old_outbox[0]["id"]
    assert sent["recipient"] == ""
    assert sent["last_error"] is None
    assert sent["subject"] == old_outbox[0]["subject"]
    assert "@" not in sent["body"]
    assert "old_fixed" not in json.dumps(sent, default=str)
    assert sorted(t["state"] for t in timeline(city, reports["old_fixed"])) == [
        "fixed",
        "in_progress",
        "new",
    ]

    # Closed 11 months ago, open, or reopened: untouched.
    for name in untouched:
        after = row_of(city, reports[name])
        assert after == before[name]
        assert after["email"] == f"{name}@example.org"
        assert after["personal_data_erased_at"] is None
        assert outbox(city, reports[name]) == kept_outbox[name]
        assert followers(city, reports[name]) == kept_followers[name]
    assert before["reopened"]["closed_at"] is None

    # A second run erases nothing and records nothing.
    state = snapshot(city)
    again = purge(city, now=now + timedelta(minutes=1))
    assert again.counts() == dict.fromkeys(again.counts(), 0)
    assert snapshot(city) == state
    assert len(audit_entries(city)) == 1


def test_the_audit_entry_holds_counts_only(city: Platform, reports: dict[str, int]) -> None:
    purge(city)
    (entry,) = audit_entries(city)
    assert entry["object_type"] == "report"
    assert entry["object_id"] == "3"
    assert entry["actor_name"] == TEST_ACTOR.name
    changes = entry["changes"]
    assert set(changes) == {
        "reports",
        "followers",
        "unsent_emails",
        "sent_emails",
        "closed_before",
    }
    assert changes["reports"] == [None, 3]
    assert changes["followers"] == [None, 1]
    text = json.dumps(entry, default=str)
    for personal in ("@", "First-", "Last-", "+33", "device-"):
        assert personal not in text
    for report_id in reports.values():  # not even which reports
        assert f'"{report_id}"' not in json.dumps(changes)


def test_a_dry_run_counts_and_changes_nothing(city: Platform, reports: dict[str, int]) -> None:
    state = snapshot(city)
    now = utcnow()
    dry = purge(city, now=now, dry_run=True)
    assert dry.dry_run
    assert snapshot(city) == state
    assert audit_entries(city) == []
    real = purge(city, now=now)
    assert dry.counts() == real.counts()
    assert real.reports == 3


def test_a_reopened_report_is_erased_again_once_closed_long_enough(
    city: Platform, reports: dict[str, int]
) -> None:
    report_id = reports["old_fixed"]
    now = utcnow()
    assert purge(city, now=now).reports == 3
    # Reopened after erasure: a new supporter follows it; then it closes again.
    change(city, report_id, ReportState.REOPENED, now + timedelta(minutes=1))
    support(city, report_id, "late-supporter@example.org")
    change(city, report_id, ReportState.FIXED, now + timedelta(minutes=2))
    assert purge(city, now=now + timedelta(minutes=3)).reports == 0  # closed just now
    assert followers(city, report_id) == ["late-supporter@example.org"]
    later = now + timedelta(minutes=3) + YEAR
    result = purge(city, now=later)
    # This report again, and recent_fixed, now closed long enough; the others were erased
    # already and have not closed since.
    assert result.reports == 2
    assert followers(city, report_id) == []
    assert row_of(city, report_id)["personal_data_erased_at"] == later
    assert all(n["recipient"] == "" for n in outbox(city, report_id))


def test_the_retention_is_the_caller_s(city: Platform, reports: dict[str, int]) -> None:
    with city.uow_factory(write=True) as uow:
        result = privacy.purge_personal_data(
            uow, now=utcnow(), retention=10 * MONTH, actor=TEST_ACTOR
        )
        uow.commit()
    assert result.reports == 4  # recent_fixed (11 months) too
    with city.uow_factory(write=True) as uow, pytest.raises(InvalidInput):
        privacy.purge_personal_data(uow, now=utcnow(), retention=-MONTH, actor=TEST_ACTOR)
    with pytest.raises(InvalidInput):
        privacy.retention_from_months(-1)
    assert privacy.retention_from_months(12) == timedelta(days=365.2425)
