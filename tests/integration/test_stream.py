"""The stream's journal against a real database, on SQLite and PostgreSQL: what it writes, whom a
query lets see it, how long it keeps it, and that ids become visible in order under concurrency.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from metropilot.accounts.repository import list_organisations
from metropilot.assets import repository as assets_repository
from metropilot.assets import services as assets_services
from metropilot.assets.model import AssetStatus
from metropilot.audit.services import append_entries
from metropilot.bootstrap import Platform, platform_journal
from metropilot.db.uow import UnitOfWork
from metropilot.shared.events import DomainEvent, MessageBus
from metropilot.shared.scope import UNRESTRICTED, Scope
from metropilot.stream import journal as stream_journal
from metropilot.stream import services as stream_services
from metropilot.stream.model import ASSET_STATUS, JournalEntry
from tests.conftest import TEST_ACTOR
from tests.factories import EAST, WEST, light, seed_territory


@dataclass
class Setup:
    platform: Platform  # its units of work journal through `journal`, and publish on `bus`
    bus: MessageBus
    journal: stream_journal.Journal
    assets: dict[str, int]
    orgs: dict[str, int]

    def set_status(self, ref: str, status: str) -> None:
        with self.platform.uow_factory(write=True) as uow:
            assets_services.set_status(uow, self.assets[ref], AssetStatus(status), TEST_ACTOR)
            uow.commit()

    def record(self, event: DomainEvent) -> None:
        """Commit a transaction that recorded ``event``, as a service would."""
        with self.platform.uow_factory(write=True) as uow:
            uow.record(event)
            uow.commit()

    def rows(self) -> list[dict[str, object]]:
        with self.platform.uow_factory() as uow:
            result = uow.connection.exec_driver_sql(
                "SELECT id, type, asset_id, commune_insee, maintainer_id, kind FROM stream_events "
                "ORDER BY id"
            )
            return [dict(r._mapping) for r in result]

    def read(
        self,
        scope: Scope = UNRESTRICTED,
        *,
        types: tuple[str, ...] | None = None,
        communes: tuple[str, ...] | None = None,
    ) -> list[int]:
        with self.platform.uow_factory() as uow:
            newest = stream_journal.newest_id(uow.connection)
            found = stream_journal.read_after(
                uow.connection, 0, newest, scope, types=types, communes=communes
            )
        return [int(e.payload["asset"]) for e in found]


@pytest.fixture
def setup(platform: Platform) -> Iterator[Setup]:
    seed_territory(platform)
    bus = MessageBus()
    journal = platform_journal(platform.wiring)
    journal.detach()  # the setup's own changes are not part of the story
    factory = partial(
        UnitOfWork, platform.engine, bus, audit_sink=append_entries, event_sink=journal.sink
    )
    own = dataclasses.replace(platform, uow_factory=factory, _pipeline=None)
    with own.uow_factory(write=True) as uow:
        assets_services.import_assets(
            uow,
            [
                light("W1", 5.05, 47.35),
                light("W2", 5.06, 47.35, maintainer="roads"),
                light("E1", 5.15, 47.35, maintainer=None),
            ],
            TEST_ACTOR,
        )
        found = assets_repository.ids_by_ref(uow.connection, {"W1", "W2", "E1"})
        orgs = {o.code: o.id for o in list_organisations(uow.connection) if o.id is not None}
        uow.commit()
    journal.attach()
    yield Setup(own, bus, journal, {ref: i for ref, (i, _) in found.items()}, orgs)
    journal.detach()


def test_a_status_change_is_journaled_with_its_scoping_columns(setup: Setup) -> None:
    setup.set_status("W1", "fault")
    setup.set_status("W2", "maintenance")
    setup.set_status("E1", "offline")
    assert setup.rows() == [
        {
            "id": 1,
            "type": ASSET_STATUS,
            "asset_id": setup.assets["W1"],
            "commune_insee": WEST.insee,
            "maintainer_id": setup.orgs["lumiere-sa"],  # read from the registry
            "kind": "streetlight",
        },
        {
            "id": 2,
            "type": ASSET_STATUS,
            "asset_id": setup.assets["W2"],
            "commune_insee": WEST.insee,
            "maintainer_id": setup.orgs["roads"],
            "kind": "streetlight",
        },
        {
            "id": 3,
            "type": ASSET_STATUS,
            "asset_id": setup.assets["E1"],
            "commune_insee": EAST.insee,
            "maintainer_id": None,
            "kind": "streetlight",
        },
    ]


def test_a_change_rolled_back_or_unchanged_is_not_journaled(setup: Setup) -> None:
    with setup.platform.uow_factory(write=True) as uow:
        assets_services.set_status(uow, setup.assets["W1"], AssetStatus.FAULT, TEST_ACTOR)
        uow.rollback()
    setup.set_status("W1", "ok")  # already ok: no change, no event
    assert setup.rows() == []


def test_the_scope_is_applied_in_the_query(setup: Setup) -> None:
    for ref in ("W1", "W2", "E1"):
        setup.set_status(ref, "fault")
    w1, w2, e1 = setup.assets["W1"], setup.assets["W2"], setup.assets["E1"]
    lumiere, roads = setup.orgs["lumiere-sa"], setup.orgs["roads"]
    assert setup.read() == [w1, w2, e1]
    assert setup.read(Scope(communes=(WEST.insee,))) == [w1, w2]
    assert setup.read(Scope(maintainer_ids=(lumiere,))) == [w1]
    assert setup.read(Scope(maintainer_ids=(roads,), communes=(EAST.insee,))) == []
    assert setup.read(Scope(kinds=("camera",))) == []
    assert setup.read(Scope(communes=())) == []  # an empty scope sees nothing
    assert setup.read(communes=(EAST.insee,)) == [e1]
    assert setup.read(Scope(communes=(WEST.insee,)), communes=(EAST.insee,)) == []
    assert setup.read(types=("alarm.raised",)) == []
    # A key's read scopes are alternatives, each a conjunction: cameras in the West or lights in
    # the East is not lights anywhere.
    either = Scope(
        any_of=(
            Scope(kinds=("camera",), communes=(WEST.insee,)),
            Scope(kinds=("streetlight",), communes=(EAST.insee,)),
        )
    )
    assert setup.read(either) == [e1]
    assert setup.read(Scope(any_of=())) == []


def test_a_scope_dimension_the_stream_does_not_know_fails_closed(setup: Setup) -> None:
    @dataclass(frozen=True, slots=True)
    class WiderScope(Scope):
        districts: tuple[str, ...] | None = None

    setup.set_status("W1", "fault")
    assert setup.read(WiderScope()) == [setup.assets["W1"]]  # nothing restricted, nothing to add
    with pytest.raises(RuntimeError, match="districts"):
        setup.read(WiderScope(districts=("D1",)))


def test_prune_keeps_the_newest_entry_so_ids_never_come_back(setup: Setup) -> None:
    for status in ("fault", "ok", "fault"):
        setup.set_status("W1", status)
    with setup.platform.uow_factory(write=True) as uow:
        assert stream_services.prune(uow, datetime.now(UTC) - timedelta(hours=1)) == 0
        assert stream_services.prune(uow, datetime.now(UTC) + timedelta(hours=1)) == 2
        uow.commit()
    assert [r["id"] for r in setup.rows()] == [3]
    setup.set_status("W1", "ok")
    assert [r["id"] for r in setup.rows()] == [3, 4]


def test_where_a_stream_starts(setup: Setup) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    for status in ("fault", "ok", "fault"):
        setup.set_status("W1", status)
    with setup.platform.uow_factory() as uow:
        start = partial(stream_services.resolve_start, uow)
        assert start(None, None) == stream_services.StreamStart(3)
        assert start(None, before) == stream_services.StreamStart(0)
        assert start(None, datetime.now(UTC)) == stream_services.StreamStart(3)
        assert start(1, None) == stream_services.StreamStart(1)
        assert start(9, None) == stream_services.StreamStart(
            3, {"reason": "unknown_id", "last_event_id": 9, "newest": 3}
        )


# --- alarms and other events, mapped by registration --------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AlarmLike(DomainEvent):
    """Shaped like the alarms context's events: they carry what scoping needs."""

    alarm_id: int
    asset_id: int
    commune_insee: str
    kind: str
    maintainer_id: int | None
    rule_id: int
    severity: str
    actor: str = "olga"


