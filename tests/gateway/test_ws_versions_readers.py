"""Every gateway reader of weak-supervision labels reads the task's current version (migration 0023): while a new run's
version is written they show the previous run's labels, and after its one-row switch the new ones — the data browser's
filters (label, confidence range, "manual and WS differ"), its confidence sort and page labels, the metrics, the
export, the labeling page's label list and the project cards (real Postgres, through HTTP)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from shared_model import weak_supervision_results as weak_results
from shared_model.db import new_session, session_scope
from weak_supervisor.store import load_task, write_weak_labels

from .test_labeling import API, classify, make_task, seed_records


def _write(task_id: str, labels: dict[int, tuple[str, float]], by_name: dict[str, str]) -> uuid.UUID:
    """A run's version of these labels (record -> label name, confidence), written by the weak supervisor's writer
    and not current yet."""
    with session_scope() as session:
        task = load_task(session, uuid.UUID(task_id))
        version = uuid.uuid4()
        weak_results.begin_version(session, task.task_id, version)
    position = {int(r): i for i, r in enumerate(task.record_ids)}
    order = [uuid.UUID(x) for x in map(str, task.label_ids)]
    records = sorted(labels)
    write_weak_labels(
        task,
        version,
        np.array([position[r] for r in records], dtype=np.int64),
        np.array([order.index(uuid.UUID(by_name[labels[r][0]])) for r in records], dtype=np.int64),
        np.array([labels[r][1] for r in records], dtype=np.float64),
        chunk_rows=2,
    )
    return version


def _switch(task_id: str, version: uuid.UUID) -> None:
    with session_scope() as session:
        weak_results.switch_version(session, uuid.UUID(task_id), version)
    weak_results.collect_garbage(new_session, uuid.UUID(task_id))


def _seen(client: TestClient, pid: str, task: dict[str, Any], ids: list[int]) -> dict[str, Any]:
    """What each reader shows of the task's weak-supervision labels."""
    t = task["id"]
    names = {v: k for k, v in task["by_name"].items()}

    def search(body: dict[str, Any]) -> list[int]:
        r = client.post(f"{API}/{pid}/records/search", json={**body, "limit": 50})
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    def conditions(*items: dict[str, Any]) -> dict[str, Any]:
        return {"filter": {"conditions": list(items)}}

    def metric(name: str) -> Any:
        r = client.get(f"{API}/{pid}/metrics/{name}", params={"task_id": t})
        assert r.status_code == 200, r.text
        return r.json()

    page = client.post(f"{API}/{pid}/records/search", json={"limit": 50}).json()["items"]
    export = client.get(f"{API}/{pid}/export", params={"format": "json"}).json()
    column = next(c for c in export[0] if c.endswith("__WEAK_SUPERVISION"))
    labels_page = {}
    for rid in ids:
        r = client.get(f"{API}/{pid}/records/{rid}/labels", params={"source_type": "WEAK_SUPERVISION"})
        assert r.status_code == 200, r.text
        labels_page[rid] = [(names[x["label_id"]], x["confidence"]) for x in r.json()]
    progress = next(x for x in metric("progress")["tasks"] if x["labeling_task_id"] == t)
    return {
        "label_b": search(
            conditions({"kind": "weak_supervision", "task_id": t, "mode": "labels", "label_ids": [task["by_name"]["b"]]})
        ),
        "confident": search(conditions({"kind": "weak_supervision", "task_id": t, "min_confidence": 0.8, "max_confidence": 1.0})),
        "none": search(conditions({"kind": "weak_supervision", "task_id": t, "mode": "none"})),
        "differ": search(conditions({"kind": "manual_ws_differ", "task_id": t})),
        "by_confidence": search({"sort": [{"by": "confidence", "task_id": t, "direction": "desc"}]}),
        "page_labels": {
            item["id"]: sorted(names[x["label_id"]] for x in item["labels"] if x["source_type"] == "WEAK_SUPERVISION")
            for item in page
        },
        "weakly_supervised": progress["weakly_supervised"],
        "distribution": {x["name"]: x["weak_supervision"] for x in metric("label-distribution")},
        "histogram": [
            b["count"] for b in client.get(f"{API}/{pid}/metrics/confidence-histogram", params={"task_id": t, "bins": 2}).json()
        ],
        "confusion": sorted((c["manual"], c["weak_supervision"], c["count"]) for c in metric("confusion-matrix")),
        "export": dict(zip(sorted(ids), [row[column] for row in export], strict=True)),  # in record order
        "labeling_page": labels_page,
        "card": next(p for p in client.get("/api/v1/projects").json() if p["id"] == pid)["weakly_supervised"],
    }


def _expected(ids: list[int], labels: dict[int, tuple[str, float]], manual: dict[int, str]) -> dict[str, Any]:
    """The same figures computed in Python from the labels written."""
    by_confidence = sorted(labels, key=lambda r: (-labels[r][1], r)) + sorted(set(ids) - set(labels))
    both = [r for r in ids if r in labels and r in manual]
    return {
        "label_b": sorted(r for r in labels if labels[r][0] == "b"),
        "confident": sorted(r for r in labels if 0.8 <= labels[r][1] <= 1.0),
        "none": sorted(set(ids) - set(labels)),
        "differ": sorted(r for r in both if labels[r][0] != manual[r]),
        "by_confidence": by_confidence,
        "page_labels": {r: [labels[r][0]] if r in labels else [] for r in ids},
        "weakly_supervised": len(labels),
        "distribution": {name: sum(1 for x in labels.values() if x[0] == name) for name in ("a", "b")},
        "histogram": [sum(1 for x in labels.values() if x[1] < 0.5), sum(1 for x in labels.values() if x[1] >= 0.5)],
        "confusion": sorted(
            {
                (manual[r], labels[r][0], sum(1 for q in both if (manual[q], labels[q][0]) == (manual[r], labels[r][0])))
                for r in both
            }
        ),
        "export": {r: labels[r][0] if r in labels else None for r in ids},
        "labeling_page": {r: [labels[r]] if r in labels else [] for r in ids},
        "card": len(labels),
    }


def test_every_reader_shows_the_current_run_until_the_next_one_is_switched(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, [f"r{i}" for i in range(8)])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["a", "b"])
    manual = {ids[0]: "a", ids[1]: "b", ids[2]: "a", ids[3]: "b"}
    for rid, name in manual.items():
        assert classify(client, pid, rid, task, [name]).status_code == 200
    first = {ids[0]: ("a", 0.9), ids[1]: ("a", 0.3), ids[2]: ("b", 0.85), ids[4]: ("b", 0.6), ids[5]: ("a", 0.1)}
    second = {ids[1]: ("b", 0.95), ids[3]: ("a", 0.4), ids[6]: ("b", 0.7), ids[7]: ("b", 0.2)}

    _switch(task["id"], _write(task["id"], first, task["by_name"]))
    assert _seen(client, pid, task, ids) == _expected(ids, first, manual)
    version = _write(task["id"], second, task["by_name"])  # written, not current: every reader still shows the first
    assert _seen(client, pid, task, ids) == _expected(ids, first, manual)
    _switch(task["id"], version)
    assert _seen(client, pid, task, ids) == _expected(ids, second, manual)
    # label writes after the switch keep "manual and WS differ" current (their refresh compares with this version)
    assert classify(client, pid, ids[6], task, ["a"]).status_code == 200
    assert classify(client, pid, ids[1], task, ["a"]).status_code == 200
    manual |= {ids[6]: "a", ids[1]: "a"}
    assert _seen(client, pid, task, ids) == _expected(ids, second, manual)
