"""Calculated attributes: code ``def ac(record): return value`` run on a sample, then on every record as a job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text

from shared_model import jobs
from shared_model.models import Attribute, AttributeState, AttributeVisibility, DataType, Job, LabelingTask
from shared_model.service import problem
from shared_model.service.crud import apply_patch

from ..clients import ServiceClient
from ..deps import CurrentUser, ProjectDep, SessionDep
from ..policies import Action, allow
from ..sandbox_check import SandboxRequired
from ..schemas import JobOut, RequestModel
from .jobs import job_out

router = APIRouter(prefix="/api/v1/projects/{project_id}/attributes/calculated", tags=["calculated attributes"])
SAMPLE_TIMEOUT = httpx.Timeout(180.0, connect=5.0)
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_ \-]*$"


class CalculatedCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    data_type: DataType
    source_code: str = Field(default="def ac(record):\n    return None\n", max_length=200_000)
    visibility: AttributeVisibility = AttributeVisibility.DO_NOT_HIDE


class CalculatedUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    data_type: DataType | None = None
    source_code: str | None = Field(default=None, max_length=200_000)
    visibility: AttributeVisibility | None = None


class CalculatedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    data_type: DataType
    source_code: str | None
    state: AttributeState
    visibility: AttributeVisibility
    relative_position: int
    logs: list[str] | None
    created_at: datetime


class SampleIn(RequestModel):
    source_code: str | None = Field(default=None, max_length=200_000, description="Code to try; default the saved code.")
    record_ids: list[int] | None = Field(default=None, max_length=1000)
    sample_size: int = Field(default=10, ge=1, le=1000)


class RunStarted(BaseModel):
    attribute: CalculatedOut
    job: JobOut


def _get(session: SessionDep, project: ProjectDep, attribute_id: uuid.UUID) -> Attribute:
    attribute = session.get(Attribute, attribute_id)
    if attribute is None or attribute.project_id != project.id or not attribute.user_created:
        raise problem(404, f"calculated attribute {attribute_id} does not exist in project {project.id}")
    return attribute


def _unique(session: SessionDep, project: ProjectDep, name: str, exclude: uuid.UUID | None = None) -> None:
    query = select(Attribute.id).where(Attribute.project_id == project.id, Attribute.name == name)
    if exclude is not None:
        query = query.where(Attribute.id != exclude)
    if session.scalar(query) is not None:
        raise problem(409, f"an attribute named {name!r} already exists in this project")


def _running(session: SessionDep, attribute: Attribute) -> bool:
    return attribute.state == AttributeState.RUNNING


@router.get("", response_model=list[CalculatedOut], dependencies=[allow(Action.READ_PROJECT)])
def list_calculated(project: ProjectDep, session: SessionDep) -> list[Attribute]:
    """The project's calculated attributes."""
    return list(
        session.scalars(
            select(Attribute)
            .where(Attribute.project_id == project.id, Attribute.user_created.is_(True))
            .order_by(Attribute.relative_position)
        )
    )


@router.post("", response_model=CalculatedOut, status_code=201, dependencies=[allow(Action.RUN_CODE)])
def create_calculated(body: CalculatedCreate, project: ProjectDep, session: SessionDep) -> Attribute:
    """Create a calculated attribute (state INITIAL: no values until it is run)."""
    name = body.name.strip()
    _unique(session, project, name)
    position = session.scalar(
        select(func.coalesce(func.max(Attribute.relative_position), -1)).where(Attribute.project_id == project.id)
    )
    attribute = Attribute(
        project_id=project.id,
        name=name,
        data_type=body.data_type,
        is_primary_key=False,
        relative_position=int(position or 0) + 1,
        user_created=True,
        source_code=body.source_code,
        state=AttributeState.INITIAL,
        visibility=body.visibility,
        logs=[],
    )
    session.add(attribute)
    session.flush()
    session.refresh(attribute)
    return attribute


