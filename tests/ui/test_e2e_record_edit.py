"""Inline record editing end to end in headless Chromium: edit a record in the data browser, review old → new and the
span the edit removes, save, and check the record, its spans and its tokens through the API."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from .conftest import login

TEXT = "Apple shares rise after the launch"
EDITED = "Apple shares fall after the launch"


def _wait_job(api: httpx.Client, job_id: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in {"done", "failed", "cancelled"}:
            assert job["state"] == "done", job
            return
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def test_edit_a_record_with_a_review(page: Any, api: httpx.Client, tmp_path: Path, shots: Path) -> None:
    pid = api.post("/api/v1/projects", json={"name": f"edit {uuid.uuid4().hex[:6]}"}).json()["id"]
    csv = f"id,headline,topic\n1,{TEXT},tech\n2,Other news,sport\n"
    job = api.post(f"/api/v1/projects/{pid}/upload", files={"file": ("r.csv", csv.encode())})
    assert job.status_code == 202, job.text
    _wait_job(api, job.json()["id"])
    records = {r["data"]["id"]: r["id"] for r in api.get(f"/api/v1/projects/{pid}/records").json()["items"]}
    rid = records[1]
    body = {
        "name": "entities",
        "task_type": "INFORMATION_EXTRACTION",
        "attribute": "headline",
        "labels": [{"name": "ORG"}, {"name": "MOVE"}],
    }
    task = api.post(f"/api/v1/projects/{pid}/labeling-tasks", json=body).json()
    labels = {label["name"]: label["id"] for label in task["labels"]}
    spans = f"/api/v1/projects/{pid}/records/{rid}/labeling-tasks/{task['id']}/spans"
    # tokens: 0 Apple 1 shares 2 rise ...
    assert api.post(spans, json={"label_id": labels["ORG"], "token_start": 0, "token_end": 1}).status_code == 201
    assert api.post(spans, json={"label_id": labels["MOVE"], "token_start": 2, "token_end": 3}).status_code == 201

    login(page)
    page.goto(f"/projects/{pid}/data-browser")
    card = page.get_by_role("article", name=f"Record {rid}")
    card.get_by_role("button", name=f"Edit record {rid}").click()
    dialog = page.get_by_role("dialog", name=f"Edit record {rid}")
    review_button = dialog.get_by_role("button", name="Review changes")
    assert review_button.is_disabled()  # nothing changed yet
    dialog.get_by_role("textbox", name="Value of id").fill("x1")
    assert "id: an integer" in dialog.inner_text() and review_button.is_disabled()
    dialog.get_by_role("textbox", name="Value of id").fill("1")
    dialog.get_by_role("textbox", name="Value of headline").fill(EDITED)
    review_button.click()

    review = page.get_by_role("dialog", name=f"Review the edit of record {rid}")
    changed = review.get_by_role("table", name="Changed values")
    changed.get_by_role("row").nth(1).wait_for()
    cells = changed.get_by_role("row").nth(1).locator("th, td")
    assert [cell.text_content() for cell in cells.all()] == ["headline", TEXT, EDITED]
    removed = review.get_by_role("region", name="Labels this edit removes")
    assert "MOVE" in removed.inner_text() and "“rise”" in removed.inner_text() and "ORG" not in removed.inner_text()
    review.screenshot(path=str(shots / "record-edit-review.png"))
    # the review stored nothing
    assert api.get(f"/api/v1/projects/{pid}/records").json()["items"][0]["data"]["headline"] == TEXT
    review.get_by_role("button", name="Save").click()
    review.wait_for(state="hidden")
    card.filter(has_text=EDITED).wait_for()

    data = {r["id"]: r["data"] for r in api.get(f"/api/v1/projects/{pid}/records").json()["items"]}
    assert data[rid]["headline"] == EDITED and data[records[2]]["headline"] == "Other news"
    kept = [row for row in api.get(f"/api/v1/projects/{pid}/records/{rid}/labels").json() if row.get("token_start") is not None]
    assert [(row["label_id"], row["token_start"], row["token_end"]) for row in kept] == [(labels["ORG"], 0, 1)]
    tokens = api.get(f"/api/v1/projects/{pid}/records/{rid}/tokens", params={"attribute": "headline"}).json()
    assert tokens["attributes"]["headline"]["text"] == EDITED
