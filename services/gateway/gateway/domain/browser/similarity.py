"""Similarity in the data browser: "similar to record X (or to a text) under embedding E" as a filter condition and
as a sort key, computed by the neural search service over HTTP (the gateway imports none of its code).

Before a filter is compiled, :func:`resolve` checks every similarity query of the filter and the sort against the
project (a 422 naming its place for an unknown or token-level embedding or a record of another project, a 409 for an
embedding that is not finished), asks neural search for the ``top_k`` hits (the embedder first encodes a text), and
stores them on the catalog; :mod:`.compile` and :mod:`.sort` read them there as an id list and a score per record.
Hits are cached briefly per query, so the pages of one search (and its count) see the same records and scores.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_model.models import Embedding, EmbeddingType, Record, RunState
from shared_model.service import problem
from shared_model.service.errors import ProblemError

from ...clients import ServiceClient
from .compile import ProjectCatalog
from .filters import FilterGroup, SimilarCondition, SimilarityLookup, SimilarityQuery
from .sort import SortKey

CACHE_TTL_S = 60.0
CACHE_ENTRIES = 256


Hits = list[tuple[int, float]]  # (record id, cosine similarity), most similar first


def queries(group: FilterGroup | None, sort: list[SortKey], where: str = "filter") -> Iterator[tuple[str, SimilarityQuery]]:
    """Every similarity query of a filter (conditions at any depth) and of a sort, with its place."""

    def walk(node: FilterGroup, path: str) -> Iterator[tuple[str, SimilarityQuery]]:
        for i, child in enumerate(node.conditions):
            if isinstance(child, FilterGroup):
                yield from walk(child, f"{path}.conditions[{i}]")
            elif isinstance(child, SimilarCondition):
                yield f"{path}.conditions[{i}]", child

    if group is not None:
        yield from walk(group, where)
    for i, key in enumerate(sort):
        if key.similar_to is not None:
            yield f"sort[{i}].similar_to", key.similar_to


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[uuid.UUID, SimilarityLookup], tuple[float, Hits]] = OrderedDict()

    def get(self, key: tuple[uuid.UUID, SimilarityLookup]) -> Hits | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or time.monotonic() - found[0] > CACHE_TTL_S:
                self._items.pop(key, None)
                return None
            return found[1]

    def put(self, key: tuple[uuid.UUID, SimilarityLookup], hits: Hits) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), hits)
            self._items.move_to_end(key)
            while len(self._items) > CACHE_ENTRIES:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


cache = _Cache()


def _check(session: Session, project_id: uuid.UUID, path: str, query: SimilarityQuery) -> None:
    embedding = session.get(Embedding, query.embedding_id)
    if embedding is None or embedding.project_id != project_id:
        raise problem(422, f"{path}: embedding {query.embedding_id} does not exist in this project", condition=path)
    if embedding.type != EmbeddingType.ON_ATTRIBUTE:
        raise problem(
            422,
            f"{path}: embedding {embedding.name!r} is token-level; similarity needs an attribute-level embedding",
            condition=path,
        )
    if embedding.state != RunState.FINISHED:
        raise problem(
            409,
            f"{path}: embedding {embedding.name!r} is {embedding.state}, not FINISHED; wait until it is computed",
            condition=path,
        )
    if query.record_id is not None:
        owner = session.scalar(select(Record.project_id).where(Record.id == query.record_id))
        if owner != project_id:
            raise problem(422, f"{path}: record {query.record_id} does not exist in this project", condition=path)


async def _ask(path: str, query: SimilarityQuery) -> Hits:
    """The hits of one query from neural search (the embedder encodes a text first); its 4xx name ``path``."""
    body: dict[str, Any] = {"limit": query.top_k, "threshold": query.min_score, "use_threshold": False}
    try:
        if query.record_id is not None:
            body["record_id"] = query.record_id
        else:
            encoded = await ServiceClient("embedder").json(
                "POST", "/encode", json={"embedding_id": str(query.embedding_id), "texts": [query.text]}
            )
            body["vector"] = encoded["vectors"][0]
        found = await ServiceClient("neural_search").json("POST", f"/embeddings/{query.embedding_id}/most_similar", json=body)
    except ProblemError as exc:
        if exc.status >= 500:
            raise
        status = 409 if exc.status == 409 else 422
        raise problem(status, f"{path}: {exc.detail}", condition=path) from None
    return [(int(hit["record_id"]), float(hit["score"])) for hit in found["results"]]


def resolve(session: Session, catalog: ProjectCatalog, group: FilterGroup | None, sort: list[SortKey]) -> None:
    """Check and look up every similarity query of ``group`` and ``sort``; the hits go to ``catalog.similar``.

    Runs in a sync route's worker thread: the HTTP calls run on the event loop (``anyio.from_thread``)."""
    wanted: dict[SimilarityLookup, tuple[str, SimilarityQuery]] = {}
    for path, query in queries(group, sort):
        _check(session, catalog.project_id, path, query)
        wanted.setdefault(query.lookup(), (path, query))
    for lookup, (path, query) in wanted.items():
        key = (catalog.project_id, lookup)
        hits = cache.get(key)
        if hits is None:
            hits = anyio.from_thread.run(_ask, path, query)
            cache.put(key, hits)
        catalog.similar[lookup] = hits
