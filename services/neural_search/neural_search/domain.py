"""Neural search: collections built from stored embedding chunks, similar records, thresholds and outliers.

Why one module of ~420 lines: the service's whole domain (collections, similarity, thresholds, outliers) over one
collection registry; its routes and storage are elsewhere.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared_model.db import session_scope
from shared_model.models import (
    DataSlice,
    DataSliceRecord,
    Embedding,
    EmbeddingType,
    Record,
    RecordLabelAssociation,
    SliceType,
    SourceType,
)
from shared_model.service import problem
from shared_model.storage import EmbeddingArtifacts, get_storage

from .index import Condition, Hit, VectorIndex, backend_name, open_index, payload_key

log = logging.getLogger("neural_search")
THRESHOLD_SAMPLE = 1000
OUTLIER_REFERENCE_MAX = 2000


class Registry:
    """Open indexes of this process, with a lock per embedding for writes and a background optimizer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indexes: dict[uuid.UUID, VectorIndex] = {}
        self._write_locks: dict[uuid.UUID, threading.Lock] = {}
        self.optimizing: set[uuid.UUID] = set()
        self.optimized: set[uuid.UUID] = set()
        self._matrices: dict[uuid.UUID, tuple[tuple[str, ...], np.ndarray, np.ndarray]] = {}
        self._checked: dict[uuid.UUID, float] = {}

    def write_lock(self, embedding_id: uuid.UUID) -> threading.Lock:
        with self._lock:
            return self._write_locks.setdefault(embedding_id, threading.Lock())

    def get(self, embedding_id: uuid.UUID, dims: int | None) -> VectorIndex:
        with self._lock:
            index = self._indexes.get(embedding_id)
            if index is None:
                index = open_index(embedding_id, dims)
                self._indexes[embedding_id] = index
            return index

    def drop(self, embedding_id: uuid.UUID) -> None:
        with self.write_lock(embedding_id):
            with self._lock:
                index = self._indexes.pop(embedding_id, None)
                self._matrices.pop(embedding_id, None)
                self._checked.pop(embedding_id, None)
            if index is None:
                try:
                    index = open_index(embedding_id, None)
                except LookupError:
                    return
            index.drop()
            self.optimized.discard(embedding_id)

    def matrix(self, embedding_id: uuid.UUID, *, recheck: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """All (record ids, unit-length vectors) of an embedding from storage, cached until its chunks change (the
        chunk list is checked at most every ``META_TTL_S`` seconds: listing storage costs more than a search)."""
        cached = self._matrices.get(embedding_id)
        checked = self._checked.get(embedding_id, -math.inf)
        if cached and not recheck and time.monotonic() - checked < META_TTL_S:
            return cached[1], cached[2]
        artifacts = EmbeddingArtifacts(get_storage(), embedding_id)
        keys = tuple(artifacts.done_chunks())
        self._checked[embedding_id] = time.monotonic()
        if cached and cached[0] == keys:
            return cached[1], cached[2]
        ids, vectors = artifacts.load_vectors()
        if len(ids):
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        self._matrices[embedding_id] = (keys, ids, vectors.astype(np.float32))
        return ids, vectors

    def close_all(self) -> None:
        with self._lock:
            for index in self._indexes.values():
                index.close()
            self._indexes.clear()


registry = Registry()


def load_embedding(session: Session, embedding_id: uuid.UUID) -> Embedding:
    embedding = session.get(Embedding, embedding_id)
    if embedding is None:
        raise problem(404, f"embedding {embedding_id} does not exist")
    return embedding


def attribute_level(embedding: Embedding) -> None:
    if embedding.type != EmbeddingType.ON_ATTRIBUTE:
        raise problem(409, f"embedding {embedding.name!r} is token-level; similarity search needs an attribute-level one")


def payloads(session: Session, embedding: Embedding, record_ids: list[int]) -> list[dict[str, Any]]:
    """Payload per record: the embedding's filter attributes and the record's valid manual label ids."""
    names = list(embedding.filter_attributes or [])
    rows = session.execute(select(Record.id, Record.data).where(Record.id.in_(record_ids))).tuples().all()
    data: dict[int, dict[str, Any]] = dict(rows)
    labels: dict[int, list[str]] = {}
    for record_id, label_id in session.execute(
        select(RecordLabelAssociation.record_id, RecordLabelAssociation.label_id).where(
            RecordLabelAssociation.record_id.in_(record_ids),
            RecordLabelAssociation.source_type == SourceType.MANUAL,
            RecordLabelAssociation.is_valid_manual_label.is_(True),
        )
    ):
        labels.setdefault(record_id, []).append(str(label_id))
    result = []
    for record_id in record_ids:
        values = data.get(record_id) or {}
        payload: dict[str, Any] = {payload_key(name): values.get(name) for name in names}
        payload["labels"] = sorted(set(labels.get(record_id, [])))
        result.append(payload)
    return result


def index_chunks(embedding_id: uuid.UUID, keys: list[str]) -> int:
    """Upsert stored chunks into the embedding's collection; returns the points written."""
    storage = get_storage()
    prefix = f"embeddings/{embedding_id}/chunks/"
    for key in keys:
        if not key.startswith(prefix) or not key.endswith(".npz"):
            raise problem(400, f"chunk key {key!r} does not belong to embedding {embedding_id}")
    written = 0
    with session_scope() as session:
        embedding = load_embedding(session, embedding_id)
        attribute_level(embedding)
        for key in keys:
            if not storage.exists(key):
                raise problem(404, f"chunk {key!r} is not in object storage")
            arrays = storage.get_arrays(key)
            ids, vectors = arrays["record_ids"], arrays["vectors"]
            index = registry.get(embedding_id, int(vectors.shape[1]))
            with registry.write_lock(embedding_id):
                index.upsert(ids, vectors, payloads(session, embedding, [int(i) for i in ids]))
            written += len(ids)
    registry.optimized.discard(embedding_id)
    return written


def similarity_threshold(vectors: np.ndarray, seed: int = 0) -> float | None:
    """Cosine similarity above which two records count as similar: 1 − the 5th percentile of pairwise distances."""
    if len(vectors) < 3:
        return None
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), size=min(THRESHOLD_SAMPLE, len(vectors)), replace=False)]
    sims = sample @ sample.T
    upper = sims[np.triu_indices(len(sample), k=1)]
    return float(1.0 - np.percentile(1.0 - upper, 5))


