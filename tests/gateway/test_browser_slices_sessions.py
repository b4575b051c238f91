"""Data slices, labeling sessions and bulk labeling of a filter result through the HTTP API (real Postgres)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shared_model.db import session_scope
from shared_model.models import Record
from shared_model.models import RecordLabelAssociation as RLA

from .browser_world import World, build_world, evaluate, search_ids


@pytest.fixture()
def world(client: TestClient, project: dict[str, Any]) -> World:
    return build_world(client, project["id"], n=40)


def _topic(*topics: str) -> dict[str, Any]:
    return {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "IN", "values": list(topics)}]}


def test_dynamic_and_static_slices(client: TestClient, world: World) -> None:
    tech = _topic("tech")
    r = client.post(world.url("/slices"), json={"name": "tech", "filter": tech})
    assert r.status_code == 201, r.text
    dynamic = r.json()
    assert dynamic["type"] == "DYNAMIC_DEFAULT" and dynamic["count"] == len(evaluate(world, tech))
    assert dynamic["outdated"] is None and dynamic["created_by"] == world.admin_id
    r = client.post(world.url("/slices"), json={"name": "frozen tech", "type": "STATIC_DEFAULT", "filter": tech})
    static = r.json()
    assert r.status_code == 201 and static["count"] == dynamic["count"] and static["outdated"] is False
    assert client.post(world.url("/slices"), json={"name": "tech"}).status_code == 409
    # in_slice selects the same records, for both kinds
    for s in (dynamic, static):
        node = {"conditions": [{"kind": "in_slice", "slice_id": s["id"]}]}
        assert set(search_ids(client, world, {"filter": node}, page=50)) == evaluate(world, tech)
    # a new tech record: the dynamic slice grows, the static one is outdated until re-frozen
    with session_scope() as session:
        session.add(Record(project_id=uuid.UUID(world.project_id), data={"key": 999, "headline": "x", "topic": "tech"}))
    world.reload()
    assert client.get(world.url(f"/slices/{dynamic['id']}")).json()["count"] == dynamic["count"] + 1
    stale = client.get(world.url(f"/slices/{static['id']}")).json()
    assert stale["count"] == static["count"] and stale["outdated"] is True
    refrozen = client.patch(world.url(f"/slices/{static['id']}"), json={"refreeze": True}).json()
    assert refrozen["count"] == static["count"] + 1 and refrozen["outdated"] is False
    # add a filter's result and ids to the static slice; a dynamic slice refuses
    added = client.post(world.url(f"/slices/{static['id']}/records"), json={"filter": _topic("business")}).json()
    assert added["added"] == len(evaluate(world, _topic("business"))) and added["slice"]["outdated"] is True
    again = client.post(world.url(f"/slices/{static['id']}/records"), json={"filter": _topic("business")}).json()
    assert again["added"] == 0
    assert client.post(world.url(f"/slices/{dynamic['id']}/records"), json={"record_ids": [1]}).status_code == 409
    bad = client.post(world.url(f"/slices/{static['id']}/records"), json={"record_ids": [-4]})
    assert bad.status_code == 422 and "-4" in bad.json()["detail"]
    # rename, change the filter, list, delete
    r = client.patch(world.url(f"/slices/{dynamic['id']}"), json={"name": "sports", "filter": _topic("Sports")})
    assert r.status_code == 200 and r.json()["name"] == "sports" and r.json()["count"] == len(evaluate(world, _topic("Sports")))
    self_ref = {"conditions": [{"kind": "in_slice", "slice_id": dynamic["id"]}]}
    assert client.patch(world.url(f"/slices/{dynamic['id']}"), json={"filter": self_ref}).status_code == 422
    assert [s["name"] for s in client.get(world.url("/slices")).json()] == ["sports", "frozen tech"]
    assert client.delete(world.url(f"/slices/{dynamic['id']}")).status_code == 204
    assert client.get(world.url(f"/slices/{dynamic['id']}")).status_code == 404
    # a bad filter names its condition and stores nothing
    r = client.post(
        world.url("/slices"),
        json={
            "name": "bad",
            "filter": {"conditions": [{"kind": "attribute", "attribute": "nope", "operator": "EQUAL", "values": [1]}]},
        },
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("filter.conditions[0]")
    assert [s["name"] for s in client.get(world.url("/slices")).json()] == ["frozen tech"]
    # a slice whose filter names a slice deleted since is still listed, with the reason
    inner = client.post(world.url("/slices"), json={"name": "inner", "filter": tech}).json()
    outer = client.post(
        world.url("/slices"), json={"name": "outer", "filter": {"conditions": [{"kind": "in_slice", "slice_id": inner["id"]}]}}
    ).json()
    assert outer["count"] == len(evaluate(world, tech)) and outer["problem"] is None
    assert client.delete(world.url(f"/slices/{inner['id']}")).status_code == 204
    listed = {s["name"]: s for s in client.get(world.url("/slices")).json()}
    assert listed["outer"]["count"] is None and "does not exist" in listed["outer"]["problem"]


def test_labeling_sessions(client: TestClient, world: World) -> None:
    node = _topic("tech", "business")
    sort = [{"by": "attribute", "attribute": "key", "direction": "desc"}]
    r = client.post(world.url("/labeling-sessions"), json={"name": "mine", "filter": node, "sort": sort})
    assert r.status_code == 201, r.text
    created = r.json()
    expected = sorted(evaluate(world, node), key=lambda rid: -world.records[rid]["key"])
    assert created["total"] == len(expected) and created["position"] == 0 and created["record_id"] == expected[0]
    assert created["previous_record_id"] is None and created["next_record_id"] == expected[1]
    sid = created["id"]
    moved = client.post(world.url(f"/labeling-sessions/{sid}/next")).json()
    assert moved["position"] == 1 and moved["record_id"] == expected[1] and moved["previous_record_id"] == expected[0]
    assert client.post(world.url(f"/labeling-sessions/{sid}/previous")).json()["record_id"] == expected[0]
    assert client.post(world.url(f"/labeling-sessions/{sid}/previous")).status_code == 409
    last = client.put(world.url(f"/labeling-sessions/{sid}/position"), json={"position": len(expected) - 1}).json()
    assert last["record_id"] == expected[-1] and last["next_record_id"] is None
    assert client.post(world.url(f"/labeling-sessions/{sid}/next")).status_code == 409
    assert client.put(world.url(f"/labeling-sessions/{sid}/position"), json={"position": len(expected)}).status_code == 422
    window = client.get(world.url(f"/labeling-sessions/{sid}/records"), params={"offset": 1, "limit": 3}).json()
    assert window == {"offset": 1, "record_ids": expected[1:4], "total": len(expected)}
    # shareable: another member opens it, but cannot move or delete it
    assert client.get(world.url(f"/labeling-sessions/{sid}"), headers=world.annotator).json()["position"] == len(expected) - 1
    assert client.post(world.url(f"/labeling-sessions/{sid}/previous"), headers=world.annotator).status_code == 403
    assert client.get(world.url("/labeling-sessions"), headers=world.annotator).json() == []
    # from a slice, a heuristic's hits, or ids
    sl = client.post(world.url("/slices"), json={"name": "s", "type": "STATIC_DEFAULT", "filter": node}).json()
    from_slice = client.post(world.url("/labeling-sessions"), json={"slice_id": sl["id"]}).json()
    assert from_slice["total"] == len(expected) and from_slice["source"]["slice"] == "s"
    hits = client.post(world.url("/labeling-sessions"), json={"heuristic_id": world.heuristics["h1"]}).json()
    h1 = set().union(*world.votes[world.heuristics["h1"]].values())
    assert hits["total"] == len(h1)
    ids = client.post(world.url("/labeling-sessions"), json={"record_ids": expected[:2], "position": 1}).json()
    assert ids["record_id"] == expected[1]
    assert client.post(world.url("/labeling-sessions"), json={"record_ids": [-1]}).status_code == 422
    assert client.post(world.url("/labeling-sessions"), json={"record_ids": [1], "slice_id": sl["id"]}).status_code == 422
    assert len(client.get(world.url("/labeling-sessions")).json()) == 4
    assert client.delete(world.url(f"/labeling-sessions/{sid}")).status_code == 204
    assert client.get(world.url(f"/labeling-sessions/{sid}")).status_code == 404


def _manual(task_id: str, user_id: str) -> dict[int, set[str]]:
    with session_scope() as session:
        rows = session.execute(
            select(RLA.record_id, RLA.label_id).where(
                RLA.labeling_task_id == uuid.UUID(task_id), RLA.source_type == "MANUAL", RLA.created_by == uuid.UUID(user_id)
            )
        ).all()
    out: dict[int, set[str]] = {}
    for rid, label in rows:
        out.setdefault(rid, set()).add(str(label))
    return out


def test_bulk_label_a_filter_result(client: TestClient, world: World) -> None:
    task = world.sentiment
    neu = task["by_name"]["neu"]
    node = {
        "conditions": [
            {"kind": "manual_label", "task_id": task["id"], "mode": "none"},
            {"kind": "attribute", "attribute": "topic", "operator": "EQUAL", "values": ["tech"]},
        ]
    }
    chosen = evaluate(world, node)
    assert chosen
    before = _manual(task["id"], world.annotator_id)
    r = client.post(
        world.url("/records/bulk-label"),
        json={"filter": node, "labeling_task_id": task["id"], "label_ids": [neu]},
        headers=world.annotator,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"records": len(chosen), "labels_written": len(chosen), "labeling_task_id": task["id"]}
    after = _manual(task["id"], world.annotator_id)
    assert {rid for rid, labels in after.items() if labels == {neu}} >= chosen
    assert {rid: v for rid, v in after.items() if rid not in chosen} == {rid: v for rid, v in before.items() if rid not in chosen}
    # extraction tasks and labels of other tasks are refused
    r = client.post(
        world.url("/records/bulk-label"), json={"filter": node, "labeling_task_id": world.entities["id"], "label_ids": [neu]}
    )
    assert r.status_code == 422
    r = client.post(
        world.url("/records/bulk-label"),
        json={"filter": node, "labeling_task_id": task["id"], "label_ids": [world.entities["by_name"]["PER"]]},
    )
    assert r.status_code == 422


def test_bulk_label_over_1000_needs_the_confirmed_count(client: TestClient, project: dict[str, Any]) -> None:
    from .test_labeling import make_task, seed_records

    ids = seed_records(project["id"], [f"t{i}" for i in range(1003)])
    task = make_task(client, project["id"], "t", "MULTICLASS_CLASSIFICATION", None, ["a", "b"])
    url = f"/api/v1/projects/{project['id']}/records/bulk-label"
    body: dict[str, Any] = {"filter": None, "labeling_task_id": task["id"], "label_ids": [task["by_name"]["a"]]}
    r = client.post(url, json=body)
    assert r.status_code == 409 and r.json()["affected"] == 1003 and "confirm_count=1003" in r.json()["detail"]
    assert client.post(url, json={**body, "confirm_count": 1000}).status_code == 409
    with session_scope() as session:
        assert session.scalar(select(RLA.id).where(RLA.labeling_task_id == uuid.UUID(task["id"]))) is None
    r = client.post(url, json={**body, "confirm_count": 1003})
    assert r.status_code == 200 and r.json()["records"] == 1003
    admin = client.get("/api/v1/auth/me").json()["id"]
    assert set(_manual(task["id"], admin)) == set(ids)
