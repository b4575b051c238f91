"""Vector indexes, one Qdrant collection per embedding, behind one small interface.

Backends (chosen by ``REFINERY_QDRANT_URL``):

* ``""`` (default, embedded): Qdrant's own engine in-process through ``qdrant-edge-py`` — one shard folder per
  embedding under ``data_dir/qdrant/edge``. Chosen over qdrant-client's local mode, which is brute force in Python
  (measured at 100,000 × 384: ~320 ms per query and ~230 s to load), far from the latency goal.
* ``"local"``: qdrant-client's local mode under ``data_dir/qdrant/local`` (small projects, tests of the client path).
* any URL: a Qdrant server through qdrant-client (docker compose). Local mode and server share this code path.

Only the neural_search process opens the embedded stores (each allows one process per folder).
"""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared_model.settings import get_settings

# HNSW settings, measured in-process on 100,000 × 384 vectors (1,000 real all-MiniLM-L6-v2 vectors and 99,000
# perturbations of them, i.e. tight clusters of near-duplicates — the hard case for a graph index), recall@10 against
# exact search, 200 queries: m 16 / ef_construct 100 gave 0.84 (query ef 128), 0.89 (256), 0.90 (512): the graph,
# not the query, was the limit. m 32 / ef_construct 256 gives 0.94 / 0.97 / 0.99 at p50 0.7 / 0.9 / 1.6 ms (the HTTP
# round trip costs more than the search), for a build of 47 s instead of 25 s.
HNSW_M = 32
HNSW_EF_CONSTRUCT = 256
HNSW_EF = 512


@dataclass
class Condition:
    """One payload condition: equal to ``value``, one of ``values``, or within ``gte``/``lte``."""

    key: str
    value: Any = None
    values: list[Any] | None = None
    gte: float | None = None
    lte: float | None = None
    ids: list[int] | None = None  # point ids (record ids): the point must be one of them; ``key`` is ignored


@dataclass
class Hit:
    record_id: int
    score: float


def payload_key(attribute_name: str) -> str:
    """The payload field holding an attribute's value (JSON-path safe)."""
    return "attr__" + re.sub(r"\W", "_", attribute_name)