@router.get("/{attribute_id}", response_model=CalculatedOut, dependencies=[allow(Action.READ_PROJECT)])
def get_calculated(attribute_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Attribute:
    """One calculated attribute with its state and logs."""
    return _get(session, project, attribute_id)


@router.patch("/{attribute_id}", response_model=CalculatedOut, dependencies=[allow(Action.RUN_CODE)])
def update_calculated(attribute_id: uuid.UUID, body: CalculatedUpdate, project: ProjectDep, session: SessionDep) -> Attribute:
    """Edit name, type or code; allowed until the attribute's values are computed (then delete and recreate it)."""
    attribute = _get(session, project, attribute_id)
    if attribute.state in (AttributeState.USABLE, AttributeState.RUNNING) and (
        body.name is not None or body.data_type is not None or body.source_code is not None
    ):
        raise problem(409, f"attribute {attribute.name!r} is {attribute.state}; only its visibility can change now")
    if body.name is not None:
        _unique(session, project, body.name.strip(), exclude=attribute.id)
    apply_patch(attribute, body, clean={"name": str.strip})
    session.flush()
    return attribute


@router.delete("/{attribute_id}", status_code=204, dependencies=[allow(Action.EDIT_PROJECT)])
def delete_calculated(attribute_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    """Delete a calculated attribute and its values (refused while it runs or a labeling task uses it)."""
    attribute = _get(session, project, attribute_id)
    if _running(session, attribute):
        raise problem(409, f"attribute {attribute.name!r} is being calculated; cancel that job first")
    if session.scalar(select(LabelingTask.id).where(LabelingTask.attribute_id == attribute.id)) is not None:
        raise problem(409, f"attribute {attribute.name!r} is the target of a labeling task; delete that task first")
    session.execute(
        text("UPDATE record SET data = data - :name WHERE project_id = :p AND data ? :name"),
        {"name": attribute.name, "p": project.id},
    )
    session.delete(attribute)
    return Response(status_code=204)


@router.post("/sample", dependencies=[allow(Action.RUN_CODE), SandboxRequired])
async def sample_new(body: SampleIn, project: ProjectDep, data_type: DataType) -> Any:
    """Try code for a calculated attribute that does not exist yet (``?data_type=``) on a sample of records."""
    if body.source_code is None:
        raise problem(422, "source_code is required")
    payload = {
        "project_id": str(project.id),
        "code": body.source_code,
        "data_type": data_type.value,
        "record_ids": body.record_ids,
        "sample_size": body.sample_size,
    }
    return await ServiceClient("executor").json("POST", "/run/attribute", json=payload, timeout=SAMPLE_TIMEOUT)


@router.post("/{attribute_id}/sample", dependencies=[allow(Action.RUN_CODE), SandboxRequired])
async def sample_existing(attribute_id: uuid.UUID, body: SampleIn, project: ProjectDep, session: SessionDep) -> Any:
    """Run the attribute's code (or ``source_code``) on 10 random records: values type-checked, output and errors."""
    attribute = _get(session, project, attribute_id)
    payload = {
        "project_id": str(project.id),
        "code": body.source_code if body.source_code is not None else attribute.source_code or "",
        "data_type": attribute.data_type.value,
        "record_ids": body.record_ids,
        "sample_size": body.sample_size,
        "name": attribute.name,
    }
    session.commit()
    return await ServiceClient("executor").json("POST", "/run/attribute", json=payload, timeout=SAMPLE_TIMEOUT)


@router.post(
    "/{attribute_id}/run", response_model=RunStarted, status_code=202, dependencies=[allow(Action.RUN_CODE), SandboxRequired]
)
def run_calculated(attribute_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> RunStarted:
    """Compute the attribute for every record as a job; all values are written only if every one passes its type check."""
    attribute = _get(session, project, attribute_id)
    if attribute.state in (AttributeState.RUNNING, AttributeState.USABLE):
        raise problem(409, f"attribute {attribute.name!r} is already {attribute.state}")
    if not (attribute.source_code or "").strip():
        raise problem(422, f"attribute {attribute.name!r} has no code")
    active = session.scalar(
        select(Job).where(
            Job.kind == "attribute_calculation",
            Job.state.in_(["queued", "running"]),
            Job.parameters["attribute_id"].astext == str(attribute.id),
        )
    )
    if active is not None:
        raise problem(409, f"attribute {attribute.name!r} is already queued for calculation")
    attribute.state = AttributeState.RUNNING
    attribute.logs = ["queued"]
    job = jobs.enqueue(
        session,
        kind="attribute_calculation",
        owner_service="executor",
        project_id=project.id,
        parameters={"attribute_id": str(attribute.id)},
        created_by=user.id,
    )
    session.flush()
    return RunStarted(attribute=CalculatedOut.model_validate(attribute), job=job_out(session, job))
