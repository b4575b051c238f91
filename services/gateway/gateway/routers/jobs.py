"""Jobs: list a project's jobs, read one, cancel one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query
from sqlalchemy import select

from shared_model import jobs
from shared_model.models import Job, JobState, UserRole
from shared_model.service import problem

from ..deps import CurrentUser, SessionDep
from ..domain import stored_files
from ..policies import Action, Permit, allow, may_see_job, project_role
from ..schemas import JobOut

router = APIRouter(prefix="/api/v1", tags=["jobs"])


def visible_job(session: SessionDep, user: CurrentUser, job_id: uuid.UUID) -> tuple[Job, UserRole | None]:
    """A job of a project the user belongs to and whose kind their role may see (or one they created without a
    project), with the user's role in its project; 404 otherwise."""
    job = session.get(Job, job_id)
    if job is None:
        raise problem(404, f"job {job_id} does not exist")
    role: UserRole | None = None
    if job.project_id is not None and job.kind != "project_delete":
        role = project_role(session, user, job.project_id)
        if not may_see_job(user, role, job.kind):
            raise problem(404, f"job {job_id} does not exist")
    elif job.created_by != user.id:
        raise problem(404, f"job {job_id} does not exist")
    return job, role


def job_out(session: SessionDep, job: Job, positions: dict[uuid.UUID, int] | None = None) -> JobOut:
    """The job with its queue position while it is queued."""
    out = JobOut.model_validate(job)
    if job.state == JobState.QUEUED:
        out.queue_position = positions.get(job.id) if positions is not None else jobs.queue_position(session, job)
    return out


@router.get("/projects/{project_id}/jobs", response_model=list[JobOut])
def list_jobs(
    permit: Annotated[Permit, allow(Action.READ_PROJECT)], session: SessionDep, limit: int = Query(50, ge=1, le=500)
) -> list[JobOut]:
    """The project's jobs that the caller's role may see, newest first; a queued one with its place in its service's
    queue (``queue_position``)."""
    query = select(Job).where(Job.project_id == permit.project_id).order_by(Job.created_at.desc()).limit(limit)
    found = [job for job in session.scalars(query) if may_see_job(permit.user, permit.role, job.kind)]
    positions: dict[uuid.UUID, int] = {}
    for service in {job.owner_service for job in found if job.state == JobState.QUEUED}:
        positions.update(jobs.queue_positions(session, service))
    return [job_out(session, job, positions) for job in found]


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=[allow(Action.SIGNED_IN)])
def get_job(job_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> JobOut:
    """One job's state, progress and result; while queued, its place in its service's queue (``queue_position``,
    1 = it starts next)."""
    return job_out(session, visible_job(session, user, job_id)[0])


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, dependencies=[allow(Action.SIGNED_IN)])
def cancel_job(job_id: uuid.UUID, user: CurrentUser, session: SessionDep, background: BackgroundTasks) -> Job:
    """Cancel a queued or running job (a finished one is returned unchanged)."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise problem(404, f"job {job_id} does not exist")
    _, role = visible_job(session, user, job_id)
    if job.created_by != user.id:  # someone else's job: cancelling it changes the project
        Permit(user=user, role=role).require(Action.EDIT_PROJECT)
    was_queued = job.state == JobState.QUEUED
    jobs.request_cancel(session, job)
    path = stored_files.stored_file(job) if was_queued else None
    if path is not None:  # it will never run: its stored upload goes once the cancel is committed
        background.add_task(path.unlink, missing_ok=True)
    return job
