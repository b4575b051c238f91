"""Internal API of neural search: index stored chunks, similar records, outliers."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from .. import domain

router = APIRouter(prefix="/embeddings", tags=["neural search"])


class ChunksIn(BaseModel):
    keys: list[str] = Field(min_length=1, description="Object-storage keys of completed chunks of this embedding.")


class FilterIn(BaseModel):
    attribute: str = Field(description="A filter attribute of the embedding, or 'labels' (manual label ids).")
    value: Any = None
    values: list[Any] | None = None
    gte: float | None = None
    lte: float | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FilterIn:
        kinds = [self.value is not None, self.values is not None, self.gte is not None or self.lte is not None]
        if sum(kinds) != 1:
            raise ValueError(f"filter on {self.attribute!r} needs exactly one of value, values or gte/lte")
        return self


class SimilarIn(BaseModel):
    record_id: int | None = None
    vector: list[float] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    filters: list[FilterIn] = Field(default_factory=list)
    threshold: float | None = Field(default=None, description="Minimum cosine similarity; default the embedding's.")
    use_threshold: bool = Field(default=True, description="Apply the embedding's similarity threshold.")

    @model_validator(mode="after")
    def _one_query(self) -> SimilarIn:
        if (self.record_id is None) == (self.vector is None):
            raise ValueError("give exactly one of record_id or vector")
        return self


class OutliersIn(BaseModel):
    save_slice: bool = True
    created_by: uuid.UUID | None = None


@router.post("/{embedding_id}/chunks")
def index_chunks(embedding_id: uuid.UUID, body: ChunksIn) -> dict[str, Any]:
    """Upsert completed chunks (read from object storage) into the embedding's collection."""
    return {"indexed": domain.index_chunks(embedding_id, body.keys)}


@router.post("/{embedding_id}/finalize")
def finalize(embedding_id: uuid.UUID) -> dict[str, Any]:
    """Store the similarity threshold and start building the search index."""
    return domain.finalize(embedding_id)


@router.post("/{embedding_id}/rebuild")
def rebuild(embedding_id: uuid.UUID) -> dict[str, Any]:
    """Re-create the collection from object storage (refreshing payloads)."""
    return domain.rebuild(embedding_id)


@router.get("/{embedding_id}")
def status(embedding_id: uuid.UUID) -> dict[str, Any]:
    """Points in the collection and whether its index is built."""
    return domain.status(embedding_id)


@router.delete("/{embedding_id}")
def drop(embedding_id: uuid.UUID) -> dict[str, Any]:
    """Delete the embedding's collection."""
    domain.registry.drop(embedding_id)
    return {"dropped": str(embedding_id)}


@router.post("/{embedding_id}/most_similar")
def most_similar(embedding_id: uuid.UUID, body: SimilarIn) -> dict[str, Any]:
    """Records most similar to a record or a vector, with attribute filters and the similarity threshold."""
    return domain.most_similar(
        embedding_id,
        record_id=body.record_id,
        vector=body.vector,
        limit=body.limit,
        filters=[f.model_dump() for f in body.filters],
        threshold=body.threshold,
        use_threshold=body.use_threshold,
    )


@router.post("/{embedding_id}/detect_outliers")
def detect_outliers(embedding_id: uuid.UUID, body: OutliersIn) -> dict[str, Any]:
    """Rank unlabeled records by distance to the labeled ones; save the top as an outlier slice."""
    return domain.detect_outliers(embedding_id, save_slice=body.save_slice, created_by=body.created_by)
