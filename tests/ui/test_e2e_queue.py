"""The annotator's queue end to end in headless Chromium: an engineer (through the API) assigns a slice to an
annotator, who logs in, opens the project (their home there is "My queue"; the sidebar hides the pages their role
may not use), labels the records with the keyboard only and skips one; the engineer sees
the progress through the API."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from .team_world import TEXTS, sentiment_project


def _wait(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_an_annotator_labels_an_assigned_slice_with_the_keyboard(page: Any, api: httpx.Client, shots: Path) -> None:
    pid, task = sentiment_project(api, "queue")
    labels = {label["id"]: label["name"] for label in task["labels"]}
    email = f"ann-{uuid.uuid4().hex[:6]}@example.org"
    created = api.post("/api/v1/users", json={"email": email, "password": "annotator-pw-1", "role": "ANNOTATOR"})
    assert created.status_code == 201, created.text
    assert api.post(f"/api/v1/projects/{pid}/members", json={"email": email, "role": "ANNOTATOR"}).status_code == 201
    annotator_id = created.json()["id"]
    data_slice = api.post(f"/api/v1/projects/{pid}/slices", json={"name": "all", "type": "STATIC_DEFAULT"}).json()
    made = api.post(
        f"/api/v1/projects/{pid}/assignments",
        json={"name": "batch 1", "slice_id": data_slice["id"], "annotator_ids": [annotator_id], "labeling_task_id": task["id"]},
    )
    assert made.status_code == 201, made.text
    aid = made.json()["id"]

    page.goto("/")
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("textbox", name="Password").fill("annotator-pw-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Projects").wait_for()
    page.goto(f"/projects/{pid}")  # an annotator's home in a project is their queue
    page.get_by_role("heading", name="My queue").wait_for()
    sidebar = page.get_by_role("navigation", name="Project")
    sidebar.get_by_role("link", name="My queue").wait_for()
    for hidden in ("Heuristics", "Data browser", "Overview", "Record IDE", "Lookup lists", "Settings"):
        assert sidebar.get_by_role("link", name=hidden).count() == 0, hidden
    progress = page.get_by_label("progress of batch 1")
    progress.get_by_text("0 / 4 done").wait_for()
    page.screenshot(path=str(shots / "annotator-queue.png"))
    # keyboard only: 1, 2, s (skip), 1
    region = page.get_by_role("region", name="Next record")
    for index, (key, done) in enumerate((("1", 1), ("2", 2), ("s", 2), ("1", 3))):
        region.get_by_text(TEXTS[index], exact=True).wait_for()
        page.keyboard.press(key)
        progress.get_by_text(f"{done} / 4 done").wait_for()
    page.get_by_text("All done.").wait_for()

    seen = _wait(lambda: api.get(f"/api/v1/projects/{pid}/assignments/{aid}").json()["annotators"])
    assert [(p["done"], p["skipped"]) for p in seen] == [(3, 1)]
    ids = [r["id"] for r in api.get(f"/api/v1/projects/{pid}/records").json()["items"]]
    given = {}
    for record_id in ids:
        rows = api.get(f"/api/v1/projects/{pid}/records/{record_id}/labels").json()
        given[record_id] = [labels[row["label_id"]] for row in rows if row["created_by"] == annotator_id]
    assert [given[i] for i in ids] == [["positive"], ["negative"], [], ["positive"]]
