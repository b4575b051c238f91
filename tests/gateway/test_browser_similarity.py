"""The data browser's similarity condition and sort: "similar to record X (or to a text) under embedding E", computed
by the real neural search service (and the embedder for texts) over HTTP, combined with other conditions, paged by
cursor, counted, and refused with clear 4xx problems."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from refinery.browser import by_similarity, similar
from shared_model.db import session_scope
from shared_model.models import Embedding, RunState

from .test_embeddings import create_and_wait, running, seed

__all__ = ["running"]


@pytest.fixture()
def world(running: Any, client: TestClient, project: dict[str, Any]) -> dict[str, Any]:
    pid = project["id"]
    data = seed(pid)
    emb = create_and_wait(client, pid, attribute="headline", filter_attributes=["category"])
    return {"pid": pid, "emb": emb["id"], **data}


def _url(world: dict[str, Any], path: str) -> str:
    return f"/api/v1/projects/{world['pid']}{path}"


def _reference(client: TestClient, world: dict[str, Any], limit: int, **query: Any) -> list[tuple[int, float]]:
    """Neural search's own answer (through the gateway's similarity route), to compare the browser with."""
    r = client.post(_url(world, f"/embeddings/{world['emb']}/similar"), json={**query, "limit": limit, "use_threshold": False})
    assert r.status_code == 200, r.text
    return [(hit["record_id"], hit["score"]) for hit in r.json()["results"]]


def _search(client: TestClient, world: dict[str, Any], **body: Any) -> dict[str, Any]:
    r = client.post(_url(world, "/records/search"), json=body)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def _similar(world: dict[str, Any], **query: Any) -> dict[str, Any]:
    return {"kind": "similar", "embedding_id": world["emb"], **query}


def test_similarity_filter_sort_paging_and_count(client: TestClient, world: dict[str, Any]) -> None:
    anchor = next(r for r in world["record_ids"] if world["topics"][r] == "sports")
    reference = _reference(client, world, 100, record_id=anchor)
    assert len(reference) == 100 and anchor not in [rid for rid, _ in reference]
    top20 = {rid for rid, _ in _reference(client, world, 20, record_id=anchor)}  # (equal scores: neural search's pick)

    # a condition: the top_k records, counted exactly
    cond = similar(world["emb"], record_id=anchor, top_k=20)  # the SDK's helper builds the condition
    found = _search(client, world, filter={"conditions": [cond]}, limit=100, count="exact")
    assert {item["id"] for item in found["items"]} == top20 and found["total"] == 20
    counted = client.post(_url(world, "/records/count"), json={"filter": {"conditions": [cond]}, "count": "exact"})
    assert counted.status_code == 200 and counted.json() == {"total": 20, "total_estimated": False}

    # combined with an attribute condition (AND), and negated
    sports = {"kind": "attribute", "attribute": "category", "operator": "EQUAL", "values": ["sports"]}
    wide = _similar(world, record_id=anchor, top_k=100)
    both = _search(client, world, filter={"conditions": [wide, sports]}, limit=200, count="exact")
    expected = {rid for rid, _ in reference if world["topics"][rid] == "sports"}
    assert {item["id"] for item in both["items"]} == expected and both["total"] == len(expected)
    either = _search(client, world, filter={"join": "OR", "conditions": [cond, sports]}, limit=1, count="exact")
    assert either["total"] == len(top20 | {r for r in world["record_ids"] if world["topics"][r] == "sports"})
    negated = _search(client, world, filter={"conditions": [{**cond, "negate": True}]}, limit=1, count="exact")
    assert negated["total"] == len(world["record_ids"]) - 20

    # a minimum score
    gap = next(i for i in range(9, 99) if reference[i][1] - reference[i + 1][1] > 1e-4)  # no score near the cut
    cut = (reference[gap][1] + reference[gap + 1][1]) / 2
    above = _search(
        client, world, filter={"conditions": [_similar(world, record_id=anchor, top_k=100, min_score=cut)]}, limit=200
    )
    assert {item["id"] for item in above["items"]} == {rid for rid, _ in reference[: gap + 1]}

    # an order: the hits by score (ties by id), then every other record by id; paged by cursor without gaps
    sort = [by_similarity(world["emb"], record_id=anchor, top_k=30)]
    seen: list[int] = []
    cursor = None
    for _ in range(40):
        page = _search(client, world, sort=sort, limit=7, cursor=cursor, count="none")
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    top30 = dict(_reference(client, world, 30, record_id=anchor))  # (equal scores at the cut: neural search's pick)
    ranked = sorted(top30, key=lambda rid: (-top30[rid], rid))
    others = sorted(set(world["record_ids"]) - set(ranked))
    assert seen == ranked + others

    # the order with a filter, and a labeling session in that order
    sessions = client.post(
        _url(world, "/labeling-sessions"), json={"name": "similar", "filter": {"conditions": [sports]}, "sort": sort}
    )
    assert sessions.status_code == 201, sessions.text
    in_order = [rid for rid in ranked + others if world["topics"][rid] == "sports"]
    assert sessions.json()["total"] == len(in_order) and sessions.json()["record_id"] == in_order[0]
    assert sessions.json()["next_record_id"] == in_order[1]

    # similar to a text (the embedder encodes it), and a bulk label on the result
    reference = _reference(client, world, 10, text="bond yields and inflation")
    cond = _similar(world, text="bond yields and inflation", top_k=10)
    found = _search(client, world, filter={"conditions": [cond]}, limit=50)
    assert {item["id"] for item in found["items"]} == {rid for rid, _ in reference}
    assert all(world["topics"][item["id"]] == "finance" for item in found["items"])

    r = client.post(
        _url(world, "/records/bulk-label"),
        json={"filter": {"conditions": [cond]}, "labeling_task_id": world["task_id"], "label_ids": [world["labels"]["finance"]]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["records"] == 10


def test_similarity_errors(client: TestClient, world: dict[str, Any]) -> None:
    anchor = world["record_ids"][0]

    def problem(body: dict[str, Any], status: int, *words: str) -> None:
        r = client.post(_url(world, "/records/search"), json=body)
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        for word in words:
            assert word in r.text, r.text

    unknown = str(uuid.uuid4())
    cond = {"kind": "similar", "embedding_id": unknown, "record_id": anchor}
    problem({"filter": {"conditions": [cond]}}, 422, "filter.conditions[0]", unknown, "does not exist in this project")
    problem({"filter": {"conditions": [_similar(world, record_id=anchor, top_k=5000)]}}, 422, "top_k")
    problem({"filter": {"conditions": [_similar(world, record_id=anchor, text="x")]}}, 422, "exactly one of record_id or text")
    problem({"filter": {"conditions": [_similar(world, record_id=10**12)]}}, 422, "record 1000000000000 does not exist")
    problem({"sort": [{"by": "similarity"}]}, 422, "similar_to")

    other = client.post("/api/v1/projects", json={"name": "other"}).json()
    foreign = client.post(
        f"/api/v1/projects/{other['id']}/records/search", json={"filter": {"conditions": [_similar(world, record_id=anchor)]}}
    )
    assert foreign.status_code == 422 and "does not exist in this project" in foreign.text

    # stored filters cannot hold a similarity (their hits are looked up per request)
    sl = client.post(_url(world, "/slices"), json={"name": "near", "filter": {"conditions": [_similar(world, record_id=anchor)]}})
    assert sl.status_code == 422 and "not in data slices" in sl.text, sl.text

    # an embedding that is not finished
    with session_scope() as session:
        session.execute(update(Embedding).where(Embedding.id == uuid.UUID(world["emb"])).values(state=RunState.RUNNING))
    sort = [{"by": "similarity", "similar_to": {"embedding_id": world["emb"], "text": "goal"}}]
    problem({"sort": sort}, 409, "sort[0].similar_to", "not FINISHED")
    with session_scope() as session:
        session.execute(update(Embedding).where(Embedding.id == uuid.UUID(world["emb"])).values(state=RunState.FINISHED))
