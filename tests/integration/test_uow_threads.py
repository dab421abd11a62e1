"""A write unit of work entered in one thread and left in another — as the web framework does
with a request's dependencies — frees the writers' queue for the next writer."""

from __future__ import annotations

import threading
from typing import Any

from metropilot.bootstrap import Platform


def test_a_write_left_by_another_thread_lets_the_next_one_in(platform: Platform) -> None:
    holder: dict[str, Any] = {}
    entered, left = threading.Event(), threading.Event()

    def enter() -> None:  # a worker thread that lives on, as a pool's does
        uow = platform.uow_factory(write=True)
        uow.__enter__()
        uow.connection.exec_driver_sql("SELECT 1")  # the transaction begins at its first use
        holder["uow"] = uow
        entered.set()
        left.wait(10)

    def leave() -> None:
        holder["uow"].__exit__(None, None, None)

    worker = threading.Thread(target=enter)
    worker.start()
    assert entered.wait(5)
    other = threading.Thread(target=leave)
    other.start()
    other.join(5)
    wrote = threading.Event()

    def next_writer() -> None:
        with platform.uow_factory(write=True) as uow:
            uow.commit()
        wrote.set()

    thread = threading.Thread(target=next_writer, daemon=True)
    thread.start()
    try:
        assert wrote.wait(5), "the next writer waited for a queue nobody holds"
    finally:
        left.set()  # the first worker lives on until now: its thread id is not reused
        worker.join(5)


def test_a_handler_of_a_committed_event_writes_in_the_thread_that_committed(
    platform: Platform,
) -> None:
    """The bus delivers after the commit has ended the transaction: a handler may write at once
    (cases open from alarms and reports that way), whichever worker thread committed."""
    from dataclasses import dataclass

    from metropilot.shared.events import DomainEvent

    @dataclass(frozen=True, kw_only=True)
    class Noticed(DomainEvent):
        pass

    assert platform.bus is not None
    handled = threading.Event()

    def write_on_notice(_: Noticed) -> None:
        with platform.uow_factory(write=True) as uow:
            uow.connection.exec_driver_sql("SELECT 1")
            uow.commit()
        handled.set()

    platform.bus.subscribe(Noticed, write_on_notice)
    try:

        def commit_with_event() -> None:
            with platform.uow_factory(write=True) as uow:
                uow.connection.exec_driver_sql("SELECT 1")
                uow.record(Noticed())
                uow.commit()

        thread = threading.Thread(target=commit_with_event, daemon=True)
        thread.start()
        thread.join(10)
        assert handled.is_set(), "the handler waited for the writer its own commit held"
    finally:
        platform.bus.unsubscribe(Noticed, write_on_notice)


def test_database_work_on_an_event_loop_is_refused_before_it_blocks(platform: Platform) -> None:
    import asyncio

    import pytest

    from metropilot.db.uow import BlockingOnEventLoop, mark_serving_loop

    async def on_the_loop() -> None:
        mark_serving_loop()  # as the web application does on every request
        with platform.uow_factory(write=True) as uow:
            uow.connection.exec_driver_sql("SELECT 1")

    with pytest.raises(BlockingOnEventLoop):
        asyncio.run(on_the_loop())
    # …and nothing was left held: the next writer goes in at once.
    with platform.uow_factory(write=True) as uow:
        uow.connection.exec_driver_sql("SELECT 1")
        uow.commit()


def test_the_web_application_refuses_a_route_that_queries_on_its_event_loop(
    platform: Platform,
) -> None:
    """The application marks the loop it serves on: a route that queries there fails loudly
    (a 500 in its tests) rather than stalling every other request in production."""
    from fastapi.testclient import TestClient

    from metropilot.web.app import create_app

    app = create_app(platform)

    @app.get("/test-only/query-on-the-loop")
    async def query_on_the_loop() -> dict[str, int]:
        with platform.uow_factory() as uow:
            return {"one": int(uow.connection.exec_driver_sql("SELECT 1").scalar_one())}

    @app.get("/test-only/query-in-a-worker")
    def query_in_a_worker() -> dict[str, int]:
        with platform.uow_factory() as uow:
            return {"one": int(uow.connection.exec_driver_sql("SELECT 1").scalar_one())}

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/test-only/query-on-the-loop").status_code == 500
        assert client.get("/test-only/query-in-a-worker").json() == {"one": 1}
