"""The ``embed`` job: compute an embedding's vectors in chunks, resumable and incremental.

Each chunk of records is encoded, written to object storage (``EmbeddingArtifacts``), handed to neural search
(which reads it from storage and upserts it into the embedding's Qdrant collection) and then marked done. A job
that restarts — after a crash, or to embed records added since — skips the records of completed chunks.
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import spacy
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_model.db import session_scope
from shared_model.jobs import JobContext, JobFailed, ensure_claimed
from shared_model.models import Attribute, Embedding, EmbeddingType, Project, Record, RecordTokenized, RunState
from shared_model.service.client import call_service
from shared_model.settings import get_settings
from shared_model.storage import EmbeddingArtifacts, ObjectStorage, get_storage

from ..encoders import Encoder, ModelUnavailable, Span, encode_chunk, make_encoder
from ..ray_encoding import ray_encoded

CHUNK_RECORDS = 1024
PCA_KEY = "pca.pkl"
ENCODER_KEY = "encoder.pkl"


def record_texts(session: Session, attribute: str, record_ids: list[int]) -> list[str]:
    """The attribute's text per record, in the order of ``record_ids``."""
    rows: dict[int, str | None] = dict(
        session.execute(select(Record.id, Record.data[attribute].astext).where(Record.id.in_(record_ids))).tuples().all()
    )
    return [rows.get(i) or "" for i in record_ids]


def blank_pipeline(tokenizer: str) -> Any:
    """A blank spaCy pipeline for the project's language (``en_core_web_sm`` → ``en``)."""
    lang = tokenizer if len(tokenizer) <= 3 else tokenizer.split("_", 1)[0]
    try:
        return spacy.blank(lang)
    except Exception:  # noqa: BLE001 - unknown language code: fall back to the multi-language tokenizer
        return spacy.blank("xx")


def record_tokens(
    session: Session, project: Project, attribute: str, record_ids: list[int], texts: list[str]
) -> tuple[list[str], list[list[Span]]]:
    """Texts and token character spans from the project's tokenized records (tokenized here if missing)."""
    stored = {
        row.record_id: row for row in session.scalars(select(RecordTokenized).where(RecordTokenized.record_id.in_(record_ids)))
    }
    nlp = None
    out_texts: list[str] = []
    spans: list[list[Span]] = []
    vocab = Vocab()
    for record_id, text in zip(record_ids, texts, strict=True):
        doc = None
        row = stored.get(record_id)
        if row is not None and attribute in row.columns:
            docs = list(DocBin().from_bytes(row.bytes).get_docs(vocab))
            position = row.columns.index(attribute)
            if position < len(docs):
                doc = docs[position]
        if doc is None:
            nlp = nlp or blank_pipeline(project.tokenizer)
            doc = nlp.make_doc(text)
        out_texts.append(doc.text)
        spans.append([(t.idx, t.idx + len(t.text)) for t in doc])
    return out_texts, spans


def done_record_ids(storage: ObjectStorage, artifacts: EmbeddingArtifacts) -> set[int]:
    done: set[int] = set()
    for key in artifacts.done_chunks():
        done.update(int(i) for i in storage.get_arrays(key)["record_ids"])
    return done


def neural_search(method: str, path: str, **kwargs: Any) -> Any:
    """Call the neural search service; its errors fail the job with their message."""
    url = get_settings().service_url("neural_search")
    try:
        response = call_service("neural_search", method, path, timeout=600.0, **kwargs)
    except httpx.HTTPError as exc:
        raise JobFailed(f"the neural_search service at {url} is unreachable: {exc}") from exc
    if response.status_code >= 400:
        raise JobFailed(f"neural_search refused {path}: {response.text[:500]}")
    return response.json()


def load_encoder(storage: ObjectStorage, artifacts: EmbeddingArtifacts, model: str, settings: dict[str, Any]) -> Encoder:
    """The embedding's encoder, restoring a fitted classical one from storage."""
    key = f"{artifacts.prefix}/{ENCODER_KEY}"
    state = storage.get(key) if storage.exists(key) else None
    return make_encoder(model, state=state, max_features=int(settings.get("max_features") or 1000))


