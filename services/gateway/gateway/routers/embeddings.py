"""Embeddings of a project: create (as an ``embed`` job of the embedder), list, refresh for new records, delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from shared_model.jobs import enqueue, request_cancel
from shared_model.models import Attribute, DataType, Embedding, EmbeddingType, Job, JobState, RunState
from shared_model.service import problem
from shared_model.service.crud import get_in_project
from shared_model.storage import EmbeddingArtifacts, get_storage

from ..clients import ServiceClient
from ..deps import CurrentUser, ProjectDep, SessionDep
from ..policies import Action, allow
from ..schemas import JobOut, RequestModel

router = APIRouter(prefix="/api/v1", tags=["embeddings"])
CLASSICAL = ("bag-of-words", "bag-of-characters", "tf-idf")
DEFAULT_MODEL = "all-MiniLM-L6-v2"


class EmbeddingCreate(RequestModel):
    attribute: str = Field(min_length=1, description="Name (or id) of the text attribute to embed.")
    type: EmbeddingType = EmbeddingType.ON_ATTRIBUTE
    model: str = Field(default=DEFAULT_MODEL, min_length=1, max_length=300)
    name: str | None = Field(default=None, min_length=1, max_length=300)
    filter_attributes: list[str] = Field(default_factory=list, description="Attributes to filter similarity search by.")
    pca_dimensions: int | None = Field(default=None, ge=2, le=4096, description="Reduce vectors with PCA.")
    max_features: int | None = Field(default=None, ge=2, le=20_000, description="Vocabulary size of classical models.")


class EmbeddingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    attribute_id: uuid.UUID
    name: str
    type: str
    state: str
    model: str
    platform: str
    dimensions: int | None
    settings: dict[str, Any]
    filter_attributes: list[str]
    similarity_threshold: float | None
    error: str | None
    created_at: datetime
    progress: float | None = None
    job_id: uuid.UUID | None = None


class EmbeddingStarted(BaseModel):
    embedding: EmbeddingOut
    job: JobOut


def default_name(attribute: str, kind: EmbeddingType, model: str) -> str:
    """The original's naming: ``headline-classification-distilbert-base-uncased`` (token level: ``-extraction-``)."""
    part = "classification" if kind == EmbeddingType.ON_ATTRIBUTE else "extraction"
    return f"{attribute}-{part}-{model.rstrip('/').rsplit('/', 1)[-1]}"


def latest_job(session: SessionDep, embedding_id: uuid.UUID) -> Job | None:
    return session.scalars(
        select(Job)
        .where(Job.kind == "embed", Job.parameters["embedding_id"].astext == str(embedding_id))
        .order_by(Job.created_at.desc())
        .limit(1)
    ).first()


def embedding_out(session: SessionDep, embedding: Embedding) -> EmbeddingOut:
    out = EmbeddingOut.model_validate(embedding)
    job = latest_job(session, embedding.id)
    if job is not None:
        out.progress, out.job_id = job.progress, job.id
    return out


def get_embedding(session: SessionDep, project_id: uuid.UUID, embedding_id: uuid.UUID) -> Embedding:
    return get_in_project(session, Embedding, embedding_id, project_id, "embedding")


def find_attribute(session: SessionDep, project_id: uuid.UUID, ref: str) -> Attribute | None:
    query = select(Attribute).where(Attribute.project_id == project_id)
    try:
        return session.scalar(query.where(Attribute.id == uuid.UUID(ref)))
    except ValueError:
        return session.scalar(query.where(Attribute.name == ref))


def start_job(session: SessionDep, embedding: Embedding, user_id: uuid.UUID) -> Job:
    return enqueue(
        session,
        kind="embed",
        owner_service="embedder",
        project_id=embedding.project_id,
        parameters={"embedding_id": str(embedding.id)},
        created_by=user_id,
    )


@router.get("/embedding-models", dependencies=[allow(Action.SIGNED_IN)])
async def embedding_models(user: CurrentUser) -> Any:
    """Models the embedder can use offline (and whether it runs on a GPU)."""
    return await ServiceClient("embedder").json("GET", "/models")


