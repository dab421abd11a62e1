"""A resolved case's reports and alarms follow it through its event, after its commit; when the
handler fails or the process stops in between, the housekeeping closes the loop, once."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import func, select

from metropilot.alarms import services as alarms_services
from metropilot.audit.services import append_entries
from metropilot.bootstrap import Platform
from metropilot.cases import services
from metropilot.cases import wiring as cases_wiring
from metropilot.cases.model import CaseAction, CaseState, Milestone
from metropilot.db.uow import UnitOfWork
from metropilot.reports import services as reports_services
from metropilot.reports.model import ReportState
from metropilot.reports.repository import report_notifications
from metropilot.shared.events import MessageBus
from metropilot.telemetry.repository import asset_twin
from tests.conftest import TEST_ACTOR
from tests.integration.test_cases import city, fail_lamp, lights

__all__ = ["city"]  # the fixture, shared with the cases' tests


def a_report_case(city: Platform) -> tuple[int, int]:
    """A citizen report near the first light, and the case it opened: (report id, case id)."""
    (_, _, lon, lat), _ = lights(city)
    with city.uow_factory(write=True) as uow:
        report = reports_services.submit(
            uow,
            reports_services.Submission(
                category_code="graffiti",
                lon=lon + 0.002,
                lat=lat,
                email="resident@example.org",
                allow_me_too=False,
            ),
            TEST_ACTOR,
        ).report
        uow.commit()
    with city.uow_factory() as uow:
        case = services.case_of_report(uow, report.id)
    assert case is not None
    return report.id, case.id


def run_cases_housekeeping(city: Platform) -> None:
    [job] = [job for job in city.wiring.housekeeping_jobs if job.name == "cases"]
    job.run()


def told(city: Platform, report_id: int) -> int:
    n = report_notifications.c
    with city.uow_factory() as uow:
        return int(
            uow.connection.execute(
                select(func.count()).where(n.report_id == report_id, n.subject.contains("fixed"))
            ).scalar_one()
        )


def informed_steps(city: Platform, case_id: int) -> int:
    with city.uow_factory() as uow:
        entries = services.case_timeline(uow, case_id)["entries"]
    return sum(1 for e in entries if e.what is Milestone.CITIZEN_INFORMED)


def report_state(city: Platform, report_id: int) -> str:
    with city.uow_factory() as uow:
        return reports_services.get_report(uow, report_id).state.value


def resolve(uow: UnitOfWork, case_id: int) -> None:
    services.move_case(
        uow, case_id, CaseAction.RESOLVE, TEST_ACTOR, "operator", reason="Cleaned this morning"
    )
    uow.commit()


def test_the_loop_closes_right_after_the_case_commits(city: Platform) -> None:
    report_id, case_id = a_report_case(city)
    with city.uow_factory(write=True) as uow:
        resolve(uow, case_id)
    assert report_state(city, report_id) == "fixed"
    assert informed_steps(city, case_id) == 1
    assert told(city, report_id) == 1
    with city.uow_factory() as uow:
        assert services.get_case(uow, case_id).state is CaseState.RESOLVED
        assert reports_services.get_report(uow, report_id).status_notes == (
            "Fixed. Cleaned this morning"
        )
    run_cases_housekeeping(city)  # nothing left to do
    assert informed_steps(city, case_id) == 1
    assert told(city, report_id) == 1


def test_a_failing_handler_leaves_the_loop_to_the_housekeeping(
    city: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    report_id, case_id = a_report_case(city)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the reports' database went away")

    monkeypatch.setattr(cases_wiring, "close_the_loop", broken)
    with city.uow_factory(write=True) as uow:
        resolve(uow, case_id)  # the bus logs the handler's failure; the case stays resolved
    with city.uow_factory() as uow:
        assert services.get_case(uow, case_id).state is CaseState.RESOLVED
    assert report_state(city, report_id) != "fixed"
    monkeypatch.undo()
    run_cases_housekeeping(city)
    assert report_state(city, report_id) == "fixed"
    assert informed_steps(city, case_id) == 1
    assert told(city, report_id) == 1
    with city.uow_factory() as uow:
        assert reports_services.get_report(uow, report_id).status_notes == (
            "Fixed. Cleaned this morning"
        )
    run_cases_housekeeping(city)  # once only
    assert informed_steps(city, case_id) == 1
    assert told(city, report_id) == 1


def test_a_process_that_stopped_after_the_commit_has_its_loop_closed_by_the_housekeeping(
    city: Platform,
) -> None:
    (light_id, ref, _, _), _ = lights(city)
    fail_lamp(city, ref)
    with city.uow_factory() as uow:
        [case] = services.query_cases(uow, services.CaseQuery(asset_id=light_id))
        uow.connection.execute(asset_twin.delete().where(asset_twin.c.asset_id == light_id))
        uow.commit()
    [alarm_id] = case.alarm_ids
    # A bus of its own, with nobody listening: the case commits, no handler runs.
    deaf = partial(UnitOfWork, city.engine, MessageBus(), audit_sink=append_entries)
    with deaf(write=True) as uow:
        resolve(uow, case.id)
    with city.uow_factory() as uow:
        assert alarms_services.get_alarm(uow, alarm_id).state.value != "cleared"
    run_cases_housekeeping(city)
    with city.uow_factory() as uow:
        assert alarms_services.get_alarm(uow, alarm_id).state.value == "cleared"
    run_cases_housekeeping(city)
    with city.uow_factory() as uow:
        assert alarms_services.get_alarm(uow, alarm_id).state.value == "cleared"


def test_a_reopened_report_is_left_to_the_operator(city: Platform) -> None:
    """Once told, a report that someone reopens is not fixed again by the housekeeping."""
    report_id, case_id = a_report_case(city)
    with city.uow_factory(write=True) as uow:
        resolve(uow, case_id)
    with city.uow_factory(write=True) as uow:
        reports_services.change_state(
            uow, report_id, ReportState.REOPENED, TEST_ACTOR, note="Still there"
        )
        uow.commit()
    run_cases_housekeeping(city)
    assert report_state(city, report_id) == "reopened"
