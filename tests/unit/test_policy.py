"""The scopes the policy gives each caller for cases, work orders, citizen reports and
telemetry, and the key scopes it refuses: pure, no database."""

from __future__ import annotations

from typing import Any

import pytest

from metropilot.accounts.model import OrganisationKind, Role, parse_scope
from metropilot.accounts.policy import (
    Principal,
    case_scope,
    report_scope,
    telemetry_scope,
    work_order_scope,
)
from metropilot.shared.actors import ActorKind
from metropilot.shared.errors import Forbidden, InvalidInput
from metropilot.shared.scope import ALL_WORK, Scope, WorkScope

DIJON, CHENOVE = "21231", "21166"


def person(role: Role, **fields: Any) -> Principal:
    return Principal(ActorKind.USER, role.value, role=role, **fields)


def key(*scopes: str, **fields: Any) -> Principal:
    parsed = tuple(parse_scope(s) for s in scopes)
    return Principal(ActorKind.API_KEY, "key", key_scopes=parsed, **fields)


def test_cases_and_work_orders_are_seen_as_the_reads_always_did() -> None:
    assert case_scope(person(Role.OPERATOR)) == ALL_WORK
    agent = person(Role.COMMUNE_AGENT, communes=(DIJON,))
    assert case_scope(agent) == WorkScope(communes=(DIJON,))
    team = person(Role.FIELD_AGENT, organisation_id=19)
    assert case_scope(team) == work_order_scope(team) == WorkScope(organisation_ids=(19,))
    for outsider in (person(Role.CITIZEN), key("telemetry:write")):
        with pytest.raises(Forbidden):
            case_scope(outsider)


def test_a_work_scope_allows_its_communes_and_its_organisations() -> None:
    assert WorkScope(communes=(DIJON,)).allows(DIJON, None)
    assert not WorkScope(communes=(DIJON,)).allows(CHENOVE, 7)
    assert WorkScope(organisation_ids=(7,)).allows(CHENOVE, 7)
    assert not WorkScope(organisation_ids=(7,)).allows(DIJON, None)  # the command post's queue


def test_a_place_is_in_scope_by_its_commune_only() -> None:
    assert Scope(maintainer_ids=(7,)).allows_commune(CHENOVE)  # a contractor works anywhere
    assert not Scope(communes=(DIJON,)).allows_commune(CHENOVE)
    two = Scope(any_of=(Scope(communes=(DIJON,)), Scope(communes=(CHENOVE,), kinds=("camera",))))
    assert two.allows_commune(CHENOVE)
    assert not two.allows_commune("21003")


def test_a_back_office_key_updates_the_reports_of_its_communes() -> None:
    assert report_scope(key("reports:update")) == ALL_WORK
    dijon = key(f"reports:update commune={DIJON}", f"reports:update commune={CHENOVE}")
    assert report_scope(dijon) == WorkScope(communes=tuple(sorted((DIJON, CHENOVE))))
    service = key(
        "reports:update",
        organisation_kind=OrganisationKind.COMMUNE_SERVICE,
        organisation_commune=CHENOVE,
    )
    assert report_scope(service) == WorkScope(communes=(CHENOVE,))
    posting = key(f"open311:post commune={DIJON}")
    assert report_scope(posting, key_permission="open311:post") == WorkScope(communes=(DIJON,))
    with pytest.raises(Forbidden):
        report_scope(posting)  # it posts, it does not update
    with pytest.raises(Forbidden):
        report_scope(person(Role.CONTRACTOR, organisation_id=7))


def test_report_permissions_take_no_asset_kind() -> None:
    for permission in ("reports:update", "open311:post"):
        with pytest.raises(InvalidInput, match="commune= only"):
            parse_scope(f"{permission} kind=camera")
    assert parse_scope("telemetry:write kind=camera").kinds == ("camera",)


def test_a_device_key_sends_telemetry_for_what_its_organisation_looks_after() -> None:
    lighting = key(
        f"telemetry:write commune={DIJON}",
        organisation="lucerna-eclairage",
        organisation_id=9,
        organisation_kind=OrganisationKind.CONTRACTOR,
    )
    scope = telemetry_scope(lighting)
    assert scope.allows(DIJON, 9, "streetlight")
    assert not scope.allows(DIJON, 8, "camera")  # in Dijon, but another contractor's
    assert not scope.allows(CHENOVE, 9, "streetlight")
    with pytest.raises(Forbidden):
        telemetry_scope(key("assets:read"))
    with pytest.raises(Forbidden):
        telemetry_scope(person(Role.OPERATOR))
