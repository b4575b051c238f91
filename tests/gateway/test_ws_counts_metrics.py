"""The whole project's weak-supervision metrics and project cards read the counts kept with each version (migration
0024) instead of the version's rows: after every write path (the weak supervisor's writer, switch and garbage
collection, a legacy writer's rows moved into the current version, label deletes and renames, record deletes, a task
deleted) each fast figure equals the exact query's (real Postgres). So do the confusion matrix and the manual label
distribution, kept with the marks of what they were computed from, after manual labels change."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from gateway.domain.browser import metrics
from gateway.domain.browser.compile import ProjectCatalog
from shared_model import weak_supervision_results as weak_results
from shared_model.db import new_session, session_scope
from shared_model.models import LabelingTask, MetricCache, Project, WeakSupervisionCount
from weak_supervisor.store import load_task, write_weak_labels

from .test_labeling import API, classify, make_task, seed_records

# values at and next to bin edges (0.1 - 1 ulp, a sum that misses 0.3, 1.0, 0.0), in hundredths that straddle a
# third or a seventh (bins that do not divide 100), and plain ones
CONFIDENCES = [0.1, 0.09999999999999999, 0.1 + 0.2, 1.0, 0.0, 0.5, 0.37, 0.8999999999999999, 0.123, 0.999, 0.331, 0.571]
BINS = [1, 2, 3, 4, 5, 7, 10, 20, 25, 50, 100]


def _figures(pid: str, task_ids: list[str], *, use_counts: bool) -> dict[str, Any]:
    """Every metric that reads weak-supervision labels, for the whole project, with or without the counts."""
    with session_scope() as session:
        project = session.get(Project, uuid.UUID(pid))
        assert project is not None
        scope = metrics.Scope(session, ProjectCatalog.load(session, project.id, None), None, use_counts=use_counts)
        out: dict[str, Any] = {"progress": metrics.progress(session, scope)}
        for task_id in task_ids:
            task = session.get(LabelingTask, uuid.UUID(task_id))
            if task is None:
                continue
            out[f"{task.name} distribution"] = metrics.label_distribution(session, scope, task)
            out[f"{task.name} confusion"] = metrics.confusion_matrix(session, scope, task)
            for bins in BINS:
                out[f"{task.name} histogram {bins}"] = metrics.confidence_histogram(session, scope, task, bins)
        return out


def _weak(figures: dict[str, Any], task: str) -> int:
    """The progress metric's weakly supervised records of a task (by name)."""
    return int(next(t["weakly_supervised"] for t in figures["progress"]["tasks"] if t["name"] == task))


def _card(client: TestClient, pid: str, field: str = "weakly_supervised") -> int:
    return int(next(p for p in client.get(API).json() if p["id"] == pid)[field])


def _exact_card(pid: str, table: str = "weak_supervision_label") -> int:
    with session_scope() as session:
        where = " AND manual" if table == "record_task_label" else ""
        query = f"SELECT count(DISTINCT record_id) FROM {table} WHERE project_id = :p{where}"
        return int(session.scalar(text(query), {"p": pid}) or 0)


def _check(client: TestClient, pid: str, task_ids: list[str]) -> dict[str, Any]:
    fast = _figures(pid, task_ids, use_counts=True)
    assert fast == _figures(pid, task_ids, use_counts=False)
    assert _card(client, pid) == _exact_card(pid)
    assert _card(client, pid, "manually_labeled") == _exact_card(pid, "record_task_label")
    return fast


def _run(task_id: str, labels: dict[int, list[tuple[str, float]]], by_name: dict[str, str]) -> None:
    """A weak-supervision run's labels (record -> [(label name, confidence)]) written by the weak supervisor's
    writer in chunks of 2 records, switched current, and the superseded version collected."""
    with session_scope() as session:
        task = load_task(session, uuid.UUID(task_id))
        version = uuid.uuid4()
        weak_results.begin_version(session, task.task_id, version)
    position = {int(r): i for i, r in enumerate(task.record_ids)}
    order = [str(x) for x in task.label_ids]
    flat = [(r, name, c) for r in sorted(labels) for name, c in labels[r]]
    write_weak_labels(
        task,
        version,
        np.array([position[r] for r, _, _ in flat], dtype=np.int64),
        np.array([order.index(by_name[name]) for _, name, _ in flat], dtype=np.int64),
        np.array([c for _, _, c in flat], dtype=np.float64),
        chunk_rows=2,
    )
    with session_scope() as session:
        weak_results.switch_version(session, uuid.UUID(task_id), version)
    weak_results.collect_garbage(new_session, uuid.UUID(task_id))


def _legacy(
    pid: str, task_id: str, record: int, label_id: str, confidence: float | None, span: tuple[int, int] | None = None
) -> None:
    """A WEAK_SUPERVISION label row inserted as older writers (and pre-computed labels) do."""
    with session_scope() as session:
        session.execute(
            text(
                "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id,"
                " source_type, return_type, confidence, is_gold_star, is_valid_manual_label, token_start, token_end,"
                " created_at) VALUES (gen_random_uuid(), :p, :r, :t, :l, 'WEAK_SUPERVISION', 'RETURN', :c, false, false,"
                " :s, :e, now())"
            ),
            {"p": pid, "r": record, "t": task_id, "l": label_id, "c": confidence, "s": span and span[0], "e": span and span[1]},
        )


