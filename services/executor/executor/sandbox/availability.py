"""Whether user code can run here: the sandbox probe, cached for ``executor_sandbox_recheck_s``.

The executor probes at start (the full probe: the real sandbox running its worker), its ``/health`` and ``/sandbox``
report the cached answer (re-probing when it is older than the setting), and the routes that run user code refuse
with 503 naming the reason while there is no sandbox.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from shared_model.service import problem
from shared_model.settings import get_settings

from .backends import SandboxUnavailable, bwrap_unusable, get_backend, reset_backend

log = logging.getLogger("executor.sandbox")


@dataclass(frozen=True)
class SandboxCheck:
    backend: str | None  # bwrap, docker or unsafe; None when user code cannot run
    reason: str | None  # why not (None when it can)
    checked_at: float  # time.time() of the probe

    @property
    def usable(self) -> bool:
        return self.backend is not None

    def health(self) -> dict[str, Any]:
        """This check as a part of the service's ``/health``."""
        body: dict[str, Any] = {"status": "ok" if self.usable else "unavailable", "backend": self.backend}
        if self.reason:
            body["reason"] = self.reason
        if self.backend == "unsafe":
            body["warning"] = "user code runs WITHOUT a sandbox (REFINERY_EXECUTOR_ALLOW_UNSAFE=true)"
        body["checked_at"] = self.checked_at
        return body


_LOCK = threading.Lock()
_LAST: SandboxCheck | None = None


def check_sandbox(*, force: bool = False) -> SandboxCheck:
    """The last probe when younger than ``executor_sandbox_recheck_s``, else a new one."""
    global _LAST
    with _LOCK:
        max_age = get_settings().executor_sandbox_recheck_s
        if not force and _LAST is not None and time.time() - _LAST.checked_at < max_age:
            return _LAST
        reset_backend()
        try:
            backend = get_backend()
            problem_text = bwrap_unusable(get_settings().executor_bwrap_path, full=True) if backend.name == "bwrap" else None
            if problem_text is None:
                result = SandboxCheck(backend.name, None, time.time())
            else:  # namespaces work, the real sandbox does not: no run could
                reset_backend()
                result = SandboxCheck(None, f"user code cannot run: {problem_text}", time.time())
        except SandboxUnavailable as exc:
            result = SandboxCheck(None, str(exc), time.time())
        if result.reason and (_LAST is None or _LAST.reason != result.reason):
            log.warning("no sandbox: user code cannot run", extra={"reason": result.reason})
        _LAST = result
        return result


def require_sandbox() -> None:
    """503 naming the reason when user code cannot run here."""
    check = check_sandbox()
    if not check.usable:
        raise problem(503, check.reason or "user code cannot run: no sandbox is available")
