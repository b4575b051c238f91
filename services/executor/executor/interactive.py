"""The bounded pool of interactive sandboxes (run on sample, record IDE): never more than ``executor_interactive_pool``
at once, each within its share of ``executor_interactive_memory_mb``; a call beyond the pool is refused with 429 and
``Retry-After`` at once instead of starting one more sandbox.

Total memory of interactive sandboxes <= pool x per-sandbox limit <= executor_interactive_memory_mb, because each
gets ``min(its project's memory limit, executor_interactive_memory_mb // executor_interactive_pool)`` (the limit is
the sandbox's address-space limit, which bounds its resident memory too).
"""

from __future__ import annotations

import threading
from dataclasses import replace

from shared_model.service.pool import InteractivePool
from shared_model.settings import get_settings

from .sandbox.backends import Limits

__all__ = ["InteractivePool", "interactive_limits", "interactive_memory_mb", "interactive_pool"]


_POOL: InteractivePool | None = None
_POOL_LOCK = threading.Lock()


def interactive_pool() -> InteractivePool:
    """The process's pool, sized by ``executor_interactive_pool``."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = InteractivePool(
                get_settings().executor_interactive_pool,
                "REFINERY_EXECUTOR_INTERACTIVE_POOL",
                "interactive sandboxes of the executor",
            )
        return _POOL


def interactive_memory_mb() -> int:
    """Each interactive sandbox's share of ``executor_interactive_memory_mb``."""
    settings = get_settings()
    return max(1, settings.executor_interactive_memory_mb // max(1, settings.executor_interactive_pool))


def interactive_limits(limits: Limits) -> Limits:
    """``limits`` (a project's sample limits) with the memory limit no larger than the sandbox's share."""
    share = interactive_memory_mb()
    return limits if limits.memory_mb <= share else replace(limits, memory_mb=share)
