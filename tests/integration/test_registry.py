"""The equipment registry against a real database, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from metropilot.assets import repository, services
from metropilot.assets.model import AssetKind, AssetStatus
from metropilot.assets.services import AssetFilter, AssetsImported, AssetStatusChanged
from metropilot.bootstrap import Platform
from metropilot.shared.errors import InvalidInput, NotFound
from metropilot.shared.events import DomainEvent
from tests.conftest import TEST_ACTOR
from tests.factories import cabinet, light, seed_territory


@pytest.fixture
def territory(platform: Platform) -> Platform:
    seed_territory(platform)
    return platform


def count_assets(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(repository.assets)).scalar_one())


def test_import_places_each_asset_in_its_commune_and_links_parents(territory: Platform) -> None:
    with territory.uow_factory() as uow:
        report = services.import_assets(
            uow,
            [
                light("SL-2", 5.15, 47.35, parent_ref="CAB-1"),  # child before its parent
                cabinet("CAB-1", 5.12, 47.35),
                light("SL-1", 5.05, 47.35),
            ],
            TEST_ACTOR,
        )
        uow.commit()
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    with territory.uow_factory() as uow:
        page, next_id = services.list_assets(uow, AssetFilter(), 10)
    by_ref = {a.external_ref: a for a in page}
    assert next_id is None
    assert by_ref["SL-1"].commune_insee == "21001"
    assert by_ref["SL-2"].commune_insee == "21002"
    assert by_ref["SL-2"].parent_id == by_ref["CAB-1"].id
    assert by_ref["SL-2"].parent_ref == "CAB-1"
    assert by_ref["SL-1"].maintainer_code == "lumiere-sa"
    assert by_ref["SL-1"].status is AssetStatus.OK
    assert by_ref["SL-1"].created_at.tzinfo is not None


def test_reimport_updates_by_reference_and_keeps_history(territory: Platform) -> None:
    with territory.uow_factory() as uow:
        services.import_assets(uow, [light("SL-1"), cabinet("CAB-1")], TEST_ACTOR)
        uow.commit()
    changed = light("SL-1", 5.06, 47.35, attributes={"lamp_technology": "HPS"}, parent_ref="CAB-1")
    with territory.uow_factory() as uow:
        report = services.import_assets(uow, [changed, cabinet("CAB-1")], TEST_ACTOR)
        uow.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert count_assets(territory) == 2
    with territory.uow_factory() as uow:
        asset_id = repository.ids_by_ref(uow.connection, ["SL-1"])["SL-1"][0]
        asset, history = services.asset_detail(uow, asset_id)
    assert asset.version == 2
    assert asset.attributes["lamp_technology"] == "HPS"
    assert asset.parent_ref == "CAB-1"
    assert [h.action.value for h in history] == ["updated", "created"]
    assert history[0].changes["lon"] == [5.05, 5.06]
    assert history[0].changes["attributes.lamp_technology"] == ["LED", "HPS"]
    assert history[0].actor == "cli:pytest"


def test_import_is_all_or_nothing_and_reports_every_problem(territory: Platform) -> None:
    drafts = [
        light("SL-1"),
        light("SL-2", attributes={"nominal_power_w": "bright"}, where="line 3"),
        light("SL-1", where="line 4"),
        light("SL-4", 7.0, 48.0, where="line 5"),
        light("SL-5", maintainer="nobody", where="line 6"),
        light("SL-6", parent_ref="CAB-404", where="line 7"),
        light("SL-7", parent_ref="SL-1", where="line 8"),
    ]
    with territory.uow_factory() as uow, pytest.raises(InvalidInput) as caught:
        services.import_assets(uow, drafts, TEST_ACTOR, source="lights.csv")
    problems = {p["loc"]: p["message"] for p in caught.value.details}
    assert "Input should be a valid number" in problems["line 3.attributes.nominal_power_w"]
    assert "duplicate external reference 'SL-1' (first at SL-1)" in problems["line 4.external_ref"]
    assert "outside the metropolis" in problems["line 5.geometry"]
    assert "unknown organisation 'nobody'" in problems["line 6.maintainer"]
    assert "unknown parent asset 'CAB-404'" in problems["line 7.parent"]
    assert "a streetlight cannot hang off a streetlight" in problems["line 8.parent"]
    assert caught.value.message.startswith("lights.csv: 6 problem(s), nothing imported")
    assert count_assets(territory) == 0


def test_parent_may_already_be_stored(territory: Platform) -> None:
    with territory.uow_factory() as uow:
        services.import_assets(uow, [cabinet("CAB-1")], TEST_ACTOR)
        uow.commit()
    with territory.uow_factory() as uow:
        services.import_assets(uow, [light("SL-1", parent_ref="CAB-1")], TEST_ACTOR)
        uow.commit()
        (asset,) = [
            a
            for a in services.list_assets(uow, AssetFilter(), 10)[0]
            if a.kind is AssetKind.STREETLIGHT
        ]
    assert asset.parent_ref == "CAB-1"


def test_events_are_published_only_after_commit(territory: Platform) -> None:
    seen: list[DomainEvent] = []
    bus = territory.bus
    assert bus is not None
    bus.subscribe(DomainEvent, seen.append)
    try:
        with territory.uow_factory() as uow:
            services.import_assets(uow, [light("SL-1")], TEST_ACTOR)
            assert seen == []
            uow.commit()
        assert [type(e) for e in seen] == [AssetsImported]
        with territory.uow_factory() as uow:
            services.import_assets(uow, [light("SL-2")], TEST_ACTOR)
        assert len(seen) == 1  # rolled back: nothing announced
    finally:
        bus.unsubscribe(DomainEvent, seen.append)


def test_status_change_is_attributed_and_announced(territory: Platform) -> None:
    seen: list[AssetStatusChanged] = []
    bus = territory.bus
    assert bus is not None
    bus.subscribe(AssetStatusChanged, seen.append)
    try:
        with territory.uow_factory() as uow:
            services.import_assets(uow, [light("SL-1")], TEST_ACTOR)
            uow.commit()
            asset_id = repository.ids_by_ref(uow.connection, ["SL-1"])["SL-1"][0]
            services.set_status(uow, asset_id, AssetStatus.FAULT, TEST_ACTOR, reason="lamp out")
            uow.commit()
            asset, history = services.asset_detail(uow, asset_id)
    finally:
        bus.unsubscribe(AssetStatusChanged, seen.append)
    assert asset.status is AssetStatus.FAULT
    assert history[0].changes == {"status": ["ok", "fault"], "reason": [None, "lamp out"]}
    assert [(e.before, e.after, e.commune_insee) for e in seen] == [("ok", "fault", "21001")]


def test_unknown_asset_is_not_found(territory: Platform) -> None:
    with territory.uow_factory() as uow, pytest.raises(NotFound, match="no asset with id 999"):
        services.get_asset(uow, 999)


def test_import_without_territory_says_so(platform: Platform) -> None:
    with platform.uow_factory() as uow, pytest.raises(InvalidInput, match="no communes yet"):
        services.import_assets(uow, [light("SL-1", maintainer=None)], TEST_ACTOR)


def test_filters_and_summary(territory: Platform) -> None:
    with territory.uow_factory() as uow:
        services.import_assets(
            uow,
            [
                light("SL-1", 5.05, 47.35),
                light("SL-2", 5.15, 47.35),
                cabinet("CAB-1", 5.151, 47.351),
            ],
            TEST_ACTOR,
        )
        uow.commit()
        east = AssetFilter(communes=["21002"])
        assert {a.external_ref for a in services.list_assets(uow, east, 10)[0]} == {"SL-2", "CAB-1"}
        near = AssetFilter(near=(5.15, 47.35), radius_m=200)
        assert {a.external_ref for a in services.list_assets(uow, near, 10)[0]} == {"SL-2", "CAB-1"}
        tight = AssetFilter(near=(5.15, 47.35), radius_m=50)
        assert {a.external_ref for a in services.list_assets(uow, tight, 10)[0]} == {"SL-2"}
        assert services.summary(uow, AssetFilter()) == {
            "by_kind": {"streetlight": 2, "lighting_cabinet": 1},
            "by_status": {"ok": 3},
            "by_commune": {"21001": 1, "21002": 2},
        }
