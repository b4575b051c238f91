"""Embeddings as partitions on a real local Ray cluster of two nodes (``ray.cluster_utils.Cluster``, one CPU each):
actors holding the model encode the chunks, handed back in order; the vectors equal the service's own encoding of
the same chunks (exactly for a fitted classical encoder over 10,000 records, sentence and token level; within
float32 rounding for the offline MiniLM, whose CPU kernels may sum in another order in another process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from embedder.encoders import encode_chunk, make_encoder
from embedder.ray_encoding import ray_encoded
from shared_model.settings import get_settings

from ..ray_clusters import local_cluster

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = pytest.mark.timeout(900)

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
            assert (counts is None and local_counts is None) or np.array_equal(counts, local_counts)


def test_minilm_vectors_on_ray_match_the_local_ones(on_ray: None) -> None:
    encoder = make_encoder("all-MiniLM-L6-v2")
    chunks = _chunks(300, 100)
    remote = list(ray_encoded("all-MiniLM-L6-v2", None, 1000, iter(chunks), len(chunks)))
    for (_, vectors, _), (_, texts, _) in zip(remote, chunks, strict=True):
        local, _ = encode_chunk(encoder, texts, None)
        assert vectors.shape == local.shape == (len(texts), 384)
        assert np.allclose(vectors, local, atol=1e-5)
