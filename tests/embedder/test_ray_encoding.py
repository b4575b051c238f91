"""Embeddings as partitions on a real local Ray cluster of two nodes (``ray.cluster_utils.Cluster``, one CPU each):
actors holding the model encode the chunks, handed back in order; the vectors equal the service's own encoding of
the same chunks (exactly for a fitted classical encoder over 10,000 records, sentence and token level; within
float32 rounding for the offline MiniLM, whose CPU kernels may sum in another order in another process); a node
removed mid-run has its chunks encoded again by the live actors, with the same vectors, soon after."""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from embedder.encoders import encode_chunk, make_encoder
from embedder.jobs import HANDLERS
from embedder.ray_encoding import ray_encoded
from shared_model import jobs
from shared_model.db import session_scope
from shared_model.models import Attribute, DataType, Embedding, EmbeddingType, Job, JobState, Project, Record
from shared_model.ray_actors import ActorCall
from shared_model.settings import get_settings
from shared_model.storage import EmbeddingArtifacts, get_storage

from ..ray_clusters import NODE, local_cluster

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = pytest.mark.timeout(900)

embed_module = importlib.import_module("embedder.jobs.embed")  # the module (``embedder.jobs.embed`` is also its handler)

TOPICS = ["the striker scored twice", "shares fell sharply", "a new album tops the charts", "cheap flights to Rome"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with local_cluster({}) as (made, _):
        yield made


@pytest.fixture()
def on_ray(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REFINERY_RAY_ADDRESS", cluster.address)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _chunks(n: int, size: int, spans: bool = False) -> list[tuple[list[int], list[str], Any]]:
    texts = [f"record {i}: {TOPICS[i % 4]} ({i % 13} times)" for i in range(n)]
    out = []
    for start in range(0, n, size):
        part = texts[start : start + size]
        token_spans = [[(0, 6), (len(t) - 6, len(t))] for t in part] if spans else None
        out.append((list(range(start, start + len(part))), part, token_spans))
    return out


def test_classical_vectors_on_ray_equal_the_local_ones(on_ray: None) -> None:
    encoder = make_encoder("tf-idf", max_features=200)
    encoder.fit([f"record {i}: {TOPICS[i % 4]} ({i % 13} times)" for i in range(10_000)])
    for spans in (False, True):
        chunks = _chunks(10_000, 500, spans)
        remote = list(ray_encoded("tf-idf", encoder.dump(), 200, iter(chunks), len(chunks)))
        assert [ids for ids, _, _ in remote] == [ids for ids, _, _ in chunks]  # in order
        for (_, vectors, counts), (_, texts, token_spans) in zip(remote, chunks, strict=True):
            local_vectors, local_counts = encode_chunk(encoder, texts, token_spans)
            assert np.array_equal(vectors, local_vectors)
            if counts is None or local_counts is None:
                assert counts is None and local_counts is None
            else:
                assert np.array_equal(counts, local_counts)


@pytest.mark.parametrize("graceful", [True, False], ids=["drained", "killed"])
def test_a_node_removed_mid_run_still_gives_the_local_vectors(
    cluster: Cluster, on_ray: None, monkeypatch: pytest.MonkeyPatch, graceful: bool
) -> None:
    """A third node joins and is removed (drained, or killed) after a third of the chunks were handed out: the chunks
    its actor held (or whose vectors lay in its object store) are encoded again by the live actors, in order, and the
    run ends soon after (before, a chunk waited for ever on the actor Ray restarted, which never got a CPU again)."""
    extra = cluster.add_node(**NODE)
    cluster.wait_for_nodes()
    encoder = make_encoder("tf-idf", max_features=200)
    encoder.fit([f"record {i}: {TOPICS[i % 4]} ({i % 13} times)" for i in range(10_000)])
    chunks = _chunks(10_000, 250)
    starts: list[int] = []
    real_start = ActorCall.start

    def start(call: ActorCall, slot: Any) -> None:
        starts.append(call.tries)
        real_start(call, slot)

    monkeypatch.setattr(ActorCall, "start", start)
    removed: list[float] = []

    def handed_out() -> Iterator[tuple[list[int], list[str], Any]]:
        for index, chunk in enumerate(chunks):
            if index == len(chunks) // 3:
                cluster.remove_node(extra, allow_graceful=graceful)
                removed.append(time.monotonic())
            yield chunk

    remote = list(ray_encoded("tf-idf", encoder.dump(), 200, handed_out(), len(chunks)))
    assert time.monotonic() - removed[0] < 60
    assert max(starts) >= 1 and len(starts) > len(chunks)  # some chunks were sent again
    assert [ids for ids, _, _ in remote] == [ids for ids, _, _ in chunks]
    for (_, vectors, _), (_, texts, _) in zip(remote, chunks, strict=True):
        assert np.array_equal(vectors, encode_chunk(encoder, texts, None)[0])


def test_minilm_vectors_on_ray_match_the_local_ones(on_ray: None) -> None:
    encoder = make_encoder("all-MiniLM-L6-v2")
    chunks = _chunks(300, 100)
    remote = list(ray_encoded("all-MiniLM-L6-v2", None, 1000, iter(chunks), len(chunks)))
    for (_, vectors, _), (_, texts, _) in zip(remote, chunks, strict=True):
        local, _ = encode_chunk(encoder, texts, None)
        assert vectors.shape == local.shape == (len(texts), 384)
        assert np.allclose(vectors, local, atol=1e-5)


def _embedding_job(project_id: Any, attribute_id: Any) -> tuple[Any, Any]:
    """A token-level tf-idf embedding and its ``embed`` job (token level: no neural search involved)."""
    with session_scope() as session:
        embedding = Embedding(
            project_id=project_id,
            attribute_id=attribute_id,
            name=f"tokens {uuid.uuid4().hex[:6]}",
            type=EmbeddingType.ON_TOKEN,
            model="tf-idf",
            platform="classical",
            settings={"max_features": 100},
        )
        session.add(embedding)
        session.flush()
        job = jobs.enqueue(
            session,
            kind="embed",
            owner_service="ray-embed-test",
            project_id=project_id,
            parameters={"embedding_id": str(embedding.id), "chunk_records": 250},
        )
        return embedding.id, job.id


def _run_embed_job(job_id: Any) -> Job:
    worker = jobs.JobWorker("ray-embed-test", HANDLERS)
    claimed = jobs.claim("ray-embed-test", ["embed"], worker.name)
    assert claimed is not None and claimed.id == job_id
    worker.run_job(claimed)
    return jobs.wait_for_job(job_id, 5)


def _stored(embedding_id: Any) -> dict[str, np.ndarray]:
    artifacts = EmbeddingArtifacts(get_storage(), embedding_id)
    parts = [get_storage().get_arrays(key) for key in artifacts.done_chunks()]
    return {name: np.concatenate([p[name] for p in parts]) for name in ("record_ids", "vectors", "token_counts")}


def test_an_embed_job_on_ray_stores_the_local_vectors(clean_db: str, cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedder's job itself: the same token-level embedding computed by the service alone and with Ray."""
    with session_scope() as session:
        project = Project(name="ray embed job", tokenizer="en")
        session.add(project)
        session.flush()
        attribute = Attribute(project_id=project.id, name="text", data_type=DataType.TEXT, relative_position=0)
        session.add(attribute)
        session.flush()
        session.add_all([Record(project_id=project.id, data={"text": f"record {i}: {TOPICS[i % 4]}"}) for i in range(2_000)])
        project_id, attribute_id = project.id, attribute.id
    local_id, local_job = _embedding_job(project_id, attribute_id)
    local_done = _run_embed_job(local_job)
    assert local_done.state == JobState.DONE and local_done.result["runner"] == "local"

    calls: list[int] = []
    real = embed_module.ray_encoded

    def spy(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(embed_module, "ray_encoded", spy)
    monkeypatch.setenv("REFINERY_RAY_ADDRESS", cluster.address)
    monkeypatch.setenv("REFINERY_RAY_MIN_RECORDS", "1000")
    get_settings.cache_clear()
    ray_id, ray_job = _embedding_job(project_id, attribute_id)
    done = _run_embed_job(ray_job)
    assert done.state == JobState.DONE, done.error
    assert calls == [1] and done.result["runner"] == "ray"  # the chunks went to the actors, and the job says so
    local, remote = _stored(local_id), _stored(ray_id)
    assert len(local["record_ids"]) == 2_000
    for name in local:
        assert np.array_equal(local[name], remote[name]), name