def load_pca(storage: ObjectStorage, artifacts: EmbeddingArtifacts) -> Any:
    key = f"{artifacts.prefix}/{PCA_KEY}"
    return pickle.loads(storage.get(key)) if storage.exists(key) else None  # noqa: S301 - our own artifact


def embed(ctx: JobContext) -> dict[str, Any]:
    """Handler of ``embed`` jobs: ``{"embedding_id": …, "chunk_records": …?}``.

    A failed or cancelled job fails or cancels its embedding with the job's reason (``shared_model.run_state``).
    """
    embedding_id = uuid.UUID(str(ctx.parameters.get("embedding_id")))
    try:
        return _embed(ctx, embedding_id)
    except ModelUnavailable as exc:
        raise JobFailed(str(exc)) from exc


def _fit_encoder(
    encoder: Encoder,
    storage: ObjectStorage,
    artifacts: EmbeddingArtifacts,
    project: Project,
    attribute_name: str,
    record_ids: list[int],
    token_level: bool,
) -> None:
    """Fit ``encoder`` on all the records' texts (their tokens' texts when ``token_level``) and store its state."""
    with session_scope() as session:
        texts = record_texts(session, attribute_name, record_ids)
        if token_level:
            texts, spans = record_tokens(session, project, attribute_name, record_ids, texts)
            texts = [text[s:e] for text, token_spans in zip(texts, spans, strict=True) for s, e in token_spans]
    encoder.fit(texts)
    state = encoder.dump()
    if state is not None:
        storage.put(f"{artifacts.prefix}/{ENCODER_KEY}", state)


