"""Per-class probabilities of weak-supervision runs: written by the weak supervisor, streamed by the gateway."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from shared_model.db import session_scope
from shared_model.models import Attribute, DataType, TaskType
from shared_model.storage import WeakSupervisionArtifacts, get_storage
from weak_supervisor.runs import run_weak_supervision

from ..weak_supervisor.fixtures import build_task
from .upload_helpers import wait_job


def _task(project_id: str, task_type: TaskType = TaskType.MULTICLASS_CLASSIFICATION) -> Any:
    heuristics = {
        "a": [(0, "pos"), (1, "pos"), (2, "neg"), (3, "pos")],
        "b": [(0, "pos"), (1, "neg"), (4, "neg")],
    }
    built = build_task(task_type, ["neg", "pos"], 6, heuristics, project_id=uuid.UUID(project_id))
    with session_scope() as s:
        s.add(Attribute(project_id=built.project_id, name="text", data_type=DataType.TEXT, relative_position=0))
        s.flush()
        s.execute(update(Attribute).where(Attribute.project_id == built.project_id).values(is_primary_key=True))
    return built


def _jsonl(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line]


def test_majority_run_streams_ties_and_uncovered_rows(client: TestClient, project: dict[str, Any]) -> None:
    built = _task(project["id"])
    summary = run_weak_supervision(built.task_id, {"model": "majority"})
    assert summary["probabilities"] is True
    base = f"/api/v1/projects/{project['id']}"
    rows = _jsonl(client.get(f"{base}/weak-supervision/runs/{summary['run_id']}/probabilities"))
    assert [r["record_id"] for r in rows] == built.records
    by_text = {r["text"]: r for r in rows}
    assert by_text["record 0"]["label"] == "pos" and by_text["record 0"]["probabilities"] == {"neg": 0.0, "pos": 1.0}
    tie = by_text["record 1"]  # a says pos, b says neg: majority writes no label, the probabilities show the tie
    assert tie["label"] is None and tie["labeled"] is True and tie["probabilities"] == {"neg": 0.5, "pos": 0.5}
    empty = by_text["record 5"]  # no heuristic voted: no evidence, uniform
    assert empty["label"] is None and empty["labeled"] is False and empty["probabilities"] == {"neg": 0.5, "pos": 0.5}
    latest = _jsonl(client.get(f"{base}/labeling-tasks/{built.task_id}/weak-supervision/probabilities"))
    assert latest == rows

    text = client.get(f"{base}/labeling-tasks/{built.task_id}/weak-supervision/probabilities", params={"format": "csv"}).text
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["record_id", "text", "label", "labeled", "neg", "pos"]
    assert table[1] == [str(built.records[0]), "record 0", "pos", "True", "0.0", "1.0"]
    assert len(table) == 7


def test_only_the_latest_run_keeps_probabilities(client: TestClient, project: dict[str, Any]) -> None:
    built = _task(project["id"])
    first = run_weak_supervision(built.task_id, {"model": "majority"})
    second = run_weak_supervision(built.task_id, {"model": "refinery", "min_confidence": 0.9})
    base = f"/api/v1/projects/{project['id']}"
    gone = client.get(f"{base}/weak-supervision/runs/{first['run_id']}/probabilities")
    assert gone.status_code == 404 and "latest finished run" in gone.json()["detail"]
    rows = _jsonl(client.get(f"{base}/weak-supervision/runs/{second['run_id']}/probabilities"))
    # refinery's confidence of one vote at precision 0.8 is below 0.9: the probability is there, the label is not
    assert all(r["label"] is None for r in rows if max(r["probabilities"].values()) < 0.9)
    assert sum(r["label"] is not None for r in rows) == second["labels_written"]
    missing = client.get(f"{base}/weak-supervision/runs/{uuid.uuid4()}/probabilities")
    assert missing.status_code == 404


def test_multilabel_extraction_and_deletion(client: TestClient, project: dict[str, Any]) -> None:
    multi = _task(project["id"], TaskType.MULTILABEL_CLASSIFICATION)
    run = run_weak_supervision(multi.task_id, {"model": "auto"})
    base = f"/api/v1/projects/{project['id']}"
    rows = _jsonl(client.get(f"{base}/weak-supervision/runs/{run['run_id']}/probabilities"))
    assert {tuple(r["labels"]) for r in rows} >= {("pos",), ()}
    assert all(set(r["probabilities"]) == {"neg", "pos"} for r in rows)

    spans = build_task(
        TaskType.INFORMATION_EXTRACTION, ["PER"], 1, {"x": [(0, "PER", 0, 2)]}, project_id=uuid.UUID(project["id"])
    )
    extraction = run_weak_supervision(spans.task_id, {})
    refused = client.get(f"{base}/weak-supervision/runs/{extraction['run_id']}/probabilities")
    assert refused.status_code == 404 and "spans" in refused.json()["detail"]

    artifacts = WeakSupervisionArtifacts(get_storage(), project["id"], multi.task_id)
    assert artifacts.read(run["run_id"]) is not None
    assert client.delete(f"{base}/labeling-tasks/{multi.task_id}").status_code == 200
    assert artifacts.read(run["run_id"]) is None


def test_deleting_the_project_removes_its_files(client: TestClient, project: dict[str, Any]) -> None:
    built = _task(project["id"])
    run = run_weak_supervision(built.task_id, {"model": "majority"})
    artifacts = WeakSupervisionArtifacts(get_storage(), project["id"])
    assert artifacts.storage.list(artifacts.prefix)
    job = client.delete(f"/api/v1/projects/{project['id']}").json()
    done = wait_job(client, job["id"])
    assert done["state"] == "done" and done["result"]["deleted_files"] == 1, done
    assert not artifacts.storage.list(artifacts.prefix) and run["run_id"]


def test_concurrent_runs_keep_each_others_files_and_storage_failures_fail_the_run(
    client: TestClient, project: dict[str, Any], monkeypatch: Any
) -> None:
    import pytest

    from shared_model.models import RunState, WeakSupervisionRun

    built = _task(project["id"])
    artifacts = WeakSupervisionArtifacts(get_storage(), project["id"], built.task_id)
    a, b = uuid.uuid4(), uuid.uuid4()
    for run in (a, b):
        artifacts.write(run, [1], [[0.5, 0.5]], [True], [[False, False]], ["x", "y"])
    assert artifacts.keep_only(a, {b}) == 0 and artifacts.read(b) is not None  # b still running: its file stays
    assert artifacts.keep_only(a) == 1 and artifacts.read(b) is None and artifacts.read(a) is not None

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("object store down")

    monkeypatch.setattr(WeakSupervisionArtifacts, "write", broken)
    monkeypatch.setattr(type(get_storage()), "delete", broken)  # the clean-up fails too: the reason must survive
    with pytest.raises(OSError, match="object store down"):
        run_weak_supervision(built.task_id, {"model": "majority"})
    with session_scope() as s:
        failed = s.scalars(select(WeakSupervisionRun).where(WeakSupervisionRun.labeling_task_id == built.task_id)).one()
        assert failed.state == RunState.FAILED and failed.error == "object store down"
