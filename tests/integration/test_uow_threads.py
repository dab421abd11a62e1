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
