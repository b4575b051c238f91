"""``GET /sandbox``: which backend runs user code here, with the default limits."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from shared_model.settings import get_settings

from ..interactive import interactive_memory_mb, interactive_pool
from ..project_context import FULL_LIMITS, SAMPLE_LIMITS
from ..sandbox.availability import check_sandbox
from ..scheduling import run_concurrency, runs_per_project

router = APIRouter(tags=["sandbox"])


@router.get("/sandbox")
def sandbox_status() -> dict[str, Any]:
    """The backend in use (or why there is none: ``error``; probed at most every executor_sandbox_recheck_s), the
    default limits of sample and full runs, the interactive pool (size, places in use, memory per sandbox and in all)
    and how many full runs run at once."""
    check = check_sandbox()
    pool = interactive_pool()
    return {
        "backend": check.backend,
        "error": check.reason,
        "checked_at": check.checked_at,
        "sample_limits": asdict(SAMPLE_LIMITS),
        "full_limits": asdict(FULL_LIMITS),
        "interactive": {
            "pool": pool.size,
            "busy": pool.busy,
            "memory_mb_each": interactive_memory_mb(),
            "memory_mb_total": get_settings().executor_interactive_memory_mb,
        },
        "full_runs": {"concurrency": run_concurrency(), "per_project": runs_per_project()},
    }
