"""The zero-shot page, the active-learner page and the Cancel of a running labeling function, end to end in headless
Chromium against the real platform (executor, embedder and neural search processes)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import login
from .test_e2e_heuristics import _heuristic_named, _wait, spam_project  # noqa: F401 - spam_project is a fixture

FINAL = {"done", "failed", "cancelled"}
SLOW = "import time\n\ndef lf(record):\n    time.sleep(3)\n    return None\n"


@pytest.fixture()
def models(services: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The embedder (zero-shot, tf-idf embeddings) and neural search beside the platform, and an executor that reads
    the embeddings they store (one data folder for all three)."""
    try:
        if "REFINERY_DATA_DIR" not in os.environ:
            os.environ["REFINERY_DATA_DIR"] = str(tmp_path_factory.mktemp("embedding-data"))
            for name in ("executor", "embedder", "neural_search"):  # started earlier with another data folder
                services.stop(name)
        services.start("neural_search")
        services.start("embedder")
        services.start("executor")
    except RuntimeError as exc:  # pragma: no cover - reported, not hidden
        pytest.skip(f"the embedder or neural search did not start: {exc}")
    return services


def _job_done(api: httpx.Client, job_id: str, timeout_s: float = 240) -> dict[str, Any]:
    job: dict[str, Any] = _wait(
        lambda: (j := api.get(f"/api/v1/jobs/{job_id}").json())["state"] in FINAL and j, "the job", timeout_s
    )
    assert job["state"] == "done", job
    return job


def test_zero_shot_page_playground_sample_and_run(
    page: Any,
    api: httpx.Client,
    models: Any,
    spam_project: dict[str, Any],  # noqa: F811 - the imported fixture
    shots: Path,
) -> None:
    pid, task = spam_project["id"], spam_project["task"]
    login(page)
    page.goto(f"/projects/{pid}/heuristics/zero-shot?task={task['id']}")
    page.get_by_role("heading", name="New zero-shot heuristic").wait_for()
    text = "win a free prize now, click this link"
    page.get_by_role("textbox", name="Any text").fill(text)
    page.get_by_role("button", name="Try").click()
    shown = page.get_by_role("table", name="Confidence per label")
    shown.or_(page.get_by_role("alert")).wait_for(timeout=120_000)
    assert shown.count() == 1, page.get_by_role("alert").inner_text()
    expected = api.post(
        f"/api/v1/projects/{pid}/zero-shot/playground",
        json={"text": text, "labeling_task_id": task["id"], "attribute": "text", "model": "all-MiniLM-L6-v2"},
    ).json()
    assert {label["name"] for label in expected["labels"]} == {"spam", "ham"}
    for label in expected["labels"]:  # the page shows the API's confidences
        assert f"{label['confidence'] * 100:.1f} %" in shown.get_by_role("row").filter(has_text=label["name"]).inner_text()
    prediction = expected["prediction"] or "none (below the required confidence)"
    assert prediction in page.get_by_label("Prediction").inner_text()

    # excluding a label leaves one: the API refuses (at least two labels), the page says so
    page.get_by_role("checkbox", name="ham").uncheck()
    page.get_by_role("button", name="Try").click()
    page.get_by_role("alert").filter(has_text="at least two labels").wait_for()
    page.get_by_role("checkbox", name="ham").check()
    page.get_by_role("alert").filter(has_text="at least two labels").wait_for(state="detached")  # of the old settings

    page.get_by_role("button", name="Run on 10").click()
    sample = page.get_by_role("table", name="Sample results")
    sample.wait_for(timeout=120_000)
    assert sample.locator("tbody tr").count() == 10
    page.screenshot(path=str(shots / "zero-shot.png"), full_page=True)

    page.get_by_role("textbox", name="Heuristic name").fill("zs spam")
    page.get_by_role("button", name="Create and run").click()
    page.get_by_role("textbox", name="Name", exact=True).wait_for()
    page.get_by_test_id("job-state").filter(has_text="done").wait_for(timeout=180_000)
    heuristic = _heuristic_named(api, pid, "zs_spam")
    assert heuristic["type"] == "ZERO_SHOT" and heuristic["last_run"]["state"] == "FINISHED"
    runs = api.get(f"/api/v1/projects/{pid}/heuristics/{heuristic['id']}/runs").json()
    assert runs[0]["state"] == "FINISHED"


