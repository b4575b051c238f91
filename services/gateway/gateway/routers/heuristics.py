"""Heuristics of a project: labeling functions (create, edit, delete, run on a sample, full runs with logs and
cancel) and pre-computed heuristics whose results are posted by primary key (the SDK's ``post_associations``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from shared_model import heuristic_results, jobs
from shared_model.models import HeuristicRun, HeuristicType, InformationSource, Job, RunState
from shared_model.service import problem
from shared_model.service.crud import apply_patch

from ..clients import ServiceClient
from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain.heuristics import (
    ensure_unique_name,
    get_heuristic,
    get_task,
    import_associations,
    latest_runs,
    learner_template,
    start_runs,
    stop_active_runs,
)
from ..policies import Action, allow
from ..sandbox_check import SandboxRequired
from ..schemas import JobOut, RequestModel
from .jobs import job_out

router = APIRouter(prefix="/api/v1/projects/{project_id}/heuristics", tags=["heuristics"])
SAMPLE_TIMEOUT = httpx.Timeout(180.0, connect=5.0)
EDITABLE_TYPES = (HeuristicType.LABELING_FUNCTION, HeuristicType.ACTIVE_LEARNING, HeuristicType.PRE_COMPUTED)
CODE_TYPES = (HeuristicType.LABELING_FUNCTION, HeuristicType.ACTIVE_LEARNING)


class HeuristicCreate(RequestModel):
    labeling_task_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    source_code: str = Field(default="", max_length=200_000)
    type: HeuristicType = HeuristicType.LABELING_FUNCTION


class HeuristicUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    source_code: str | None = Field(default=None, max_length=200_000)
    is_selected: bool | None = None


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source_id: uuid.UUID
    job_id: uuid.UUID | None
    state: RunState
    progress: float
    source_code: str
    logs: list[str]
    error: str | None
    details: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None = None


class HeuristicOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    labeling_task_id: uuid.UUID
    type: HeuristicType
    name: str
    description: str
    source_code: str
    is_selected: bool
    created_at: datetime
    last_run: RunOut | None = None
    association_count: int = 0


class SampleIn(RequestModel):
    source_code: str | None = Field(default=None, max_length=200_000, description="Code to try; default the saved code.")
    record_ids: list[int] | None = Field(default=None, max_length=1000)
    sample_size: int = Field(default=10, ge=1, le=1000)


class StartRunsIn(RequestModel):
    heuristic_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)


class StartedRuns(BaseModel):
    runs: list[RunOut]
    job: JobOut


class AssociationsIn(RequestModel):
    indices: list[Any] = Field(description="Primary keys: a value, or an object of key attribute -> value.")
    associations: list[Any] = Field(description="Per index: a label, [label, confidence], or a list of spans.")


def run_out(run: HeuristicRun) -> RunOut:
    out = RunOut.model_validate(run)
    if run.started_at and run.finished_at:
        out.duration_s = round((run.finished_at - run.started_at).total_seconds(), 3)
    return out


def heuristic_out(session: SessionDep, source: InformationSource, last: HeuristicRun | None) -> HeuristicOut:
    out = HeuristicOut.model_validate(source)
    out.last_run = run_out(last) if last is not None else None
    out.association_count = heuristic_results.result_count(session, source.id)
    return out


@router.get("", response_model=list[HeuristicOut], dependencies=[allow(Action.READ_HEURISTICS)])
def list_heuristics(
    project: ProjectDep, session: SessionDep, labeling_task_id: uuid.UUID | None = Query(default=None)
) -> list[HeuristicOut]:
    """The project's heuristics (optionally of one task), each with its last run."""
    query = select(InformationSource).where(InformationSource.project_id == project.id)
    if labeling_task_id is not None:
        query = query.where(InformationSource.labeling_task_id == labeling_task_id)
    sources = session.scalars(query.order_by(InformationSource.created_at)).all()
    last = latest_runs(session, [s.id for s in sources])
    return [heuristic_out(session, s, last.get(s.id)) for s in sources]


