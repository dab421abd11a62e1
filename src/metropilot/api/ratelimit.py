"""In-process rate limits (sliding window per client address).

Limits are per server process: with several workers behind a load balancer each counts its own
share, which still stops a password-guessing script. Account lockout, stored in the database,
is the limit that holds across processes.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from fastapi import Request

from metropilot.shared.errors import DomainError

__all__ = ["RateLimited", "SlidingWindowLimiter", "client_address"]


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> None:
        """Count one attempt; raise RateLimited when the window is full."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = int(hits[0] + self.window_s - now) + 1
                raise RateLimited(
                    f"too many attempts from this address; try again in {retry} s",
                    details={"retry_after_s": retry},
                )
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle addresses rather than grow forever
                for stale in [
                    k for k, v in self._hits.items() if not v or v[-1] < now - self.window_s
                ]:
                    del self._hits[stale]
