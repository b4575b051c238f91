"""Refuse, with 503 naming the reason, the requests that need the executor's sandbox while it has none.

Routes that run user code (labeling function and attribute samples, the record IDE, heuristic and active-learner runs,
attribute calculations) depend on :func:`require_sandbox`: rather than queueing a job that can only fail, they answer
503 with the executor's reason ("bubblewrap not found at …"). An executor that cannot be reached is not a refusal for
queued work: jobs wait in PostgreSQL until it is back (synchronous calls fail on their own with 503 naming it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.exceptions import HTTPException

from shared_model.models import User
from shared_model.service import ProblemError, problem

from .clients import ServiceClient
from .deps import get_current_user


async def require_sandbox(user: Annotated[User, Depends(get_current_user)]) -> None:
    """503 when the executor says user code cannot run (the caller is authenticated first)."""
    try:
        response = await ServiceClient("executor", retries=0).request("GET", "/sandbox")
    except (ProblemError, HTTPException):
        return  # unreachable or slow: the executor is down, and its health says so; queued jobs wait for it
    if response.status_code != 200:
        return
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict) and body.get("backend") is None:
        raise problem(503, f"executor: {body.get('error') or 'user code cannot run: no sandbox is available'}")


SandboxRequired = Depends(require_sandbox)
