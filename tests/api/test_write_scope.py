"""A write that names an object outside the caller's scope is answered as if the object did not
exist, and a write's answer shows no more than the caller may read (issue 15, part 3).

These run in the module's own write world (``write_world``): opening cases must not change the
shared ``world`` other tests count on.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import CHENOVE, DIJON, WriteWorld

NOWHERE_ASSET = 999_999
NOWHERE_COMMUNE = "99999"


def _asset(world: WriteWorld, kind: str, commune: str) -> int:
    return next(
        int(i)
        for i, k in world.kinds.items()
        if k == kind and world.commune_of["asset"][i] == commune
    )


def _open(world: WriteWorld, caller: str, **where: Any) -> httpx.Response:
    body = {"category": "camera-offline", "priority": "P4", "title": "Dark screen", **where}
    return world.client.post("/api/v1/cases", json=body, headers=world.headers[caller])


def _error(response: httpx.Response, target: object) -> dict[str, Any]:
    """The error with the target's spelling taken out, to compare two targets' answers."""
    error = dict(response.json()["error"])
    error["message"] = error["message"].replace(str(target), "<target>")
    return {"status": response.status_code, **error}


def _case_count(world: WriteWorld) -> int:
    with world.platform.uow_factory() as uow:
        return int(uow.connection.exec_driver_sql("SELECT count(*) FROM cases").scalar_one())


def test_a_field_agent_opens_no_case_on_equipment_outside_its_scope(
    write_world: WriteWorld,
) -> None:
    world, field = write_world, write_world.headers["field-dijon"]
    before = _case_count(world)
    nowhere = _error(_open(world, "field-dijon", asset=NOWHERE_ASSET), NOWHERE_ASSET)
    assert nowhere == {
        "status": 404,
        "code": "not_found",
        "message": "no asset with id <target>",
        "details": None,
    }
    for kind in ("camera", "streetlight"):
        chenove = _asset(world, kind, CHENOVE)
        # The read says it does not exist for this agent; the write says the same, word for word.
        read = world.client.get(f"/api/v1/assets/{chenove}", headers=field)
        assert _error(read, chenove) == nowhere, kind
        assert _error(_open(world, "field-dijon", asset=chenove), chenove) == nowhere, kind
    assert _case_count(world) == before


def test_a_field_agent_opens_no_case_in_another_commune(write_world: WriteWorld) -> None:
    world = write_world
    before = _case_count(world)
    nowhere = _open(world, "field-dijon", commune=NOWHERE_COMMUNE)
    chenove = _open(world, "field-dijon", commune=CHENOVE)
    assert _error(nowhere, NOWHERE_COMMUNE) == {
        "status": 404,
        "code": "unknown_commune",
        "message": "no commune '<target>'",
        "details": None,
    }
    assert _error(chenove, CHENOVE) == _error(nowhere, NOWHERE_COMMUNE)
    assert _case_count(world) == before
    # An agent of Dijon's services names its own commune: the case goes to its team, and it
    # reads what it opened.
    own = _open(world, "field-dijon", category="pothole", commune=DIJON)
    assert own.status_code == 201, own.text
    case = own.json()
    assert case["team"]["code"] == f"commune-{DIJON}-field"
    read = world.client.get(f"/api/v1/cases/{case['id']}", headers=world.headers["field-dijon"])
    assert read.status_code == 200


def test_a_case_routed_away_answers_the_field_agent_a_receipt(write_world: WriteWorld) -> None:
    """Opened on its own equipment, a case may go to a team whose cases the agent does not see
    (here: no rule routes camera faults, so the command post's queue). The answer then tells
    what was asked and the number, not who handles it: no more than the agent can read."""
    world = write_world
    camera = _asset(world, "camera", DIJON)
    opened = _open(world, "field-dijon", asset=camera)
    assert opened.status_code == 201, opened.text
    receipt = opened.json()
    assert receipt["visible"] is False
    assert (receipt["asset"], receipt["asset_kind"], receipt["commune"]) == (
        camera,
        "camera",
        DIJON,
    )
    assert not {"team", "routing_rule", "alarms", "reports"} & set(receipt)
    hidden = world.client.get(
        f"/api/v1/cases/{receipt['id']}", headers=world.headers["field-dijon"]
    )
    assert hidden.status_code == 404
    # The command post reads the whole case.
    whole = world.client.get(f"/api/v1/cases/{receipt['id']}", headers=world.headers["operator"])
    assert whole.json()["origin"] == "field_agent"
    assert whole.json()["team"] is None


def test_an_operator_opens_cases_anywhere(write_world: WriteWorld) -> None:
    world = write_world
    light = _asset(world, "streetlight", CHENOVE)
    opened = _open(world, "operator", asset=light, category="lamp-failure")
    assert opened.status_code == 201, opened.text
    assert opened.json()["team"]["code"] == "lucerna-eclairage-field"
    assert _open(world, "operator", commune=CHENOVE).status_code == 201
    assert _open(world, "operator", asset=NOWHERE_ASSET).status_code == 404
    assert _open(world, "operator", commune=NOWHERE_COMMUNE).status_code == 404
