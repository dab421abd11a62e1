"""The queue of SQLite writers: one transaction at a time, first come first served, released by
whichever thread ends the transaction, and never waited for longer than its caller asked."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from metropilot.db.uow import (
    BlockingOnEventLoop,
    WriterQueue,
    mark_serving_loop,
    refuse_on_event_loop,
)


def in_thread(action: object) -> None:
    thread = threading.Thread(target=action)  # type: ignore[arg-type]
    thread.start()
    thread.join(5)
    assert not thread.is_alive()


def test_released_by_another_thread_then_taken_again() -> None:
    queue = WriterQueue()
    in_thread(queue.acquire)  # a request's transaction begun in one worker thread…
    in_thread(queue.release)  # …ended in another
    taken = threading.Event()

    def write() -> None:
        assert queue.acquire(5)
        taken.set()
        queue.release()

    in_thread(write)
    assert taken.is_set()


def test_writers_take_their_turns_in_the_order_they_came() -> None:
    queue = WriterQueue()
    assert queue.acquire()
    order: list[int] = []
    threads = []
    for number in range(5):

        def write(number: int = number) -> None:
            assert queue.acquire(10)
            order.append(number)
            queue.release()

        thread = threading.Thread(target=write)
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while queue.waiting < number + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
    assert queue.waiting == 5
    # The holder writes again at once, as a busy loop would: it queues behind the others.
    queue.release()
    assert queue.acquire(10)
    order.append(99)
    queue.release()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4, 99]


def test_a_waiter_gives_up_after_its_timeout_and_leaves_the_queue() -> None:
    queue = WriterQueue()
    assert queue.acquire()
    started = time.monotonic()
    assert queue.acquire(0.05) is False
    assert time.monotonic() - started >= 0.05
    assert queue.waiting == 0
    queue.release()
    assert queue.acquire(0)  # free again: the one that gave up holds nothing
    queue.release()


def test_releasing_what_is_not_held_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        WriterQueue().release()


def test_database_work_is_refused_on_the_thread_of_a_loop_serving_requests() -> None:
    refuse_on_event_loop()  # a plain thread: allowed

    async def on_another_loop() -> None:
        refuse_on_event_loop()  # a loop that serves no request (a browser driver's): allowed

    asyncio.run(on_another_loop())

    async def on_the_serving_loop() -> None:
        mark_serving_loop()
        refuse_on_event_loop()

    with pytest.raises(BlockingOnEventLoop):
        asyncio.run(on_the_serving_loop())

    async def in_a_worker() -> None:
        mark_serving_loop()
        await asyncio.to_thread(refuse_on_event_loop)

    asyncio.run(in_a_worker())