@dataclass(frozen=True, kw_only=True)
class AlarmLikeRaised(AlarmLike):
    message: str = ""


def test_any_event_type_is_journaled_by_registration(setup: Setup) -> None:
    setup.journal.register(AlarmLike, stream_journal.generic_mapper("alarm.acknowledged"))
    setup.journal.register(AlarmLikeRaised, stream_journal.generic_mapper("alarm.raised"))
    event = AlarmLikeRaised(
        alarm_id=12,
        asset_id=setup.assets["E1"],
        commune_insee=EAST.insee,
        kind="streetlight",
        maintainer_id=setup.orgs["roads"],  # the event's word counts, not the registry's
        rule_id=3,
        severity="major",
        message="lamp failure",
    )
    setup.record(event)  # subscribed under both types: journaled once, as the subclass
    [row] = setup.rows()
    assert row["type"] == "alarm.raised"
    assert (row["asset_id"], row["commune_insee"], row["maintainer_id"], row["kind"]) == (
        setup.assets["E1"],
        EAST.insee,
        setup.orgs["roads"],
        "streetlight",
    )
    with setup.platform.uow_factory() as uow:
        [read] = stream_journal.read_after(uow.connection, 0, 1, UNRESTRICTED)
    assert read.payload == {
        "alarm": 12,
        "asset": setup.assets["E1"],
        "commune": EAST.insee,
        "kind": "streetlight",
        "maintainer_id": setup.orgs["roads"],
        "rule_id": 3,
        "severity": "major",
        "message": "lamp failure",
    }  # who acted is not broadcast
    assert read.at == event.occurred_at


