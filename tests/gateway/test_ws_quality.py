"""Cross-validated quality of weak-supervision runs through the gateway: the run routes and the overview's metric, with
label names, the number of labels and the Wilson interval, and a reason instead of a number with too few labels or a
label without any (real weak_supervisor process, real Postgres)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from shared_model.jobs import wait_for_job
from shared_model.models import TaskType
from weak_supervisor.quality import wilson_interval

from ..weak_supervisor.fixtures import build_task

Item = tuple[int, str] | tuple[int, str, int, int]


def _vote(i: int) -> str:
    return "pos" if i % 3 else "neg"


VOTES: dict[str, list[Item]] = {"a": [(i, _vote(i)) for i in range(40)]}  # one heuristic, on every record


def _run(client: TestClient, pid: str, task_id: uuid.UUID, model: str = "majority") -> dict[str, Any]:
    response = client.post(f"/api/v1/projects/{pid}/weak-supervision", json={"labeling_task_id": str(task_id), "model": model})
    assert response.status_code == 202, response.text
    started = response.json()
    assert wait_for_job(uuid.UUID(started["job"]["id"]), timeout_s=90).state == "done"
    run: dict[str, Any] = client.get(f"/api/v1/projects/{pid}/weak-supervision/runs/{started['run_id']}").json()
    return run


def _overview(client: TestClient, pid: str, task_id: uuid.UUID) -> dict[str, Any]:
    response = client.get(f"/api/v1/projects/{pid}/metrics/weak-supervision-quality", params={"task_id": str(task_id)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_quality_of_a_run_in_the_run_routes_and_the_overview(client: TestClient, project: dict[str, Any], services: Any) -> None:
    services.start("weak_supervisor")
    pid = project["id"]
    # one heuristic; 20 manual labels, two of which it gets wrong (records 1 and 2 are neg, it says pos)
    manual: list[Item] = [(i, "neg" if i in (1, 2) else _vote(i)) for i in range(20)]
    built = build_task(
        TaskType.MULTICLASS_CLASSIFICATION,
        ["neg", "pos"],
        40,
        VOTES,
        manual,
        project_id=uuid.UUID(pid),
    )
    before = _overview(client, pid, built.task_id)
    assert before["available"] is False and before["run_id"] is None and before["accuracy"] is None
    assert before["reason"] == "weak supervision has not finished for this task yet"
    run = _run(client, pid, built.task_id)
    quality = run["quality"]
    assert quality["available"] is True and quality["run_id"] == run["id"] and quality["model"] == "majority"
    assert quality["manual_labels"] == 20 and quality["folds"] == 5 and "cross-validation" in quality["method"]
    assert quality["accuracy"] == 0.9
    low, high = wilson_interval(18, 20)
    assert quality["accuracy_interval_95"] == [round(low, 4), round(high, 4)]
    by_name = {row["label_name"]: row for row in quality["per_label"]}
    neg_labels = sum(1 for item in manual if item[1] == "neg")
    assert by_name["neg"] == {
        "label_id": str(built.labels["neg"]),
        "label_name": "neg",
        "precision": 1.0,
        "recall": round((neg_labels - 2) / neg_labels, 4),
        "support": neg_labels,
        "predicted": neg_labels - 2,
        "f1": None,  # token-level F1: extraction tasks only
    }
    assert quality["level"] is None and quality["f1"] is None
    assert by_name["pos"]["precision"] == round((20 - neg_labels) / (20 - neg_labels + 2), 4)
    latest = client.get(f"/api/v1/projects/{pid}/labeling-tasks/{built.task_id}/weak-supervision").json()
    assert latest["quality"] == quality
    assert _overview(client, pid, built.task_id) == quality


def test_no_number_with_too_few_labels_or_a_label_without_any(client: TestClient, project: dict[str, Any], services: Any) -> None:
    services.start("weak_supervisor")
    pid = project["id"]
    few = build_task(
        TaskType.MULTICLASS_CLASSIFICATION,
        ["neg", "pos"],
        40,
        VOTES,
        list(VOTES["a"][:9]),
        project_id=uuid.UUID(pid),
    )
    quality = _run(client, pid, few.task_id)["quality"]
    assert quality["available"] is False and quality["accuracy"] is None and quality["manual_labels"] == 9
    assert "9 labeled records (< 10)" in quality["reason"]
    assert _overview(client, pid, few.task_id) == quality

    # 20 labels, none of them "spam": no accuracy, and the reason names the label
    one_sided = build_task(
        TaskType.MULTICLASS_CLASSIFICATION,
        ["neg", "pos", "spam"],
        40,
        VOTES,
        list(VOTES["a"][:20]),
        project_id=uuid.UUID(pid),
    )
    quality = _run(client, pid, one_sided.task_id)["quality"]
    assert quality["available"] is False and quality["accuracy"] is None and quality["manual_labels"] == 20
    assert "no manual label of 'spam'" in quality["reason"]

    assert _overview(client, pid, one_sided.task_id) == quality
    unknown = client.get(f"/api/v1/projects/{pid}/metrics/weak-supervision-quality", params={"task_id": str(uuid.uuid4())})
    assert unknown.status_code == 404 and "labeling task" in unknown.json()["detail"]


def test_extraction_quality_is_token_level_and_cross_validated(
    client: TestClient, project: dict[str, Any], services: Any
) -> None:
    """Record ``j`` has two heuristics of its own marking tokens 2–4, one PER and one LOC; the manual span is a coin
    flip between them. In-sample each heuristic's precision would give the answer; held out, nothing does."""
    services.start("weak_supervisor")
    pid = project["id"]
    truth = np.random.default_rng(2).integers(0, 2, 20)
    names = ["PER", "LOC"]
    heuristics: dict[str, list[Item]] = {}
    for j in range(20):
        heuristics[f"h{j:02d}per"] = [(j, "PER", 2, 5)]
        heuristics[f"h{j:02d}loc"] = [(j, "LOC", 2, 5)]
    manual: list[Item] = [(j, names[int(truth[j])], 2, 5) for j in range(20)]
    built = build_task(TaskType.INFORMATION_EXTRACTION, names, 30, heuristics, manual, project_id=uuid.UUID(pid))
    response = client.post(
        f"/api/v1/projects/{pid}/weak-supervision",
        json={"labeling_task_id": str(built.task_id), "model": "refinery", "extraction_model": "spans"},
    )
    assert response.status_code == 202, response.text
    assert wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=90).state == "done"
    quality = _overview(client, pid, built.task_id)
    assert quality["available"] is True and quality["level"] == "token" and quality["accuracy"] is None
    assert quality["manual_labels"] == 20 and quality["folds"] == 5 and quality["tokens"] == 60
    assert quality["f1"] <= 0.75  # coin flips stay coin flips on held-out records (in-sample: 1.0)
    low, high = quality["f1_interval_95"]
    assert low <= quality["f1"] <= high < 1.0
    assert quality["span_f1"] == quality["f1"]  # every span is all three tokens or none
    by_name = {row["label_name"]: row for row in quality["per_label"]}
    assert set(by_name) == {"PER", "LOC"} and by_name["PER"]["support"] == 3 * int((truth == 0).sum())
    assert all(row["f1"] is not None for row in quality["per_label"])
    run = client.get(f"/api/v1/projects/{pid}/labeling-tasks/{built.task_id}/weak-supervision").json()
    assert run["quality"] == quality