def finalize(embedding_id: uuid.UUID, optimize_in_background: bool = True) -> dict[str, Any]:
    """After the last chunk: compute and store the similarity threshold, then build the search index."""
    ids, vectors = registry.matrix(embedding_id, recheck=True)
    threshold = similarity_threshold(vectors)
    with session_scope() as session:
        embedding = load_embedding(session, embedding_id)
        embedding.similarity_threshold = threshold
    _meta.pop(embedding_id, None)
    if embedding.type == EmbeddingType.ON_ATTRIBUTE and len(ids):
        index = registry.get(embedding_id, int(vectors.shape[1]))

        def run() -> None:
            registry.optimizing.add(embedding_id)
            try:
                with registry.write_lock(embedding_id):
                    index.optimize()
                registry.optimized.add(embedding_id)
            except Exception:  # noqa: BLE001 - searching still works on unoptimized segments
                log.exception("optimizing the index failed", extra={"embedding_id": str(embedding_id)})
            finally:
                registry.optimizing.discard(embedding_id)

        if optimize_in_background:
            threading.Thread(target=run, name=f"optimize-{embedding_id}", daemon=True).start()
        else:
            run()
    return {"similarity_threshold": threshold, "records": int(len(ids))}


def rebuild(embedding_id: uuid.UUID) -> dict[str, Any]:
    """Drop the collection and index every stored chunk again (refreshes payloads, e.g. labels)."""
    registry.drop(embedding_id)
    keys = EmbeddingArtifacts(get_storage(), embedding_id).done_chunks()
    written = index_chunks(embedding_id, keys) if keys else 0
    return {"indexed": written, **finalize(embedding_id)}