@router.post(
    "/projects/{project_id}/embeddings",
    response_model=EmbeddingStarted,
    status_code=202,
    dependencies=[allow(Action.EDIT_PROJECT)],
)
def create_embedding(body: EmbeddingCreate, project: ProjectDep, user: CurrentUser, session: SessionDep) -> EmbeddingStarted:
    """Create an embedding of a text attribute, per attribute or per token; computed by an ``embed`` job."""
    attribute = find_attribute(session, project.id, body.attribute)
    if attribute is None:
        raise problem(404, f"attribute {body.attribute!r} does not exist in this project")
    if attribute.data_type != DataType.TEXT:
        raise problem(400, f"attribute {attribute.name!r} is {attribute.data_type}; only TEXT attributes can be embedded")
    names = set(session.scalars(select(Attribute.name).where(Attribute.project_id == project.id)))
    unknown = [name for name in body.filter_attributes if name not in names]
    if unknown:
        raise problem(400, f"filter attributes {unknown} do not exist in this project")
    if body.type == EmbeddingType.ON_TOKEN and body.filter_attributes:
        raise problem(400, "filter attributes apply to attribute-level embeddings only (similarity search)")
    name = body.name or default_name(attribute.name, body.type, body.model)
    if session.scalar(select(Embedding.id).where(Embedding.project_id == project.id, Embedding.name == name)):
        raise problem(409, f"an embedding named {name!r} already exists in this project")
    options: dict[str, Any] = {}
    if body.pca_dimensions:
        options["pca_dimensions"] = body.pca_dimensions
    if body.max_features:
        if body.model not in CLASSICAL:
            raise problem(400, f"max_features applies to the classical models {list(CLASSICAL)} only")
        options["max_features"] = body.max_features
    embedding = Embedding(
        project_id=project.id,
        attribute_id=attribute.id,
        name=name,
        type=body.type,
        state=RunState.QUEUED,
        model=body.model,
        platform="python" if body.model in CLASSICAL else "sentence-transformers",
        settings=options,
        filter_attributes=list(body.filter_attributes),
    )
    session.add(embedding)
    session.flush()
    job = start_job(session, embedding, user.id)
    session.refresh(embedding)
    return EmbeddingStarted(embedding=embedding_out(session, embedding), job=JobOut.model_validate(job))


@router.get("/projects/{project_id}/embeddings", response_model=list[EmbeddingOut], dependencies=[allow(Action.READ_PROJECT)])
def list_embeddings(project: ProjectDep, session: SessionDep) -> list[EmbeddingOut]:
    """The project's embeddings with their state and progress."""
    rows = session.scalars(select(Embedding).where(Embedding.project_id == project.id).order_by(Embedding.created_at))
    return [embedding_out(session, e) for e in rows]


@router.get(
    "/projects/{project_id}/embeddings/{embedding_id}", response_model=EmbeddingOut, dependencies=[allow(Action.READ_PROJECT)]
)
def get_one(embedding_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> EmbeddingOut:
    """One embedding."""
    return embedding_out(session, get_embedding(session, project.id, embedding_id))


@router.post(
    "/projects/{project_id}/embeddings/{embedding_id}/refresh",
    response_model=JobOut,
    status_code=202,
    dependencies=[allow(Action.EDIT_PROJECT)],
)
def refresh(embedding_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> Job:
    """Embed the records added since (only those): a new ``embed`` job."""
    embedding = get_embedding(session, project.id, embedding_id)
    job = latest_job(session, embedding.id)
    if job is not None and job.state in (JobState.QUEUED, JobState.RUNNING):
        raise problem(409, f"embedding {embedding.name!r} is already being computed (job {job.id})")
    embedding.state = RunState.QUEUED
    return start_job(session, embedding, user.id)


@router.delete("/projects/{project_id}/embeddings/{embedding_id}", status_code=204, dependencies=[allow(Action.EDIT_PROJECT)])
async def delete_embedding(embedding_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    """Delete an embedding: its running job is cancelled, its collection and stored vectors removed."""
    embedding = get_embedding(session, project.id, embedding_id)
    job = latest_job(session, embedding.id)
    if job is not None and job.state in (JobState.QUEUED, JobState.RUNNING):
        request_cancel(session, job)
    if embedding.type == EmbeddingType.ON_ATTRIBUTE:
        await ServiceClient("neural_search").json("DELETE", f"/embeddings/{embedding.id}")
    EmbeddingArtifacts(get_storage(), embedding.id).delete()
    session.delete(embedding)
    return Response(status_code=204)