def test_active_learner_page_creates_and_runs_a_learner(
    page: Any,
    api: httpx.Client,
    models: Any,
    spam_project: dict[str, Any],  # noqa: F811 - the imported fixture
) -> None:
    pid = spam_project["id"]
    made = api.post(f"/api/v1/projects/{pid}/embeddings", json={"attribute": "text", "model": "tf-idf"})
    assert made.status_code == 202, made.text
    _job_done(api, made.json()["job"]["id"])
    embedding = made.json()["embedding"]["name"]

    login(page)
    page.goto(f"/projects/{pid}/heuristics")
    page.get_by_role("tab", name="spam").wait_for()
    page.get_by_role("button", name="New active learner").click()
    dialog = page.get_by_role("dialog", name="New active learner")
    dialog.get_by_role("textbox", name="Class name").fill("spam learner")
    dialog.get_by_role("button", name="Create").click()
    page.get_by_role("textbox", name="Name", exact=True).wait_for()
    # the page offers the embedding to learn on, and the default class learns on it
    page.get_by_role("button", name=f"Copy embedding {embedding}").wait_for()
    learner = _heuristic_named(api, pid, "spam_learner")
    assert learner["type"] == "ACTIVE_LEARNING" and f'embedding_name="{embedding}"' in learner["source_code"]
    assert page.get_by_role("button", name="Run on 10").count() == 0  # only labeling functions run on a sample

    # The template's min_confidence=0.8 keeps no prediction of a learner fitted on 6 records (its split depends on the
    # heuristic's random id): lower it so the run must store a label on every record, then show the page again.
    lowered = learner["source_code"].replace("min_confidence=0.8", "min_confidence=0.0")
    assert lowered != learner["source_code"]
    patched = api.patch(f"/api/v1/projects/{pid}/heuristics/{learner['id']}", json={"source_code": lowered})
    assert patched.status_code == 200, patched.text
    page.reload()
    page.get_by_role("button", name=f"Copy embedding {embedding}").wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_test_id("job-state").filter(has_text="done").wait_for(timeout=180_000)
    learner = _heuristic_named(api, pid, "spam_learner")
    assert learner["last_run"]["state"] == "FINISHED", learner["last_run"]
    assert learner["last_run"]["source_code"] == lowered
    assert learner["association_count"] == 12  # one label on each of the project's records


def test_cancel_a_running_labeling_function(page: Any, api: httpx.Client, spam_project: dict[str, Any]) -> None:  # noqa: F811
    pid, task = spam_project["id"], spam_project["task"]
    made = api.post(
        f"/api/v1/projects/{pid}/heuristics", json={"labeling_task_id": task["id"], "name": "slow", "source_code": SLOW}
    )
    assert made.status_code == 201, made.text
    login(page)
    page.goto(f"/projects/{pid}/heuristics/{made.json()['id']}")
    page.get_by_role("button", name="Run", exact=True).click()
    cancel = page.get_by_role("button", name="Cancel run")
    cancel.wait_for(timeout=30_000)
    cancel.click()
    page.get_by_test_id("job-state").filter(has_text="cancelled").wait_for(timeout=60_000)
    heuristic = _wait(
        lambda: (h := _heuristic_named(api, pid, "slow"))["last_run"]["state"] == "CANCELLED" and h, "the cancelled run", 60
    )
    assert heuristic["association_count"] == 0  # a cancelled run stores no votes (12 records x 3 s would have)
    assert page.get_by_role("button", name="Cancel run").count() == 0
    assert page.get_by_role("button", name="Run", exact=True).is_enabled()