def test_fast_metrics_equal_the_exact_queries_after_every_write_path(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    ids = seed_records(pid, [f"r{i}" for i in range(12)])
    single = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["a", "b", "c"])
    multi = make_task(client, pid, "tags", "MULTILABEL_CLASSIFICATION", None, ["x", "y"])
    tasks = [single["id"], multi["id"]]
    for rid, name in ((ids[0], "a"), (ids[1], "b"), (ids[2], "a")):
        assert classify(client, pid, rid, single, [name]).status_code == 200
    empty = _check(client, pid, tasks)  # no weak-supervision labels yet
    assert empty["progress"]["tasks"][0]["weakly_supervised"] == 0

    # the weak supervisor's writer, switch and garbage collection (twice: the first version is collected)
    names = "abc"
    first = {r: [(names[i % 3], CONFIDENCES[i])] for i, r in enumerate(ids[:10])}
    _run(single["id"], first, single["by_name"])
    second = {r: [(names[(i + 1) % 3], CONFIDENCES[-1 - i])] for i, r in enumerate(ids)}
    _run(single["id"], second, single["by_name"])
    tags = {r: [("x", CONFIDENCES[i]), ("y", CONFIDENCES[-1 - i])] if i % 2 else [("y", 0.3)] for i, r in enumerate(ids[:7])}
    _run(multi["id"], tags, multi["by_name"])
    fast = _check(client, pid, tasks)
    assert [t["weakly_supervised"] for t in fast["progress"]["tasks"]] == [12, 7]  # sentiment, tags
    assert sum(b["count"] for b in fast["sentiment histogram 10"]) == 12
    assert sum(b["count"] for b in fast["tags histogram 10"]) == 4 + 3 * 2  # every label's confidence
    assert _card(client, pid) == 12  # one version covers every record
    with session_scope() as session:  # what the fast figures read
        assert session.scalar(select(WeakSupervisionCount.id).limit(1)) is not None
        assert session.scalar(select(func.count()).select_from(MetricCache)) == 5  # 2 tasks' confusion, manual labels; the card
    # manual labels changed: the kept figures are computed again
    assert classify(client, pid, ids[5], single, ["c"]).status_code == 200
    assert classify(client, pid, ids[0], single, ["b"]).status_code == 200
    changed = _check(client, pid, tasks)
    assert changed["sentiment confusion"] != fast["sentiment confusion"]
    assert changed["sentiment distribution"] != fast["sentiment distribution"]
    assert _card(client, pid, "manually_labeled") == 4

    # a legacy writer's rows: a new record row, and a label added to an existing row (the row is updated)
    _legacy(pid, multi["id"], ids[8], multi["by_name"]["x"], 0.9)
    _legacy(pid, multi["id"], ids[0], multi["by_name"]["x"], None)
    assert _weak(_check(client, pid, tasks), "tags") == 8

    # extraction: spans (several per record and label: counted per span, not per record)
    spans = make_task(client, pid, "entities", "INFORMATION_EXTRACTION", "headline", ["p", "q"])
    tasks.append(spans["id"])
    for i, (record, label, span) in enumerate(
        [(ids[0], "p", (0, 1)), (ids[0], "p", (2, 3)), (ids[0], "q", (4, 5)), (ids[1], "q", (0, 2)), (ids[2], "p", (1, 2))]
    ):
        _legacy(pid, spans["id"], record, spans["by_name"][label], CONFIDENCES[i], span)
    extraction = _check(client, pid, tasks)
    assert {x["name"]: x["weak_supervision"] for x in extraction["entities distribution"]} == {"p": 3, "q": 2}
    assert sum(b["count"] for b in extraction["entities histogram 10"]) == 5

    # labels renamed and deleted (rows updated, rows whose only label it was deleted)
    assert client.patch(f"{API}/{pid}/labels/{multi['by_name']['y']}", json={"name": "why"}).status_code == 200
    renamed = _check(client, pid, tasks)
    assert [x["name"] for x in renamed["tags distribution"]] == ["why", "x"]
    assert client.delete(f"{API}/{pid}/labels/{multi['by_name']['y']}").status_code == 200
    assert _weak(_check(client, pid, tasks), "tags") == 5

    # records deleted (their rows go from every version)
    with session_scope() as session:
        session.execute(text("DELETE FROM record WHERE id = ANY(:r)"), {"r": [ids[2], ids[3], ids[11]]})
    after = _check(client, pid, tasks)
    assert after["progress"]["records"] == 9 and _weak(after, "sentiment") == 9
    assert sum(x["manual"] for x in after["sentiment distribution"]) == 3  # ids 0, 1 and 5

    # two tasks, neither covering every record: the card counts distinct records
    with session_scope() as session:
        session.execute(text("DELETE FROM weak_supervision_result WHERE record_id = :r"), {"r": ids[4]})
    assert _weak(_check(client, pid, tasks), "sentiment") == 8
    assert _card(client, pid) == 8

    # tasks deleted (one with manual labels: its read-model rows go with it): their versions, counts and kept figures go
    assert client.delete(f"{API}/{pid}/labeling-tasks/{multi['id']}").status_code == 200
    _check(client, pid, tasks)
    assert client.delete(f"{API}/{pid}/labeling-tasks/{single['id']}").status_code == 200
    assert _check(client, pid, tasks)["progress"]["tasks"][0]["name"] == "entities"
    assert _card(client, pid, "manually_labeled") == 0
    with session_scope() as session:
        left = session.scalars(select(WeakSupervisionCount.version_id).distinct()).all()
        current = session.scalars(text("SELECT version_id FROM weak_supervision_current")).all()
        assert set(left) <= set(current)
        kept = session.scalars(select(MetricCache.labeling_task_id).distinct()).all()
        assert set(map(str, kept)) <= {spans["id"]}
