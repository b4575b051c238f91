"""Similarity search (to a record or to free text) and outlier slices, through the neural search service."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import Field, model_validator
from sqlalchemy import select

from shared_model.models import EmbeddingType, Record, RunState
from shared_model.service import problem

from ..clients import ServiceClient
from ..deps import CurrentUser, ProjectDep, SessionDep
from ..policies import Action, allow
from ..schemas import RequestModel
from .embeddings import get_embedding

router = APIRouter(prefix="/api/v1/projects/{project_id}/embeddings/{embedding_id}", tags=["search"])


class FilterIn(RequestModel):
    attribute: str = Field(description="One of the embedding's filter attributes, or 'labels' (manual label ids).")
    value: Any = None
    values: list[Any] | None = None
    gte: float | None = None
    lte: float | None = None


class SimilarIn(RequestModel):
    record_id: int | None = None
    text: str | None = Field(default=None, min_length=1, max_length=100_000)
    limit: int = Field(default=10, ge=1, le=1000)
    filters: list[FilterIn] = Field(default_factory=list)
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0, description="Minimum cosine similarity.")
    use_threshold: bool | None = Field(
        default=None, description="Apply the embedding's similarity threshold (default: yes for records, no for text)."
    )

    @model_validator(mode="after")
    def _one_query(self) -> SimilarIn:
        if (self.record_id is None) == (self.text is None):
            raise ValueError("give exactly one of record_id or text")
        return self


class OutliersIn(RequestModel):
    save_slice: bool = True


def usable(session: SessionDep, project_id: uuid.UUID, embedding_id: uuid.UUID) -> None:
    embedding = get_embedding(session, project_id, embedding_id)
    if embedding.type != EmbeddingType.ON_ATTRIBUTE:
        raise problem(409, f"embedding {embedding.name!r} is token-level; use an attribute-level embedding")
    if embedding.state != RunState.FINISHED and embedding.similarity_threshold is None and embedding.dimensions is None:
        raise problem(409, f"embedding {embedding.name!r} is {embedding.state}; wait until it is finished")


@router.post("/similar", dependencies=[allow(Action.BROWSE_DATA)])
async def similar(embedding_id: uuid.UUID, body: SimilarIn, project: ProjectDep, session: SessionDep) -> dict[str, Any]:
    """Records most similar to a record of the project or to a free text, with their data and scores."""
    usable(session, project.id, embedding_id)
    query: dict[str, Any] = {
        "limit": body.limit,
        "filters": [f.model_dump(exclude_none=True) for f in body.filters],
        "threshold": body.threshold,
    }
    if body.record_id is not None:
        owner = session.scalar(select(Record.project_id).where(Record.id == body.record_id))
        if owner != project.id:
            raise problem(404, f"record {body.record_id} does not exist in this project")
        query.update(record_id=body.record_id, use_threshold=True if body.use_threshold is None else body.use_threshold)
    else:
        encoded = await ServiceClient("embedder").json(
            "POST", "/encode", json={"embedding_id": str(embedding_id), "texts": [body.text]}
        )
        query.update(vector=encoded["vectors"][0], use_threshold=bool(body.use_threshold))
    found = await ServiceClient("neural_search").json("POST", f"/embeddings/{embedding_id}/most_similar", json=query)
    ids = [hit["record_id"] for hit in found["results"]]
    rows = session.execute(select(Record.id, Record.data).where(Record.id.in_(ids))).tuples().all() if ids else []
    data: dict[int, Any] = dict(rows)
    results = [{**hit, "data": data.get(hit["record_id"])} for hit in found["results"]]
    return {"results": results, "threshold": found["threshold"]}


@router.post("/outliers", dependencies=[allow(Action.EDIT_PROJECT)])
async def outliers(embedding_id: uuid.UUID, body: OutliersIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> Any:
    """Unlabeled records farthest from the labeled ones (top 5 %, at most 100), saved as an outlier slice."""
    usable(session, project.id, embedding_id)
    return await ServiceClient("neural_search").json(
        "POST", f"/embeddings/{embedding_id}/detect_outliers", json={"save_slice": body.save_slice, "created_by": str(user.id)}
    )
