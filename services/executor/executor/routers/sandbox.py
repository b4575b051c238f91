"""``GET /sandbox``: which backend runs user code here, with the default limits."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from ..runs import FULL_LIMITS, SAMPLE_LIMITS
from ..sandbox.availability import check_sandbox

router = APIRouter(tags=["sandbox"])


@router.get("/sandbox")
def sandbox_status() -> dict[str, Any]:
    """The backend in use (or why there is none: ``error``; probed at most every executor_sandbox_recheck_s) and the
    default limits of sample and full runs."""
    check = check_sandbox()
    return {
        "backend": check.backend,
        "error": check.reason,
        "checked_at": check.checked_at,
        "sample_limits": asdict(SAMPLE_LIMITS),
        "full_limits": asdict(FULL_LIMITS),
    }