def test_the_alarms_context_registers_its_events_with_the_journal(setup: Setup) -> None:
    alarms = pytest.importorskip("metropilot.alarms.model")
    registered = set(setup.journal.event_types)
    assert {
        alarms.AlarmRaised,
        alarms.AlarmAcknowledged,
        alarms.AlarmCleared,
        alarms.AlarmEscalated,
    } <= registered
    entry = setup.journal.entry_for(
        alarms.AlarmCleared(
            alarm_id=1,
            asset_id=setup.assets["W1"],
            commune_insee=WEST.insee,
            kind="streetlight",
            maintainer_id=None,
            rule_id=1,
            rule_code="lamp_failure",
            rule_name="Lamp failure",
            severity="minor",
            opens_case=True,
            actor="olga",
            reason="condition_ended",
        )
    )
    assert entry is not None
    assert entry.type == "alarm.cleared"


def test_the_alarms_context_events_are_journaled(setup: Setup) -> None:
    alarms = pytest.importorskip("metropilot.alarms.model")
    common = {
        "alarm_id": 7,
        "asset_id": setup.assets["W2"],
        "commune_insee": WEST.insee,
        "kind": "streetlight",
        "maintainer_id": setup.orgs["roads"],
        "rule_id": 1,
        "rule_code": "lamp_failure",
        "rule_name": "Lamp failure",
        "severity": "major",
        "opens_case": True,
        "actor": "olga",
    }
    setup.record(alarms.AlarmRaised(**common, message="lamp failure"))
    setup.record(alarms.AlarmAcknowledged(**common))
    setup.record(alarms.AlarmEscalated(**common, level=1, unacknowledged_s=900.0))
    setup.record(alarms.AlarmCleared(**common, reason="condition_ended"))
    rows = setup.rows()
    assert [r["type"] for r in rows] == [
        "alarm.raised",
        "alarm.acknowledged",
        "alarm.escalated",
        "alarm.cleared",
    ]
    assert {(r["asset_id"], r["commune_insee"], r["maintainer_id"]) for r in rows} == {
        (setup.assets["W2"], WEST.insee, setup.orgs["roads"])
    }
    with setup.platform.uow_factory() as uow:
        events = stream_journal.read_after(
            uow.connection, 0, 4, Scope(maintainer_ids=(setup.orgs["roads"],))
        )
    assert [e.payload["alarm"] for e in events] == [7, 7, 7, 7]
    assert events[0].payload["severity"] == "major"
    assert events[0].payload["rule_code"] == "lamp_failure"
    assert events[3].payload["reason"] == "condition_ended"
    assert all("actor" not in e.payload for e in events)


def test_a_failing_journal_does_not_undo_the_change(setup: Setup) -> None:
    def broken(_: object) -> JournalEntry:
        raise RuntimeError("mapping bug")

    setup.journal.register(assets_services.AssetStatusChanged, broken)
    setup.set_status("W1", "fault")  # the journal logs the failure; the change stands
    with setup.platform.uow_factory() as uow:
        assert assets_services.get_asset(uow, setup.assets["W1"]).status is AssetStatus.FAULT
    assert setup.rows() == []


def test_the_signal_tells_this_process_the_newest_id(setup: Setup) -> None:
    heard: list[int] = []

    class Listener:
        def on_append(self, newest: int) -> None:
            heard.append(newest)

    listener = Listener()
    stream_journal.signal_for(setup.platform.engine).listen(listener.on_append)
    setup.set_status("W1", "fault")
    setup.set_status("W1", "ok")
    assert heard == [1, 2]
    del listener  # held weakly: a listener that is gone is forgotten
    setup.set_status("W1", "fault")
    assert heard == [1, 2]


def test_ids_become_visible_in_order_under_concurrent_appends(setup: Setup) -> None:
    """A follower that jumps its position to the newest id it saw must miss nothing, however
    many writers append at once (PostgreSQL draws ids before commit: the journal serialises)."""
    writers, per_writer = 4, 25
    entry = JournalEntry(
        type=ASSET_STATUS,
        at=datetime.now(UTC),
        payload={"asset": setup.assets["W1"]},
        asset_id=setup.assets["W1"],
        maintainer_known=False,
    )
    done = threading.Event()
    seen: list[int] = []

    def follow() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            with setup.platform.uow_factory() as uow:
                newest = stream_journal.newest_id(uow.connection)
                events = stream_journal.read_after(
                    uow.connection, cursor, newest, UNRESTRICTED, limit=10_000
                )
            seen.extend(e.id for e in events)
            cursor = newest
            if finished:
                return

    def write() -> None:
        for _ in range(per_writer):
            with setup.platform.uow_factory(write=True) as uow:
                stream_journal.append(uow.connection, [entry])
                uow.commit()

    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    follower.join()
    written = [r["id"] for r in setup.rows()]
    assert len(written) == writers * per_writer
    assert seen == written