class VectorIndex(ABC):
    """A collection of record vectors with payloads."""

    dims: int

    @abstractmethod
    def upsert(self, ids: np.ndarray, vectors: np.ndarray, payloads: list[dict[str, Any]]) -> None:
        """Insert or replace points."""

    @abstractmethod
    def search(self, vector: np.ndarray, limit: int, conditions: list[Condition], score_threshold: float | None) -> list[Hit]:
        """Nearest points by cosine similarity, best first."""

    @abstractmethod
    def count(self) -> int:
        """Number of points."""

    @abstractmethod
    def optimize(self) -> None:
        """Build the search index (HNSW) where the backend needs it."""

    @abstractmethod
    def drop(self) -> None:
        """Delete the collection and its files."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


class EdgeIndex(VectorIndex):
    """A qdrant-edge shard in-process."""

    def __init__(self, path: Path, dims: int | None, small_segment_kb: int | None = None) -> None:
        """``small_segment_kb``: segments below this size get no graph and are searched by full scan (default: Qdrant's
        10 MB; tests lower it to exercise the graph on small data)."""
        import qdrant_edge as qe

        self.qe = qe
        self.path = path
        if path.is_dir() and any(path.iterdir()):
            self.shard = qe.EdgeShard.load(str(path))
        else:
            if dims is None:
                raise LookupError(f"no index exists at {path}")
            config = qe.EdgeConfig(
                vectors=qe.EdgeVectorParams(size=dims, distance=qe.Distance.Cosine),
                hnsw_config=qe.HnswIndexConfig(
                    m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=small_segment_kb or 10_000
                ),
                optimizers=qe.EdgeOptimizersConfig(indexing_threshold=small_segment_kb) if small_segment_kb else None,
            )
            self.shard = qe.EdgeShard.create(str(path), config)
        self.dims = dims or 0

    def upsert(self, ids: np.ndarray, vectors: np.ndarray, payloads: list[dict[str, Any]]) -> None:
        qe = self.qe
        points = [
            qe.Point(int(i), vector, payload)
            for i, vector, payload in zip(ids.tolist(), vectors.astype(np.float32).tolist(), payloads, strict=True)
        ]
        self.shard.update(qe.UpdateOperation.upsert_points(points))
        self.shard.flush()

    def _filter(self, conditions: list[Condition]) -> Any:
        qe = self.qe
        if not conditions:
            return None
        must: list[Any] = []
        for cond in conditions:
            if cond.ids is not None:
                must.append(qe.HasIdCondition(set(cond.ids)))
            elif cond.values is not None:
                must.append(qe.FieldCondition(key=cond.key, match=qe.MatchAny(list(cond.values))))
            elif cond.gte is not None or cond.lte is not None:
                must.append(qe.FieldCondition(key=cond.key, range=qe.RangeFloat(gte=cond.gte, lte=cond.lte)))
            elif isinstance(cond.value, float):
                must.append(qe.FieldCondition(key=cond.key, range=qe.RangeFloat(gte=cond.value, lte=cond.value)))
            else:
                must.append(qe.FieldCondition(key=cond.key, match=qe.MatchValue(cond.value)))
        return qe.Filter(must=must)

    def search(self, vector: np.ndarray, limit: int, conditions: list[Condition], score_threshold: float | None) -> list[Hit]:
        qe = self.qe
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(np.asarray(vector, dtype=np.float32).tolist()),
            filter=self._filter(conditions),
            score_threshold=score_threshold,
            params=qe.SearchParams(hnsw_ef=HNSW_EF),
            with_payload=False,
        )
        return [Hit(int(p.id), float(p.score)) for p in self.shard.query(request)]

    def count(self) -> int:
        return int(self.shard.count(self.qe.CountRequest(exact=True)))

    def optimize(self) -> None:
        self.shard.optimize()
        self.shard.flush()

    def drop(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def close(self) -> None:
        try:
            self.shard.close()
        except Exception:  # noqa: BLE001 - closing twice is harmless
            pass


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def qdrant_client_for(url: str) -> Any:
    """One qdrant-client per target (local mode allows a single client per folder)."""
    from qdrant_client import QdrantClient

    with _clients_lock:
        if url not in _clients:
            if url == "local":
                path = Path(get_settings().data_dir) / "qdrant" / "local"
                path.mkdir(parents=True, exist_ok=True)
                _clients[url] = QdrantClient(path=str(path))
            else:
                _clients[url] = QdrantClient(url=url)
        return _clients[url]


class QdrantClientIndex(VectorIndex):
    """A collection in a Qdrant server (or qdrant-client local mode)."""

    def __init__(self, client: Any, name: str, dims: int | None) -> None:
        from qdrant_client import models

        self.models = models
        self.client = client
        self.name = name
        if client.collection_exists(name):
            info = client.get_collection(name)
            self.dims = int(info.config.params.vectors.size)
        else:
            if dims is None:
                raise LookupError(f"no collection {name}")
            client.create_collection(
                name,
                vectors_config=models.VectorParams(size=dims, distance=models.Distance.COSINE),
                hnsw_config=models.HnswConfigDiff(m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT),
            )
            self.dims = dims

    def upsert(self, ids: np.ndarray, vectors: np.ndarray, payloads: list[dict[str, Any]]) -> None:
        batch = self.models.Batch(ids=[int(i) for i in ids], vectors=vectors.astype(np.float32).tolist(), payloads=payloads)
        self.client.upsert(self.name, points=batch, wait=True)

    def _filter(self, conditions: list[Condition]) -> Any:
        m = self.models
        if not conditions:
            return None
        must: list[Any] = []
        for cond in conditions:
            if cond.ids is not None:
                must.append(m.HasIdCondition(has_id=list(cond.ids)))
            elif cond.values is not None:
                must.append(m.FieldCondition(key=cond.key, match=m.MatchAny(any=list(cond.values))))
            elif cond.gte is not None or cond.lte is not None:
                must.append(m.FieldCondition(key=cond.key, range=m.Range(gte=cond.gte, lte=cond.lte)))
            elif isinstance(cond.value, float):
                must.append(m.FieldCondition(key=cond.key, range=m.Range(gte=cond.value, lte=cond.value)))
            else:
                must.append(m.FieldCondition(key=cond.key, match=m.MatchValue(value=cond.value)))
        return m.Filter(must=must)

    def search(self, vector: np.ndarray, limit: int, conditions: list[Condition], score_threshold: float | None) -> list[Hit]:
        response = self.client.query_points(
            self.name,
            query=np.asarray(vector, dtype=np.float32).tolist(),
            limit=limit,
            query_filter=self._filter(conditions),
            score_threshold=score_threshold,
            search_params=self.models.SearchParams(hnsw_ef=HNSW_EF),
            with_payload=False,
        )
        return [Hit(int(p.id), float(p.score)) for p in response.points]

    def count(self) -> int:
        return int(self.client.count(self.name, exact=True).count)

    def optimize(self) -> None:
        """A server indexes in the background; local mode has no index."""

    def drop(self) -> None:
        if self.client.collection_exists(self.name):
            self.client.delete_collection(self.name)


def backend_name() -> str:
    """``edge``, ``local`` or ``server`` from the settings."""
    url = get_settings().qdrant_url
    return "edge" if not url else "local" if url == "local" else "server"


def open_index(embedding_id: uuid.UUID, dims: int | None) -> VectorIndex:
    """Open (or, given ``dims``, create) the embedding's collection; LookupError if absent and ``dims`` is None."""
    url = get_settings().qdrant_url
    if not url:
        path = Path(get_settings().data_dir) / "qdrant" / "edge" / embedding_id.hex
        if dims is None and not path.exists():
            raise LookupError(f"embedding {embedding_id} has no index")
        path.parent.mkdir(parents=True, exist_ok=True)
        return EdgeIndex(path, dims)
    return QdrantClientIndex(qdrant_client_for(url), f"emb_{embedding_id.hex}", dims)
