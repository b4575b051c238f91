"""How many full runs the executor runs at once, and how long each may take.

Full runs (heuristic runs, attribute calculations, active learners) are jobs; ``executor_run_concurrency`` claim
loops take them in the fair order of :func:`shared_model.jobs.claim`, and one project runs at most
``executor_runs_per_project`` of them at once (default: one place fewer, so another project's run starts at once).
Each run's time limit is its project's ``run_time_limit_s`` (within the installation's maximum): the sandbox's wall
time never reaches past it, and the handler's checks fail the run with the reason once it is over.
"""

from __future__ import annotations

import os
from dataclasses import replace

from shared_model.db import session_scope
from shared_model.jobs import JobContext
from shared_model.models import Job, Project
from shared_model.run_limits import project_run_time_limit
from shared_model.settings import get_settings

from .sandbox.backends import Limits


def run_concurrency() -> int:
    """Full runs one executor process runs at once (the ``executor_run_concurrency`` setting; 0 = the core count)."""
    configured = get_settings().executor_run_concurrency
    return configured if configured > 0 else max(1, os.cpu_count() or 1)


def runs_per_project() -> int:
    """Full runs of one project at once (``executor_runs_per_project``; 0 = one place fewer than the concurrency)."""
    configured = get_settings().executor_runs_per_project
    return configured if configured > 0 else max(1, run_concurrency() - 1)


def job_time_limit(job: Job) -> float:
    """The time limit of a full run: its project's ``run_time_limit_s`` (or the installation default)."""
    if job.project_id is None:
        return float(get_settings().run_time_limit_default_s)
    with session_scope() as session:
        project = session.get(Project, job.project_id)
        return float(project_run_time_limit(project.settings if project is not None else None))


def within_time_limit(limits: Limits, ctx: JobContext) -> Limits:
    """``limits`` with a wall time that ends with the run's time limit, plus a second: the job's own check (the
    sandbox session's poll, about once a second) fails the run first, naming the run's time limit."""
    ctx.check_time()
    remaining = ctx.remaining_s()
    if remaining is None or remaining + 1.0 >= limits.wall_time_s:
        return limits
    return replace(limits, wall_time_s=round(remaining + 1.0, 1))
