"""Zero-shot heuristics: a playground for free text, creating ZERO_SHOT heuristics and running them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import select

from shared_model.jobs import enqueue
from shared_model.models import (
    Attribute,
    DataType,
    HeuristicRun,
    HeuristicType,
    InformationSource,
    Label,
    RunState,
    TaskType,
)
from shared_model.service import problem

from ..clients import ServiceClient
from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain.heuristics import active_run, ensure_unique_name, get_heuristic, get_task
from ..policies import Action, allow
from ..schemas import JobOut, RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}/zero-shot", tags=["zero-shot"])
DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_min_confidence(n_labels: int) -> float:
    """The original's default: ``round(min(1 / n_labels + 0.2, 0.8), 1)``."""
    return round(min(1 / max(n_labels, 1) + 0.2, 0.8), 1)


class ZeroShotConfig(RequestModel):
    attribute: str | None = Field(default=None, description="Text attribute (default: the task's attribute).")
    model: str = Field(default=DEFAULT_MODEL, min_length=1)
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0, description="Default: the original's rule.")
    excluded_labels: list[str] = Field(default_factory=list, description="Label names not to predict.")
    label_descriptions: dict[str, str] = Field(default_factory=dict, description="Label name → description.")


class PlaygroundIn(ZeroShotConfig):
    text: str = Field(min_length=1, max_length=100_000)
    labeling_task_id: uuid.UUID


class ZeroShotCreate(ZeroShotConfig):
    labeling_task_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)


def task_labels(session: SessionDep, project: ProjectDep, task_id: uuid.UUID, config: ZeroShotConfig) -> list[str]:
    task = get_task(session, project, task_id)
    if task.task_type == TaskType.INFORMATION_EXTRACTION:
        raise problem(400, f"task {task.name!r} is an extraction task; zero-shot heuristics classify records")
    names = list(session.scalars(select(Label.name).where(Label.labeling_task_id == task.id).order_by(Label.name)))
    unknown = sorted((set(config.excluded_labels) | set(config.label_descriptions)) - set(names))
    if unknown:
        raise problem(400, f"labels {unknown} do not exist in task {task.name!r}")
    kept = [n for n in names if n not in set(config.excluded_labels)]
    if len(kept) < 2:
        raise problem(400, f"zero-shot needs at least two labels that are not excluded; task {task.name!r} has {kept}")
    attribute_name = config.attribute
    if attribute_name:
        attribute = session.scalar(select(Attribute).where(Attribute.project_id == project.id, Attribute.name == attribute_name))
    else:
        attribute = session.get(Attribute, task.attribute_id) if task.attribute_id else None
    if attribute is None or attribute.data_type != DataType.TEXT:
        raise problem(400, f"zero-shot needs a text attribute: {attribute_name or 'the task targets none, set attribute'}")
    return kept


@router.post("/playground", dependencies=[allow(Action.RUN_CODE)])
async def playground(body: PlaygroundIn, project: ProjectDep, session: SessionDep) -> Any:
    """Each label's confidence for a free text and the label the heuristic would assign."""
    names = task_labels(session, project, body.labeling_task_id, body)
    labels = [{"name": n, "description": body.label_descriptions.get(n)} for n in names]
    return await ServiceClient("embedder").json(
        "POST",
        "/zero_shot/text",
        json={"text": body.text, "labels": labels, "model": body.model, "min_confidence": body.min_confidence},
    )


@router.post("/heuristics", status_code=201, dependencies=[allow(Action.RUN_CODE)])
def create(body: ZeroShotCreate, project: ProjectDep, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Create a ZERO_SHOT heuristic (its config: model, attribute, min_confidence, excluded labels, descriptions)."""
    names = task_labels(session, project, body.labeling_task_id, body)
    ensure_unique_name(session, project, body.name)
    config = body.model_dump(include={"attribute", "model", "min_confidence", "excluded_labels", "label_descriptions"})
    source = InformationSource(
        project_id=project.id,
        labeling_task_id=body.labeling_task_id,
        type=HeuristicType.ZERO_SHOT,
        name=body.name,
        description=body.description,
        config=config,
        created_by=user.id,
    )
    session.add(source)
    session.flush()
    effective = body.min_confidence if body.min_confidence is not None else default_min_confidence(len(names))
    return {"id": str(source.id), "name": source.name, "type": "ZERO_SHOT", "config": config, "min_confidence": effective}


@router.post("/heuristics/{heuristic_id}/runs", status_code=202, dependencies=[allow(Action.RUN_CODE)])
def run(heuristic_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Run a zero-shot heuristic over every record (a ``zero_shot`` job of the embedder); its labels replace the last run's."""
    source: InformationSource = get_heuristic(session, project, heuristic_id)
    if source.type != HeuristicType.ZERO_SHOT:
        raise problem(400, f"heuristic {source.name!r} is {source.type}, not ZERO_SHOT")
    if active_run(session, source.id) is not None:
        raise problem(409, f"heuristic {source.name!r} is already running")
    heuristic_run = HeuristicRun(project_id=project.id, source_id=source.id, state=RunState.QUEUED, created_by=user.id)
    session.add(heuristic_run)
    session.flush()
    job = enqueue(
        session,
        kind="zero_shot",
        owner_service="embedder",
        project_id=project.id,
        parameters={"information_source_id": str(source.id), "run_id": str(heuristic_run.id)},
        created_by=user.id,
    )
    heuristic_run.job_id = job.id
    return {"run_id": str(heuristic_run.id), "job": JobOut.model_validate(job).model_dump(mode="json")}
