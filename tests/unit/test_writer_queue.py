"""The queue of SQLite writers: one at a time, re-entrant for its holder, and released by
whichever thread ends the unit of work (the web framework may enter a request's unit of work in
one worker thread and leave it in another)."""

from __future__ import annotations

import threading

import pytest

from metropilot.db.uow import WriterQueue


def in_thread(action: object) -> None:
    thread = threading.Thread(target=action)  # type: ignore[arg-type]
    thread.start()
    thread.join(5)
    assert not thread.is_alive()


def test_released_by_another_thread_then_taken_again() -> None:
    queue = WriterQueue()
    in_thread(queue.acquire)  # entered in one worker thread…
    in_thread(queue.release)  # …left in another
    taken = threading.Event()

    def write() -> None:
        queue.acquire()
        taken.set()
        queue.release()

    in_thread(write)
    assert taken.is_set()


def test_re_entrant_for_its_holder_and_exclusive_for_others() -> None:
    queue = WriterQueue()
    queue.acquire()
    queue.acquire()  # an event handler writing inside the outer write, same thread
    other = threading.Event()

    def waiter() -> None:
        queue.acquire()
        other.set()
        queue.release()

    thread = threading.Thread(target=waiter)
    thread.start()
    assert not other.wait(0.1)  # held twice: the other writer waits
    queue.release()
    assert not other.wait(0.1)  # still held once
    queue.release()
    assert other.wait(5)
    thread.join(5)


def test_releasing_what_is_not_held_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        WriterQueue().release()
