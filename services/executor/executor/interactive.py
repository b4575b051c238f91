"""The bounded pool of interactive sandboxes (run on sample, record IDE): never more than ``executor_interactive_pool``
at once, each within its share of ``executor_interactive_memory_mb``; a call beyond the pool is refused with 429 and
``Retry-After`` at once instead of starting one more sandbox.

Total memory of interactive sandboxes <= pool x per-sandbox limit <= executor_interactive_memory_mb, because each
gets ``min(its project's memory limit, executor_interactive_memory_mb // executor_interactive_pool)`` (the limit is
the sandbox's address-space limit, which bounds its resident memory too).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from shared_model.service import problem
from shared_model.settings import get_settings

from .sandbox.backends import Limits

RETRY_AFTER_MIN_S = 1
RETRY_AFTER_MAX_S = 60


class InteractivePool:
    """A non-blocking counting semaphore that also remembers how long recent calls took (for ``Retry-After``)."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
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
                f"{what}: all {self.size} interactive sandboxes of the executor are busy"
                f" (REFINERY_EXECUTOR_INTERACTIVE_POOL); retry in {wait} s",
                headers={"Retry-After": str(wait)},
                retry_after_s=wait,
            )
        try:
            yield
        finally:
            with self._lock:
                started = self._busy.pop(number)
                self._durations.append(time.monotonic() - started)


_POOL: InteractivePool | None = None
_POOL_LOCK = threading.Lock()


def interactive_pool() -> InteractivePool:
    """The process's pool, sized by ``executor_interactive_pool``."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = InteractivePool(get_settings().executor_interactive_pool)
        return _POOL


def interactive_memory_mb() -> int:
    """Each interactive sandbox's share of ``executor_interactive_memory_mb``."""
    settings = get_settings()
    return max(1, settings.executor_interactive_memory_mb // max(1, settings.executor_interactive_pool))


def interactive_limits(limits: Limits) -> Limits:
    """``limits`` (a project's sample limits) with the memory limit no larger than the sandbox's share."""
    share = interactive_memory_mb()
    return limits if limits.memory_mb <= share else replace(limits, memory_mb=share)
