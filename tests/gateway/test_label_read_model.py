"""record_task_label (migration 0018, manual labels only since 0023): after every kind of label write it equals a
recomputation from record_label_association; "manual and WS differ" joins it to the current weak-supervision
version, and the browser / project summaries read both (real Postgres, real writers)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from shared_model import weak_supervision_results as weak_results
from shared_model.db import new_session, session_scope
from shared_model.models import RecordLabelAssociation as RLA
from shared_model.models import RecordTaskLabel
from shared_model.models import WeakSupervisionAssociation as WSA
from weak_supervisor.store import load_task, write_weak_labels

from .test_label_resolution import three_annotators
from .test_labeling import API, classify, make_task, seed_records

Row = tuple[str, int, bool, tuple[str, ...] | None]


def _sig(label_id: Any, start: int | None, end: int | None) -> str:
    return f"{label_id}:{-1 if start is None else start}:{-1 if end is None else end}"


def _recomputed() -> set[Row]:
    """The read model as it should be, recomputed in Python from every manual label row."""
    per: dict[tuple[str, int], list[RLA]] = defaultdict(list)
    with session_scope() as session:
        for row in session.scalars(select(RLA)):
            per[(str(row.labeling_task_id), row.record_id)].append(row)
    out: set[Row] = set()
    for (task, record), rows in per.items():
        manual = any(r.source_type == "MANUAL" for r in rows)
        decided = (
            tuple(
                sorted(
                    {
                        _sig(r.label_id, r.token_start, r.token_end)
                        for r in rows
                        if r.source_type == "MANUAL" and r.is_valid_manual_label
                    }
                )
            )
            or None
        )
        if manual:
            out.add((task, record, manual, decided))
    return out


def _stored() -> set[Row]:
    with session_scope() as session:
        return {
            (str(r.labeling_task_id), r.record_id, r.manual, tuple(sorted(r.decided)) if r.decided else None)
            for r in session.scalars(select(RecordTaskLabel))
        }


def _check() -> set[Row]:
    stored = _stored()
    assert stored == _recomputed()
    return stored


def _differing(task_id: str) -> list[int]:
    """Records whose decided manual labels and current weak-supervision labels (one row per label) differ, in Python."""
    weak: dict[int, set[str]] = defaultdict(set)
    with session_scope() as session:
        for row in session.scalars(select(WSA).where(WSA.labeling_task_id == uuid.UUID(task_id))):
            weak[row.record_id].add(_sig(row.label_id, row.token_start, row.token_end))
    decided = {r[1]: set(r[3]) for r in _stored() if r[0] == task_id and r[3]}
    return sorted(record for record, labels in decided.items() if record in weak and weak[record] != labels)


def _ws_run(task_id: str, record_ids: list[int], labels: list[int], confidence: list[float]) -> None:
    """A weak-supervision run's write, by the weak supervisor's own writer: its version's rows, then the switch."""
    with session_scope() as session:
        task = load_task(session, uuid.UUID(task_id))
        version = uuid.uuid4()
        weak_results.begin_version(session, task.task_id, version)
    position = {int(r): i for i, r in enumerate(task.record_ids)}
    write_weak_labels(
        task,
        version,
        np.array([position[r] for r in record_ids], dtype=np.int64),
        np.array(labels, dtype=np.int64),
        np.array(confidence, dtype=np.float64),
    )
    with session_scope() as session:
        weak_results.switch_version(session, task.task_id, version)
    weak_results.collect_garbage(new_session, task.task_id)


def _search(client: TestClient, pid: str, condition: dict[str, Any]) -> list[int]:
    response = client.post(f"{API}/{pid}/records/search", json={"filter": {"conditions": [condition]}})
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["items"]]


