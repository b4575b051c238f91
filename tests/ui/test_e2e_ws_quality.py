"""The web UI end to end: the overview shows the latest weak-supervision run's quality cross-validated on the manual
labels (accuracy, interval, number of labels, per-label precision/recall) and, with too few labels, the reason in
place of a number; the confusion matrix says it is no quality estimate. A real weak_supervisor process runs the
weak supervision (started through the API)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from shared_model.db import session_scope
from shared_model.models import HeuristicRun, RunState, TaskType

from ..weak_supervisor.fixtures import build_task
from .conftest import login

Item = tuple[int, str] | tuple[int, str, int, int]


def _vote(i: int) -> str:
    return "pos" if i % 3 else "neg"


VOTES: dict[str, list[Item]] = {"a": [(i, _vote(i)) for i in range(40)]}  # one heuristic, on every record


def _weak_supervision(api: httpx.Client, pid: str, task_id: uuid.UUID) -> None:
    started = api.post(f"/api/v1/projects/{pid}/weak-supervision", json={"labeling_task_id": str(task_id), "model": "majority"})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 90
    while api.get(f"/api/v1/projects/{pid}/weak-supervision/runs/{started.json()['run_id']}").json()["state"] != "FINISHED":
        assert time.monotonic() < deadline, "weak supervision did not finish"
        time.sleep(0.3)


def test_overview_shows_cross_validated_quality(page: Any, api: httpx.Client, services: Any, shots: Path) -> None:
    services.start("weak_supervisor")
    pid: str = api.post("/api/v1/projects", json={"name": f"quality {uuid.uuid4().hex[:6]}"}).json()["id"]
    manual: list[Item] = [(i, "neg" if i in (1, 2) else _vote(i)) for i in range(20)]  # two labels the heuristic gets wrong
    good = build_task(TaskType.MULTICLASS_CLASSIFICATION, ["neg", "pos"], 40, VOTES, manual, project_id=uuid.UUID(pid))
    few = build_task(TaskType.MULTICLASS_CLASSIFICATION, ["neg", "pos"], 40, VOTES, manual[:5], project_id=uuid.UUID(pid))
    for task in (good, few):
        _weak_supervision(api, pid, task.task_id)

    login(page)
    page.goto(f"/projects/{pid}/overview")
    page.get_by_label("Labeling task").select_option(str(good.task_id))
    card = page.get_by_test_id("ws-quality")
    headline = card.get_by_test_id("ws-quality-headline")
    headline.filter(has_text="Accuracy 90.0 %").wait_for()
    text = headline.inner_text()
    assert "(95 % interval 69.9 % – 97.2 %)" in text and "on 20 manual labels the model was not fitted on" in text
    assert "5-fold cross-validation" in text
    neg = card.get_by_role("row", name="neg")
    assert neg.get_by_role("cell").all_inner_texts() == ["100.0 %", "77.8 %", "9"]  # 7 of 9 neg labels found
    page.get_by_text("not a quality estimate").wait_for()
    card.screenshot(path=str(shots / "overview-ws-quality.png"))

    page.get_by_label("Labeling task").select_option(str(few.task_id))
    card.get_by_test_id("ws-quality-headline").filter(has_text="No quality figure").wait_for()
    assert "5 labeled records (< 10)" in card.get_by_test_id("ws-quality-headline").inner_text()
    assert card.get_by_role("table", name="Quality per label").count() == 0


def test_heuristics_page_shows_every_heuristic_with_its_status(page: Any, api: httpx.Client) -> None:
    pid: str = api.post("/api/v1/projects", json={"name": f"statuses {uuid.uuid4().hex[:6]}"}).json()["id"]
    votes: dict[str, list[Item]] = {"silent": [], "never": [], "broken": []}
    built = build_task(TaskType.MULTICLASS_CLASSIFICATION, ["neg", "pos"], 10, votes, project_id=uuid.UUID(pid))
    with session_scope() as session:  # as the executor leaves them: one run finished without hits, one failed
        for name, state, error in (("silent", RunState.FINISHED, None), ("broken", RunState.FAILED, "boom: a bad line")):
            session.add(HeuristicRun(project_id=uuid.UUID(pid), source_id=built.sources[name], state=state, error=error))
    login(page)
    page.goto(f"/projects/{pid}/heuristics?task={built.task_id}")
    suffix = built.task_id.hex[:6]
    expected = {"silent": "0 hits", "never": "Never run.", "broken": "Its last run failed"}
    for name, text in expected.items():
        card = page.get_by_role("article", name=f"{name}-{suffix}")
        card.get_by_test_id("heuristic-status").filter(has_text=text).wait_for()