@router.post("", response_model=HeuristicOut, status_code=201, dependencies=[allow(Action.RUN_CODE)])
def create_heuristic(body: HeuristicCreate, project: ProjectDep, user: CurrentUser, session: SessionDep) -> HeuristicOut:
    """Create a labeling function (code), an active learner (code; empty code gets the default learner for the
    task on its first embedding) or a pre-computed heuristic (results posted later) for a labeling task."""
    if body.type not in EDITABLE_TYPES:
        raise problem(422, f"type must be one of {', '.join(t.value for t in EDITABLE_TYPES)} here")
    task = get_task(session, project, body.labeling_task_id)
    if body.type == HeuristicType.ACTIVE_LEARNING and not body.source_code.strip():
        body.source_code = learner_template(session, task)
    name = body.name.strip()
    ensure_unique_name(session, project, name)
    source = InformationSource(
        project_id=project.id,
        labeling_task_id=task.id,
        type=body.type,
        name=name,
        description=body.description,
        source_code=body.source_code,
        created_by=user.id,
    )
    session.add(source)
    session.flush()
    session.refresh(source)
    return heuristic_out(session, source, None)


@router.get("/{heuristic_id}", response_model=HeuristicOut, dependencies=[allow(Action.READ_HEURISTICS)])
def get_one(heuristic_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> HeuristicOut:
    """One heuristic with its last run."""
    source = get_heuristic(session, project, heuristic_id)
    return heuristic_out(session, source, latest_runs(session, [source.id]).get(source.id))


@router.patch("/{heuristic_id}", response_model=HeuristicOut, dependencies=[allow(Action.RUN_CODE)])
def update_heuristic(heuristic_id: uuid.UUID, body: HeuristicUpdate, project: ProjectDep, session: SessionDep) -> HeuristicOut:
    """Rename, describe, edit the code of, or (de)select a heuristic; results stay until the next successful run."""
    source = get_heuristic(session, project, heuristic_id)
    if body.name is not None:
        ensure_unique_name(session, project, body.name.strip(), exclude=source.id)
    apply_patch(source, body, clean={"name": str.strip})
    session.flush()
    return heuristic_out(session, source, latest_runs(session, [source.id]).get(source.id))


@router.delete("/{heuristic_id}", status_code=204, dependencies=[allow(Action.EDIT_PROJECT)])
def delete_heuristic(heuristic_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    """Delete a heuristic with its runs, statistics and results; a running run is cancelled first, and the deletion
    waits (a bounded time; 409 after it) until it has stopped, so that neither waits on the other's locks."""
    source = get_heuristic(session, project, heuristic_id)
    stop_active_runs(session, [source.id], f"heuristic {source.name!r}")
    session.delete(source)
    return Response(status_code=204)


@router.post("/{heuristic_id}/sample", dependencies=[allow(Action.RUN_CODE), SandboxRequired])
async def run_sample(heuristic_id: uuid.UUID, body: SampleIn, project: ProjectDep, session: SessionDep) -> Any:
    """Run the code (saved, or ``source_code``) on 10 random records (or ``record_ids``), synchronously: per record
    the checked result, printed output and any error with a traceback pointing at the user's line."""
    source = get_heuristic(session, project, heuristic_id)
    if source.type != HeuristicType.LABELING_FUNCTION:
        raise problem(422, f"heuristic {source.name!r} is {source.type}; only labeling functions run on a sample")
    payload = {
        "project_id": str(project.id),
        "labeling_task_id": str(source.labeling_task_id),
        "code": body.source_code if body.source_code is not None else source.source_code,
        "record_ids": body.record_ids,
        "sample_size": body.sample_size,
        "name": source.name,
    }
    session.commit()
    return await ServiceClient("executor").json("POST", "/run/labeling-function", json=payload, timeout=SAMPLE_TIMEOUT)


@router.post("/runs", response_model=StartedRuns, status_code=202, dependencies=[allow(Action.RUN_CODE), SandboxRequired])
def start_many(body: StartRunsIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> StartedRuns:
    """Run several labeling functions in one sandboxed pass over the data (one job; active learners in it run after)."""
    sources = [get_heuristic(session, project, hid) for hid in dict.fromkeys(body.heuristic_ids)]
    runs, job = start_runs(session, project, sources, user.id)
    return StartedRuns(runs=[run_out(r) for r in runs], job=job_out(session, job))


@router.post(
    "/{heuristic_id}/runs", response_model=StartedRuns, status_code=202, dependencies=[allow(Action.RUN_CODE), SandboxRequired]
)
def start_one(heuristic_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> StartedRuns:
    """Run a labeling function or an active learner on every record, as a job (progress, logs, cancel)."""
    source = get_heuristic(session, project, heuristic_id)
    runs, job = start_runs(session, project, [source], user.id)
    return StartedRuns(runs=[run_out(r) for r in runs], job=job_out(session, job))


@router.get("/{heuristic_id}/runs", response_model=list[RunOut], dependencies=[allow(Action.READ_HEURISTICS)])
def list_runs(heuristic_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> list[RunOut]:
    """Every run of the heuristic, newest first, with code snapshot, state, logs and duration."""
    source = get_heuristic(session, project, heuristic_id)
    runs = session.scalars(
        select(HeuristicRun).where(HeuristicRun.source_id == source.id).order_by(HeuristicRun.created_at.desc())
    )
    return [run_out(r) for r in runs]


def _run(session: SessionDep, project: ProjectDep, heuristic_id: uuid.UUID, run_id: uuid.UUID) -> HeuristicRun:
    source = get_heuristic(session, project, heuristic_id)
    run = session.get(HeuristicRun, run_id)
    if run is None or run.source_id != source.id:
        raise problem(404, f"run {run_id} of heuristic {heuristic_id} does not exist")
    return run


@router.get("/{heuristic_id}/runs/{run_id}", response_model=RunOut, dependencies=[allow(Action.READ_HEURISTICS)])
def get_run(heuristic_id: uuid.UUID, run_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> RunOut:
    """One run (poll it for streamed logs and progress)."""
    return run_out(_run(session, project, heuristic_id, run_id))


@router.post("/{heuristic_id}/runs/{run_id}/cancel", response_model=RunOut, dependencies=[allow(Action.EDIT_PROJECT)])
def cancel_run(heuristic_id: uuid.UUID, run_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> RunOut:
    """Cancel a queued or running run; the previous results stay."""
    run = _run(session, project, heuristic_id, run_id)
    if run.state not in (RunState.QUEUED, RunState.RUNNING):
        raise problem(409, f"run {run_id} already ended ({run.state})")
    job = session.get(Job, run.job_id, with_for_update=True) if run.job_id else None
    if job is not None:
        jobs.request_cancel(session, job)
    if job is None or job.state == "cancelled":
        run.state = RunState.CANCELLED
        run.logs = [*run.logs, "cancelled before it started; the previous results are kept"]
    session.flush()
    return run_out(run)


@router.post("/{heuristic_id}/associations", dependencies=[allow(Action.EDIT_PROJECT)])
def post_associations(heuristic_id: uuid.UUID, body: AssociationsIn, project: ProjectDep, session: SessionDep) -> dict[str, int]:
    """Store a heuristic's pre-computed results matched by primary key, replacing the previous ones (all or nothing)."""
    source = get_heuristic(session, project, heuristic_id)
    if source.type != HeuristicType.PRE_COMPUTED:  # a function's results come from its runs, never from a post
        raise problem(
            422,
            f"heuristic {source.name!r} is a {source.type.value} heuristic; results can only be posted to a PRE_COMPUTED one",
        )
    return import_associations(session, project, source, body.indices, body.associations)