def _encode(encoder: Encoder, texts: list[str], spans: list[list[Span]] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """One chunk's vectors (one per record, or with ``spans`` one per token) and, per token, each record's count."""
    return encode_chunk(encoder, texts, spans)


def _read_chunks(
    project: Project, attribute_name: str, todo: list[int], chunk_records: int, token_level: bool
) -> Iterator[tuple[list[int], list[str], list[list[Span]] | None]]:
    """The records to embed, chunk by chunk: their ids, texts and (token level) their tokens' spans."""
    for start in range(0, len(todo), chunk_records):
        chunk = todo[start : start + chunk_records]
        spans = None
        with session_scope() as session:
            texts = record_texts(session, attribute_name, chunk)
            if token_level:
                texts, spans = record_tokens(session, project, attribute_name, chunk, texts)
        yield chunk, texts, spans


def _embed(ctx: JobContext, embedding_id: uuid.UUID) -> dict[str, Any]:
    storage = get_storage()
    artifacts = EmbeddingArtifacts(storage, embedding_id)
    with session_scope() as session:
        embedding = session.get(Embedding, embedding_id)
        if embedding is None:
            raise JobFailed(f"embedding {embedding_id} does not exist (deleted?)")
        attribute = session.get(Attribute, embedding.attribute_id)
        project = session.get(Project, embedding.project_id)
        assert attribute is not None and project is not None
        embedding.state = RunState.RUNNING
        embedding.error = None
        model, token_level = embedding.model, embedding.type == EmbeddingType.ON_TOKEN
        options = dict(embedding.settings or {})
        attribute_name = attribute.name
        all_ids = list(session.scalars(select(Record.id).where(Record.project_id == project.id).order_by(Record.id)))
        session.expunge(project)
    ctx.progress(0.0, "loading the model", force=True)
    done = done_record_ids(storage, artifacts)
    todo = [i for i in all_ids if i not in done]
    encoder = load_encoder(storage, artifacts, model, options)
    if encoder.needs_fit:
        ctx.progress(0.0, f"fitting {model} on {len(all_ids)} records", force=True)
        _fit_encoder(encoder, storage, artifacts, project, attribute_name, all_ids, token_level)
    pca = load_pca(storage, artifacts)
    pca_dims = options.get("pca_dimensions")
    seq = artifacts.next_seq()
    chunk_records = int(ctx.parameters.get("chunk_records") or CHUNK_RECORDS)
    dims: int | None = None
    total = max(len(all_ids), 1)
    finished = len(all_ids) - len(todo)
    reads = _read_chunks(project, attribute_name, todo, chunk_records, token_level)
    settings = get_settings()
    on_ray = bool(settings.ray_address) and len(todo) >= settings.ray_min_records
    if on_ray:  # actors holding the model on the cluster (ray_encoding) encode every chunk
        max_features = int(options.get("max_features") or 1000)
        expected = -(-len(todo) // chunk_records)
        encoded = ray_encoded(model, encoder.dump(), max_features, reads, expected)
    else:
        encoded = ((chunk, *_encode(encoder, texts, spans)) for chunk, texts, spans in reads)
    for chunk, vectors, counts in encoded:
        if pca_dims and pca is None:
            pca = fit_pca(vectors, int(pca_dims))
            storage.put(f"{artifacts.prefix}/{PCA_KEY}", pickle.dumps(pca))
        if pca is not None and len(vectors):
            vectors = pca.transform(vectors).astype(np.float32)
        dims = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.shape[1] else dims
        key = artifacts.chunk_key(seq)
        arrays: dict[str, np.ndarray] = {"record_ids": np.asarray(chunk, dtype=np.int64), "vectors": vectors}
        if counts is not None:
            arrays["token_counts"] = counts
        storage.put_arrays(key, **arrays)
        if not token_level:
            neural_search("POST", f"/embeddings/{embedding_id}/chunks", json={"keys": [key]})
        artifacts.mark_done(key)
        seq += 1
        finished += len(chunk)
        ctx.progress(finished / total, f"embedded {finished} of {len(all_ids)} records")
    if dims is None:
        dims = stored_dims(storage, artifacts)
    if not token_level:
        neural_search("POST", f"/embeddings/{embedding_id}/finalize")
    with session_scope() as session:  # finished only while the job is still this worker's
        if ctx.claim is not None:
            ensure_claimed(session, ctx.claim)
        row = session.get(Embedding, embedding_id)
        if row is None:
            raise JobFailed(f"embedding {embedding_id} was deleted while it was computed")
        row.state, row.dimensions, row.storage_key = RunState.FINISHED, dims, artifacts.prefix
    return {
        "embedding_id": str(embedding_id),
        "embedded": len(todo),
        "records": len(all_ids),
        "dimensions": dims,
        "runner": "ray" if on_ray else "local",  # where this job's chunks were encoded (docs/scale-out.md)
    }


def fit_pca(vectors: np.ndarray, dims: int) -> Any:
    """PCA fitted on the first chunk (components capped by its size)."""
    from sklearn.decomposition import PCA

    components = max(1, min(dims, vectors.shape[0], vectors.shape[1]))
    return PCA(n_components=components, random_state=0).fit(vectors)


def stored_dims(storage: ObjectStorage, artifacts: EmbeddingArtifacts) -> int | None:
    keys = artifacts.done_chunks()
    if not keys:
        return None
    vectors = storage.get_arrays(keys[0])["vectors"]
    return int(vectors.shape[1]) if vectors.ndim == 2 else None


def encode_for_embedding(embedding_id: uuid.UUID, texts: list[str]) -> np.ndarray:
    """Encode free texts the way an embedding's records were (fitted vocabulary and PCA included)."""
    storage = get_storage()
    artifacts = EmbeddingArtifacts(storage, embedding_id)
    with session_scope() as session:
        embedding = session.get(Embedding, embedding_id)
        if embedding is None:
            raise LookupError(f"embedding {embedding_id} does not exist")
        model, options = embedding.model, dict(embedding.settings or {})
    encoder = load_encoder(storage, artifacts, model, options)
    if encoder.needs_fit:
        raise ModelUnavailable(f"embedding {embedding_id} has no fitted {model} model yet (is it still being computed?)")
    vectors = encoder.encode(texts)
    pca = load_pca(storage, artifacts)
    return pca.transform(vectors).astype(np.float32) if pca is not None else vectors


def read_token_vectors(embedding_id: uuid.UUID) -> dict[int, np.ndarray]:
    """Token vectors per record of a token-level embedding (for active learners and tests)."""
    storage = get_storage()
    result: dict[int, np.ndarray] = {}
    for key in EmbeddingArtifacts(storage, embedding_id).done_chunks():
        arrays = storage.get_arrays(key)
        offsets = np.concatenate([[0], np.cumsum(arrays["token_counts"])])
        for i, record_id in enumerate(arrays["record_ids"]):
            result[int(record_id)] = arrays["vectors"][offsets[i] : offsets[i + 1]]
    return result
