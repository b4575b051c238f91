"""Overview metrics through the HTTP API (real Postgres), on the whole project and on a slice, compared with the same
figures computed in Python from the fixture."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .browser_world import World, build_world, evaluate


@pytest.fixture()
def world(client: TestClient, project: dict[str, Any]) -> World:
    return build_world(client, project["id"], n=50, seed=11)


def _rows(world: World, task: dict[str, Any], scope: set[int], source: str, valid_only: bool = True) -> list[dict[str, Any]]:
    return [
        r
        for r in world.rla
        if r["task_id"] == task["id"]
        and r["source_type"] == source
        and r["record_id"] in scope
        and (source != "MANUAL" or not valid_only or r["valid"])
    ]


@pytest.mark.parametrize("use_slice", [False, True])
def test_metrics_match_python(client: TestClient, world: World, use_slice: bool) -> None:
    scope = set(world.records)
    params: dict[str, Any] = {}
    if use_slice:
        node = {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "IN", "values": ["tech", "sports"]}]}
        created = client.post(world.url("/slices"), json={"name": "s", "type": "STATIC_DEFAULT", "filter": node}).json()
        params["slice_id"] = created["id"]
        scope = evaluate(world, node)
        assert 0 < len(scope) < len(world.records)
    s, e = world.sentiment, world.entities
    # progress
    r = client.get(world.url("/metrics/progress"), params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["records"] == len(scope)
    by_task = {t["labeling_task_id"]: t for t in body["tasks"]}
    for task in (s, e):
        manual = {x["record_id"] for x in _rows(world, task, scope, "MANUAL")}
        weak = {x["record_id"] for x in _rows(world, task, scope, "WEAK_SUPERVISION")}
        assert by_task[task["id"]]["manually_labeled"] == len(manual)
        assert by_task[task["id"]]["weakly_supervised"] == len(weak)
        assert by_task[task["id"]]["weakly_supervised_ratio"] == pytest.approx(len(weak) / len(scope))
    # label distribution
    dist = client.get(world.url("/metrics/label-distribution"), params={**params, "task_id": s["id"]}).json()
    manual_counts = Counter(x["label_id"] for x in _rows(world, s, scope, "MANUAL"))
    weak_counts = Counter(x["label_id"] for x in _rows(world, s, scope, "WEAK_SUPERVISION"))
    assert {d["label_id"]: (d["manual"], d["weak_supervision"]) for d in dist} == {
        label: (manual_counts[label], weak_counts[label]) for label in s["by_name"].values()
    }
    # confidence histogram
    hist = client.get(world.url("/metrics/confidence-histogram"), params={**params, "task_id": s["id"], "bins": 4}).json()
    expected_bins = Counter(min(int(x["confidence"] * 4), 3) for x in _rows(world, s, scope, "WEAK_SUPERVISION"))
    assert [b["count"] for b in hist] == [expected_bins[i] for i in range(4)] and hist[-1]["high"] == 1.0
    # confusion matrix, classification: record pairs
    names = {v: k for k, v in s["by_name"].items()}
    weak_by_record = {x["record_id"]: x["label_id"] for x in _rows(world, s, scope, "WEAK_SUPERVISION")}
    pairs = Counter(
        (names[x["label_id"]], names[weak_by_record[x["record_id"]]])
        for x in _rows(world, s, scope, "MANUAL")
        if x["record_id"] in weak_by_record
    )
    cells = client.get(world.url("/metrics/confusion-matrix"), params={**params, "task_id": s["id"]}).json()
    assert {(c["manual"], c["weak_supervision"]): c["count"] for c in cells} == dict(pairs)
    # confusion matrix, extraction: spans, OUTSIDE where only one side has one
    enames = {v: k for k, v in e["by_name"].items()}
    manual_spans = {(x["record_id"], x["span"]): enames[x["label_id"]] for x in _rows(world, e, scope, "MANUAL")}
    labeled = {rid for rid, _ in manual_spans}
    weak_spans = {
        (x["record_id"], x["span"]): enames[x["label_id"]]
        for x in _rows(world, e, scope, "WEAK_SUPERVISION")
        if x["record_id"] in labeled
    }
    expected = Counter(
        (manual_spans.get(key, "OUTSIDE"), weak_spans.get(key, "OUTSIDE")) for key in set(manual_spans) | set(weak_spans)
    )
    cells = client.get(world.url("/metrics/confusion-matrix"), params={**params, "task_id": e["id"]}).json()
    assert {(c["manual"], c["weak_supervision"]): c["count"] for c in cells} == dict(expected)
    assert any("OUTSIDE" in key for key in expected)
    # heuristics on the scope (without a slice the second call reads the figures kept with the read model)
    check_heuristic_figures(client, world, params, scope, ["h1", "h2", "h3"])
    assert kept_figures(world) is (not use_slice)
    check_heuristic_figures(client, world, params, scope, ["h1", "h2", "h3"])
    # a heuristic deleted: the kept figures are dropped with the rebuilt summary
    assert client.delete(world.url(f"/heuristics/{world.heuristics['h1']}")).status_code == 204
    world.reload()
    check_heuristic_figures(client, world, params, scope, ["h2", "h3"])


def kept_figures(world: World) -> bool:
    import uuid

    from sqlalchemy import select

    from shared_model.db import session_scope
    from shared_model.models import HeuristicVoteSummaryState

    with session_scope() as session:
        codes = session.scalar(
            select(HeuristicVoteSummaryState.codes).where(
                HeuristicVoteSummaryState.labeling_task_id == uuid.UUID(world.sentiment["id"])
            )
        )
    return bool(codes and "figures" in codes)


def check_heuristic_figures(client: TestClient, world: World, params: dict[str, Any], scope: set[int], names: list[str]) -> None:
    s = world.sentiment
    got = client.get(world.url("/metrics/heuristics"), params={**params, "task_id": s["id"]}).json()
    figures = {f["name"]: f for f in got}
    assert set(figures) == set(names)
    for name in names:
        mine = {rid: label for label, ids in world.votes[world.heuristics[name]].items() for rid in ids if rid in scope}
        others = [
            {rid: label for label, ids in world.votes[world.heuristics[o]].items() for rid in ids} for o in names if o != name
        ]
        overlaps = sum(1 for rid, label in mine.items() if any(o.get(rid) == label for o in others))
        conflicts = sum(1 for rid, label in mine.items() if any(rid in o and o[rid] != label for o in others))
        assert figures[name] | {"heuristic_id": None} == {
            "heuristic_id": None,
            "name": name,
            "coverage": len(mine),
            "hits": len(mine),
            "overlaps": overlaps,
            "conflicts": conflicts,
        }


def test_metric_inputs_are_checked(client: TestClient, world: World) -> None:
    import uuid

    assert client.get(world.url("/metrics/progress"), params={"slice_id": str(uuid.uuid4())}).status_code == 404
    assert client.get(world.url("/metrics/label-distribution"), params={"task_id": str(uuid.uuid4())}).status_code == 404
    r = client.get(world.url("/metrics/confidence-histogram"), params={"task_id": world.sentiment["id"], "bins": 0})
    assert r.status_code == 422