def status(embedding_id: uuid.UUID) -> dict[str, Any]:
    with session_scope() as session:
        load_embedding(session, embedding_id)
    try:
        count = registry.get(embedding_id, None).count()
    except LookupError:
        count = 0
    return {
        "embedding_id": str(embedding_id),
        "backend": backend_name(),
        "points": count,
        "optimizing": embedding_id in registry.optimizing,
        "optimized": embedding_id in registry.optimized,
    }


@dataclass
class EmbeddingMeta:
    """What a query needs to know about an embedding (cached briefly so a query costs no database round trip)."""

    name: str
    project_id: uuid.UUID
    filter_attributes: list[str]
    similarity_threshold: float | None
    dimensions: int | None
    loaded_at: float


META_TTL_S = 5.0
_meta: dict[uuid.UUID, EmbeddingMeta] = {}


def embedding_meta(embedding_id: uuid.UUID) -> EmbeddingMeta:
    cached = _meta.get(embedding_id)
    if cached is not None and time.monotonic() - cached.loaded_at < META_TTL_S:
        return cached
    with session_scope() as session:
        embedding = load_embedding(session, embedding_id)
        attribute_level(embedding)
        meta = EmbeddingMeta(
            embedding.name,
            embedding.project_id,
            list(embedding.filter_attributes or []),
            embedding.similarity_threshold,
            embedding.dimensions,
            time.monotonic(),
        )
    _meta[embedding_id] = meta
    return meta


def records_with_labels(project_id: uuid.UUID, item: dict[str, Any]) -> list[int]:
    """Records that carry one of the filter's label ids as a valid manual label now (not as when they were indexed)."""
    values = item.get("values")
    wanted: list[Any] = list(values) if values is not None else [item.get("value")]
    try:
        label_ids = [uuid.UUID(str(value)) for value in wanted]
    except ValueError as exc:
        raise problem(400, f"the 'labels' filter takes label ids, not {wanted!r}") from exc
    with session_scope() as session:
        return list(
            session.scalars(
                select(RecordLabelAssociation.record_id)
                .where(
                    RecordLabelAssociation.project_id == project_id,
                    RecordLabelAssociation.label_id.in_(label_ids),
                    RecordLabelAssociation.source_type == SourceType.MANUAL,
                    RecordLabelAssociation.is_valid_manual_label.is_(True),
                )
                .distinct()
            )
        )


def conditions_for(embedding: Embedding | EmbeddingMeta, filters: list[dict[str, Any]]) -> list[Condition]:
    """Conditions from API filters: payload ones for filter attributes, current record ids for 'labels'."""
    allowed = set(embedding.filter_attributes or [])
    result = []
    for item in filters:
        name = item["attribute"]
        if name == "labels":
            result.append(Condition("labels", ids=records_with_labels(embedding.project_id, item)))
            continue
        if name in allowed:
            key = payload_key(name)
        else:
            raise problem(
                400,
                f"cannot filter on {name!r}: embedding {embedding.name!r} has filter attributes {sorted(allowed)} (and 'labels')",
            )
        result.append(
            Condition(key, value=item.get("value"), values=item.get("values"), gte=item.get("gte"), lte=item.get("lte"))
        )
    return result


def most_similar(
    embedding_id: uuid.UUID,
    *,
    record_id: int | None,
    vector: list[float] | None,
    limit: int,
    filters: list[dict[str, Any]],
    threshold: float | None,
    use_threshold: bool,
) -> dict[str, Any]:
    """Records most similar to a record (itself excluded) or to a query vector."""
    meta = embedding_meta(embedding_id)
    conditions = conditions_for(meta, filters)
    score_threshold = threshold if threshold is not None else meta.similarity_threshold if use_threshold else None
    dims = meta.dimensions
    try:
        index = registry.get(embedding_id, None)
    except LookupError as exc:
        raise problem(409, f"embedding {embedding_id} has no search index yet (is it still being computed?)") from exc
    if record_id is not None:
        ids, vectors = registry.matrix(embedding_id)
        where = np.nonzero(ids == record_id)[0]
        if not len(where):  # a record embedded since the last look at the chunk list
            ids, vectors = registry.matrix(embedding_id, recheck=True)
            where = np.nonzero(ids == record_id)[0]
        if not len(where):
            raise problem(404, f"record {record_id} has no vector in embedding {embedding_id}")
        query = vectors[where[0]]
    else:
        assert vector is not None
        if dims is not None and len(vector) != dims:
            raise problem(400, f"the query vector has {len(vector)} dimensions; embedding {embedding_id} has {dims}")
        query = np.asarray(vector, dtype=np.float32)
    hits: list[Hit] = index.search(query, limit + (1 if record_id is not None else 0), conditions, score_threshold)
    results = [{"record_id": h.record_id, "score": h.score} for h in hits if h.record_id != record_id][:limit]
    return {"results": results, "threshold": score_threshold}


