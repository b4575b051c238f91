"""``GET /sandbox``: which backend runs user code here, with the default limits."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from ..runs import FULL_LIMITS, SAMPLE_LIMITS
from ..sandbox.backends import SandboxUnavailable, get_backend

router = APIRouter(tags=["sandbox"])


@router.get("/sandbox")
def sandbox_status() -> dict[str, Any]:
    """The backend in use (or why there is none) and the default limits of sample and full runs."""
    try:
        backend: str | None = get_backend().name
        error = None
    except SandboxUnavailable as exc:
        backend, error = None, str(exc)
    return {"backend": backend, "error": error, "sample_limits": asdict(SAMPLE_LIMITS), "full_limits": asdict(FULL_LIMITS)}