def test_read_model_equals_recomputation_after_every_write(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, ["r0", "r1", "r2", "r3", "r4", "r5"], category=["a", "b", "a", "b", "a", "b"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg", "neu"])
    tags = make_task(client, pid, "tags", "MULTILABEL_CLASSIFICATION", None, ["x", "y"])
    a, b, c = three_annotators(client, pid)
    assert _check() == set()
    differ = {"kind": "manual_ws_differ", "task_id": task["id"]}

    assert classify(client, pid, ids[0], task, ["pos"], headers=a).status_code == 200  # label
    assert classify(client, pid, ids[1], task, ["neg"], headers=a).status_code == 200
    assert len(_check()) == 2
    assert classify(client, pid, ids[0], task, ["neg"], headers=a).status_code == 200  # relabel
    _check()
    assert classify(client, pid, ids[0], task, ["pos"], headers=b).status_code == 200  # a second annotator disagrees
    rows = {r[1]: r for r in _check() if r[0] == task["id"]}
    assert rows[ids[0]][3] is None and rows[ids[0]][2]  # labeled, nothing decided (UNANIMOUS)
    assert classify(client, pid, ids[1], task, [], headers=a).status_code == 200  # clear
    assert ids[1] not in {r[1] for r in _check()}

    bulk = client.post(
        f"{API}/{pid}/manual-labels/bulk",
        json={"labeling_task_id": tags["id"], "label_ids": list(tags["by_name"].values()), "record_ids": ids[:4]},
    )
    assert bulk.status_code == 200, bulk.text
    _check()
    bulk = client.post(
        f"{API}/{pid}/manual-labels/bulk",
        json={"labeling_task_id": task["id"], "label_id": task["by_name"]["neu"], "filter": {"attribute": "topic", "value": "a"}},
    )
    assert bulk.status_code == 200, bulk.text
    _check()

    gold = client.put(f"{API}/{pid}/records/{ids[0]}/labeling-tasks/{task['id']}/gold-star", headers=a)  # gold star
    assert gold.status_code == 200, gold.text
    assert {r[1]: r for r in _check() if r[0] == task["id"]}[ids[0]][3] is not None  # the gold-starred annotator's label decides
    assert client.delete(f"{API}/{pid}/records/{ids[0]}/labeling-tasks/{task['id']}/gold-star", headers=a).status_code in (
        200,
        204,
    )
    _check()
    classify(client, pid, ids[3], task, ["neg"], headers=a)
    classify(client, pid, ids[3], task, ["neg"], headers=b)
    classify(client, pid, ids[3], task, ["pos"], headers=c)
    _check()
    assert client.put(f"{API}/{pid}/label-resolution", json={"rule": "MAJORITY"}).status_code == 200  # rule change
    assert {r[1]: r for r in _check() if r[0] == task["id"]}[ids[3]][3] == (f"{task['by_name']['neg']}:-1:-1",)

    label_order = [uuid.UUID(x) for x in _task_label_order(task["id"])]
    neg = label_order.index(uuid.UUID(task["by_name"]["neg"]))
    pos = label_order.index(uuid.UUID(task["by_name"]["pos"]))
    _ws_run(task["id"], ids, [neg, pos, neg, pos, neg, pos], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4])  # weak supervision
    _check()
    differing = _differing(task["id"])
    assert differing and _search(client, pid, differ) == differing
    _ws_run(task["id"], ids[:3], [pos, pos, pos], [0.3, 0.2, 0.1])  # a new run replaces the last one
    _check()
    assert _search(client, pid, differ) == _differing(task["id"])

    deleted = client.post(
        f"{API}/{pid}/records/bulk-delete",
        json={"filter": {"conditions": [{"kind": "attribute", "attribute": "topic", "operator": "EQUAL", "values": ["a"]}]}},
    )
    assert deleted.status_code == 200, deleted.text  # record delete
    assert {r[1] for r in _check()} <= {ids[1], ids[3], ids[5]}

    summary = next(p for p in client.get("/api/v1/projects").json() if p["id"] == pid)
    with session_scope() as session:
        manual = session.scalar(
            text(
                "SELECT count(DISTINCT record_id) FROM record_label_association WHERE project_id = :p AND source_type = 'MANUAL'"
            ),
            {"p": pid},
        )
        weak = session.scalar(
            text("SELECT count(DISTINCT record_id) FROM weak_supervision_association WHERE project_id = :p"), {"p": pid}
        )
    assert (summary["manually_labeled"], summary["weakly_supervised"]) == (manual, weak)

    with session_scope() as session:  # project delete (what the project_delete job does)
        session.execute(text("DELETE FROM project WHERE id = :p"), {"p": pid})
    assert _check() == set()
    with session_scope() as session:
        assert session.scalar(text("SELECT count(*) FROM weak_supervision_result WHERE project_id = :p"), {"p": pid}) == 0


def _task_label_order(task_id: str) -> list[str]:
    with session_scope() as session:
        return [str(x) for x in load_task(session, uuid.UUID(task_id)).label_ids]
