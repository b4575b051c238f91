"""The web UI end to end in headless Chromium: span labeling by mouse and by keyboard, personal API tokens, a snapshot
import and logout; each checked through the API."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import login

TEXT = "Alice met Bob in Paris yesterday"
FINAL = {"done", "failed", "cancelled"}

CHAR_BOX = """([start, end]) => {
  const root = document.querySelector('[data-testid=record-text]');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let pos = 0, node, started = false;
  while ((node = walker.nextNode())) {
    const length = node.textContent.length;
    if (!started && start < pos + length) { range.setStart(node, start - pos); started = true; }
    if (started && end <= pos + length) { range.setEnd(node, end - pos); break; }
    pos += length;
  }
  const r = range.getClientRects()[0];
  return { left: r.left, right: r.right, y: r.top + r.height / 2 };
}"""


def _wait_job(api: httpx.Client, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in FINAL:
            assert job["state"] == "done", job
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def _project_with_records(api: httpx.Client, tmp_path: Path, texts: list[str]) -> str:
    pid: str = api.post("/api/v1/projects", json={"name": f"spans {uuid.uuid4().hex[:6]}"}).json()["id"]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps({"id": i + 1, "text": t}) for i, t in enumerate(texts)))
    job = api.post(f"/api/v1/projects/{pid}/upload", files={"file": (path.name, path.read_bytes())})
    assert job.status_code == 202, job.text
    _wait_job(api, job.json()["id"])
    deadline = time.monotonic() + 60  # tokenization runs after the upload
    jobs = f"/api/v1/projects/{pid}/jobs"
    while not any(j["kind"] == "tokenize_project" and j["state"] == "done" for j in api.get(jobs).json()):
        assert time.monotonic() < deadline, "tokenization did not finish"
        time.sleep(0.2)
    return pid


@pytest.fixture()
def span_project(api: httpx.Client, tmp_path: Path) -> dict[str, Any]:
    pid = _project_with_records(api, tmp_path, [TEXT, "Nothing to see here"])
    task = api.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={
            "name": "entities",
            "task_type": "INFORMATION_EXTRACTION",
            "attribute": "text",
            "labels": [
                {"name": "person", "hotkey": "e", "color": "#3b82f6"},
                {"name": "place", "hotkey": "l", "color": "#22c55e"},
            ],
        },
    )
    assert task.status_code == 201, task.text
    return {"id": pid, "task": task.json()}


def _spans(api: httpx.Client, pid: str, record_id: int, labels: dict[str, str]) -> set[tuple[str, int, int]]:
    rows = api.get(f"/api/v1/projects/{pid}/records/{record_id}/labels", params={"source_type": "MANUAL"}).json()
    return {(labels[r["label_id"]], r["token_start"], r["token_end"]) for r in rows}


def test_spans_by_mouse_and_by_keyboard(page: Any, api: httpx.Client, span_project: dict[str, Any], shots: Path) -> None:
    pid = span_project["id"]
    labels = {label["id"]: label["name"] for label in span_project["task"]["labels"]}
    record_id = api.get(f"/api/v1/projects/{pid}/records").json()["items"][0]["id"]
    login(page)
    page.goto(f"/projects/{pid}/labeling?pos=0")
    page.get_by_role("region", name="Record").get_by_text(TEXT).wait_for()

    # Mouse: drag over part of "Bob" (chars 11-12); the selection snaps to the whole token, the label box opens.
    page.locator("[data-testid=record-text]").wait_for()  # the text with its tokens (drawn once they are loaded)
    box = page.evaluate(CHAR_BOX, [11, 12])
    page.mouse.move(box["left"] + 1, box["y"])
    page.mouse.down()
    page.mouse.move(box["right"] - 1, box["y"], steps=4)
    page.mouse.up()
    label_box = page.get_by_role("region", name="Label the selection")
    label_box.get_by_text('"Bob"').or_(label_box.locator("q", has_text="Bob")).first.wait_for()
    label_box.get_by_role("button", name="person").click()
    deadline = time.monotonic() + 20
    while ("person", 2, 3) not in _spans(api, pid, record_id, labels):
        assert time.monotonic() < deadline, _spans(api, pid, record_id, labels)
        time.sleep(0.2)

    # Keyboard: Shift+→ starts a selection after the last span ("in"), → moves it to "Paris", its hotkey labels it.
    page.locator("body").focus()
    page.keyboard.press("Shift+ArrowRight")
    label_box.locator("q", has_text="in").wait_for()
    page.keyboard.press("ArrowRight")
    label_box.locator("q", has_text="Paris").wait_for()
    page.screenshot(path=str(shots / "labeling-spans.png"))
    page.keyboard.press("l")
    deadline = time.monotonic() + 20
    while _spans(api, pid, record_id, labels) != {("person", 2, 3), ("place", 4, 5)}:
        assert time.monotonic() < deadline, _spans(api, pid, record_id, labels)
        time.sleep(0.2)
    # Spans are drawn as a few text runs, never an element per token.
    assert page.locator("[data-testid=record-text] mark").count() == 2
    # The record did not change: ←/→ moved the selection, not the record.
    assert "pos=0" in page.url

    # The source toggles hide and show the manual spans (a per-user setting of this browser).
    manual = page.get_by_role("checkbox", name="Manual")
    manual.uncheck()
    page.locator("[data-testid=record-text] mark").first.wait_for(state="detached")
    manual.check()
    page.locator("[data-testid=record-text] mark").nth(1).wait_for()

    # Remove the keyboard span with Backspace on its focused Remove button.
    page.get_by_role("button", name="Remove label place on Paris").focus()
    page.keyboard.press("Backspace")
    deadline = time.monotonic() + 20
    while _spans(api, pid, record_id, labels) != {("person", 2, 3)}:
        assert time.monotonic() < deadline, _spans(api, pid, record_id, labels)
        time.sleep(0.2)


def test_tokens_page_creates_shows_once_and_revokes(page: Any, api: httpx.Client, ui_url: str, shots: Path) -> None:
    login(page)
    page.get_by_role("link", name="API tokens").click()
    name = f"script {uuid.uuid4().hex[:6]}"
    page.get_by_role("textbox", name="Token name").fill(name)
    page.get_by_role("button", name="Create token").click()
    secret_box = page.get_by_role("textbox", name="New token secret")
    secret = secret_box.input_value()
    assert secret
    assert httpx.get(f"{ui_url}/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    page.screenshot(path=str(shots / "tokens.png"))
    page.get_by_role("button", name="Done").click()
    assert secret_box.count() == 0  # shown once
    page.get_by_role("button", name=f"Revoke token {name}").click()
    page.get_by_role("row", name=name).get_by_text("revoked").wait_for()
    assert httpx.get(f"{ui_url}/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_import_snapshot_delete_project_and_logout(
    page: Any, api: httpx.Client, span_project: dict[str, Any], tmp_path: Path, shots: Path
) -> None:
    snapshot = api.get(f"/api/v1/projects/{span_project['id']}/snapshot")
    assert snapshot.status_code == 200, snapshot.text
    path = tmp_path / "snapshot.zip"
    path.write_bytes(snapshot.content)
    imported = f"imported {uuid.uuid4().hex[:6]}"

    login(page)
    page.get_by_role("button", name="Import snapshot").click()
    dialog = page.get_by_role("dialog", name="Import snapshot")
    dialog.get_by_label("Snapshot file").set_input_files(str(path))
    dialog.get_by_role("textbox", name="New project name (optional)").fill(imported)
    dialog.get_by_role("button", name="Import").click()
    page.get_by_role("heading", name="Settings").wait_for(timeout=60_000)
    project = next(p for p in api.get("/api/v1/projects").json() if p["name"] == imported)
    assert project["record_count"] == 2
    assert [t["name"] for t in api.get(f"/api/v1/projects/{project['id']}/labeling-tasks").json()] == ["entities"]

    # Delete it behind typing its name.
    page.get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("heading", name=imported, exact=True).wait_for()
    page.screenshot(path=str(shots / "projects.png"))
    page.get_by_role("button", name=f"Delete project {imported}").click()
    dialog = page.get_by_role("dialog", name=f"Delete {imported}")
    confirm = dialog.get_by_role("button", name="Delete project")
    assert confirm.is_disabled()
    dialog.get_by_role("textbox", name="Project name to confirm").fill(imported)
    confirm.click()
    page.get_by_role("heading", name=imported, exact=True).wait_for(state="detached")
    assert imported not in [p["name"] for p in api.get("/api/v1/projects").json()]

    # Log out: the session ends, the login page shows, and the API refuses the old cookie's pages.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for()
    page.screenshot(path=str(shots / "login.png"))
    page.goto("/projects")
    page.get_by_role("button", name="Log in").wait_for()


def test_a_failed_upload_shows_the_reason_and_leaves_no_project(
    page: Any, api: httpx.Client, span_project: dict[str, Any], tmp_path: Path
) -> None:
    taken = api.get(f"/api/v1/projects/{span_project['id']}").json()["name"]
    login(page)
    page.get_by_role("link", name="New project").click()
    name_box = page.get_by_role("textbox", name="Project name")
    # The name is checked as it is typed: an existing one is refused inline.
    name_box.fill(taken)
    page.get_by_text("exists already").wait_for()
    assert page.get_by_role("button", name="Upload").is_disabled()

    name = f"broken {uuid.uuid4().hex[:6]}"
    name_box.fill(name)
    bad = tmp_path / "broken.json"
    bad.write_text('[{"text": "fine"}, {"text": ')
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_role("button", name="Upload").click()
    alert = page.get_by_role("alert").filter(has_text="The upload failed")
    alert.wait_for(timeout=30_000)
    assert "broken.json" in alert.inner_text()
    deadline = time.monotonic() + 20
    while name in [p["name"] for p in api.get("/api/v1/projects").json()]:
        assert time.monotonic() < deadline, "the project of the failed upload was left behind"
        time.sleep(0.2)