def labeled_record_ids(session: Session, project_id: uuid.UUID) -> set[int]:
    rows = session.scalars(
        select(RecordLabelAssociation.record_id)
        .where(
            RecordLabelAssociation.project_id == project_id,
            RecordLabelAssociation.source_type == SourceType.MANUAL,
            RecordLabelAssociation.is_valid_manual_label.is_(True),
        )
        .distinct()
    )
    return set(rows)


def detect_outliers(embedding_id: uuid.UUID, *, save_slice: bool = True, created_by: uuid.UUID | None = None) -> dict[str, Any]:
    """Unlabeled records farthest from the labeled ones: top 5 % (at most 100), saved as a STATIC_OUTLIER slice.

    Score = cosine distance to the nearest labeled record (up to 2,000 labeled records, sampled); with no labeled
    record at all, the distance to the centroid of all records.
    """
    with session_scope() as session:
        embedding = load_embedding(session, embedding_id)
        attribute_level(embedding)
        project_id = embedding.project_id
        name = embedding.name
        labeled = labeled_record_ids(session, project_id)
    ids, vectors = registry.matrix(embedding_id, recheck=True)
    if not len(ids):
        raise problem(409, f"embedding {name!r} has no vectors yet")
    is_labeled = np.isin(ids, np.fromiter(labeled, dtype=np.int64, count=len(labeled)))
    candidates = np.nonzero(~is_labeled)[0]
    if not len(candidates):
        raise problem(409, "every record is labeled; there are no unlabeled records to rank as outliers")
    if is_labeled.any():
        reference = vectors[is_labeled]
        if len(reference) > OUTLIER_REFERENCE_MAX:
            rng = np.random.default_rng(0)
            reference = reference[rng.choice(len(reference), OUTLIER_REFERENCE_MAX, replace=False)]
        basis = "nearest labeled record"
    else:
        centroid = vectors.mean(axis=0)
        reference = (centroid / max(float(np.linalg.norm(centroid)), 1e-12))[None, :]
        basis = "centroid of all records"
    best = np.full(len(candidates), -np.inf, dtype=np.float32)
    for start in range(0, len(candidates), 8192):
        block = vectors[candidates[start : start + 8192]] @ reference.T
        best[start : start + 8192] = block.max(axis=1)
    scores = 1.0 - best
    top = min(100, max(1, int(round(len(candidates) * 0.05))))
    order = np.argsort(-scores, kind="stable")[:top]
    outliers = [{"record_id": int(ids[candidates[i]]), "score": round(float(scores[i]), 6)} for i in order]
    slice_id: str | None = None
    if save_slice:
        slice_name = f"Outliers · {name}"
        with session_scope() as session:
            session.execute(delete(DataSlice).where(DataSlice.project_id == project_id, DataSlice.name == slice_name))
            data_slice = DataSlice(
                project_id=project_id,
                name=slice_name,
                type=SliceType.STATIC_OUTLIER,
                filter={},
                info={"embedding_id": str(embedding_id), "basis": basis, "detected_at": datetime.now(UTC).isoformat()},
                created_by=created_by,
            )
            session.add(data_slice)
            session.flush()
            session.add_all(
                DataSliceRecord(data_slice_id=data_slice.id, record_id=o["record_id"], outlier_score=o["score"]) for o in outliers
            )
            slice_id = str(data_slice.id)
    return {"data_slice_id": slice_id, "basis": basis, "outliers": outliers, "candidates": int(len(candidates))}
