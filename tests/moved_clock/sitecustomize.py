"""Loaded at the start of every Python process of the moved-clock run, and only there
(``scripts/check.sh`` puts this folder on ``PYTHONPATH`` for that run; see docs/development.md).

libfaketime 0.9.10, Debian's, moves the absolute deadline that ``clock_nanosleep`` is given
even on the monotonic clock it was told to leave alone, so ``time.sleep`` (which sleeps until a
monotonic deadline) fails with EINVAL. The run's processes sleep through ``select`` instead, with
a relative timeout, which libfaketime leaves as it is. Nothing else changes.
"""

from __future__ import annotations

import os
import select
import time

if os.environ.get("FAKETIME"):
    _monotonic = time.monotonic

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _monotonic() + seconds
        while (left := deadline - _monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
