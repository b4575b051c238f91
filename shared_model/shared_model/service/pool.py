"""A bounded pool for interactive calls: at most ``size`` at once; a call beyond it is refused at once with a 429
problem response and ``Retry-After`` (seconds, from how long recent calls took), never queued without bound."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import problem

RETRY_AFTER_MIN_S = 1
RETRY_AFTER_MAX_S = 60


class InteractivePool:
    """A non-blocking counting semaphore that also remembers how long recent calls took (for ``Retry-After``)."""

    def __init__(self, size: int, setting: str, what: str = "interactive sandboxes") -> None:
        self.size = max(1, size)
        self.setting = setting  # named in the 429's message: the setting that sizes the pool
        self.what = what
        self._lock = threading.Lock()
        self._busy: dict[int, float] = {}  # call number -> when it started
        self._next = 0
        self._durations: deque[float] = deque(maxlen=20)

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._busy)

    def retry_after_s(self) -> int:
        """When a place is likely free: the oldest running call's expected end (by recent durations), in whole s."""
        with self._lock:
            typical = sorted(self._durations)[len(self._durations) // 2] if self._durations else 2.0
            now = time.monotonic()
            soonest = min((typical - (now - started) for started in self._busy.values()), default=0.0)
        return int(min(RETRY_AFTER_MAX_S, max(RETRY_AFTER_MIN_S, math.ceil(soonest))))

    @contextmanager
    def slot(self, what: str) -> Iterator[None]:
        """Hold one place while the body runs; a ProblemError 429 with ``Retry-After`` when all are taken."""
        with self._lock:
            full = len(self._busy) >= self.size
            if not full:
                number = self._next
                self._next += 1
                self._busy[number] = time.monotonic()
        if full:
            wait = self.retry_after_s()
            raise problem(
                429,
                f"{what}: all {self.size} {self.what} are busy ({self.setting}); retry in {wait} s",
                headers={"Retry-After": str(wait)},
                retry_after_s=wait,
            )
        try:
            yield
        finally:
            with self._lock:
                started = self._busy.pop(number)
                self._durations.append(time.monotonic() - started)
