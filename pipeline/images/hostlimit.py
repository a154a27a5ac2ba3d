"""At most N requests in flight to one host, across all threads of a process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class HostLimiter:
    """Counting slots per host name; a host's entry disappears when idle, so memory stays
    bounded by the hosts currently in flight, not all hosts ever seen."""

    def __init__(self, per_host: int) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be >= 1, got {per_host}")
        self.per_host = per_host
        self._cond = threading.Condition()
        self._active: dict[str, int] = {}

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        self.acquire(host)
        try:
            yield
        finally:
            self.release(host)

    def acquire(self, host: str) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._active.get(host, 0) < self.per_host)
            self._active[host] = self._active.get(host, 0) + 1

    def release(self, host: str) -> None:
        with self._cond:
            left = self._active[host] - 1
            if left:
                self._active[host] = left
            else:
                del self._active[host]
            self._cond.notify_all()
