"""The web UI end to end in headless Chromium against the real platform: log in, create a project by upload, set a
task and hotkeys by pressing keys, label ten records with the keyboard only, and check through the API that the
labels were stored."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from .conftest import login

TEXTS = [
    "I love this phone, the battery lasts for days",
    "Terrible service, I want my money back",
    "The delivery was fast and the box was intact",
    "Broken on arrival and support never answered",
    "Best purchase of the year",
    "Would not recommend it to anyone",
    "Works exactly as described",
    "The screen cracked after a week",
    "Great value for the price",
    "Awful smell and cheap plastic",
    "Decent, nothing special",
    "Five stars, will buy again",
]


def _records_file(folder: Path) -> Path:
    path = folder / "reviews.jsonl"
    path.write_text("\n".join(json.dumps({"id": i + 1, "text": t}) for i, t in enumerate(TEXTS)) + "\n")
    return path


def _wait(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_upload_set_hotkeys_and_label_ten_records_by_keyboard(page: Any, api: httpx.Client, tmp_path: Path, shots: Path) -> None:
    name = f"reviews {uuid.uuid4().hex[:6]}"
    login(page)

    # New project by upload: name, file, Upload; progress arrives live; the settings page follows.
    page.get_by_role("link", name="New project").click()
    page.get_by_role("textbox", name="Project name").fill(name)
    page.get_by_label("File").set_input_files(str(_records_file(tmp_path)))
    page.screenshot(path=str(shots / "new-project.png"))
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("heading", name="Settings").wait_for(timeout=60_000)
    project = next(p for p in api.get("/api/v1/projects").json() if p["name"] == name)
    pid = project["id"]
    assert project["record_count"] == len(TEXTS)

    # A classification task with two labels; hotkeys chosen by pressing the key (a digit is allowed).
    page.get_by_role("textbox", name="Task name").fill("sentiment")
    page.get_by_role("button", name="Add task").click()
    new_label = page.get_by_role("textbox", name="New label of sentiment")
    new_label.fill("positive")
    new_label.press("Enter")
    page.get_by_role("textbox", name="Name of label positive").wait_for()
    new_label.fill("negative")
    new_label.press("Enter")
    page.get_by_role("textbox", name="Name of label negative").wait_for()
    page.get_by_role("textbox", name="Hotkey of positive").press("p")
    _wait(lambda: _label(api, pid, "positive")["hotkey"] == "p")
    # ArrowRight is reserved for navigation: refused with the reason, nothing stored.
    page.get_by_role("textbox", name="Hotkey of negative").press("ArrowRight")
    page.get_by_text("ArrowRight is reserved").wait_for()
    page.get_by_role("textbox", name="Hotkey of negative").press("p")
    page.get_by_text("already the hotkey of label positive").wait_for()
    page.get_by_role("textbox", name="Hotkey of negative").press("2")
    _wait(lambda: _label(api, pid, "negative")["hotkey"] == "2")
    page.screenshot(path=str(shots / "settings.png"), full_page=True)

    # Label ten records with the keyboard only.
    page.get_by_role("link", name="Labeling").click()
    record = page.get_by_role("region", name="Record")
    record.get_by_text(TEXTS[0]).wait_for()
    page.locator("body").focus()
    expected: dict[str, str] = {}
    records = api.get(f"/api/v1/projects/{pid}/records", params={"limit": 100}).json()["items"]
    for i in range(10):
        record.get_by_text(TEXTS[i]).wait_for()
        key, label = ("p", "positive") if i % 2 == 0 else ("2", "negative")
        page.keyboard.press(key)
        page.get_by_role("button", name=label, exact=True).and_(page.locator("[aria-pressed=true]")).wait_for()
        expected[str(records[i]["id"])] = label
        if i == 4:
            page.screenshot(path=str(shots / "labeling.png"))
        page.keyboard.press("ArrowRight")
    record.get_by_text(TEXTS[10]).wait_for()
    assert "pos=10" in page.url

    # ← goes back, and the stored label shows as pressed.
    page.keyboard.press("ArrowLeft")
    record.get_by_text(TEXTS[9]).wait_for()
    negative = page.get_by_role("button", name="negative", exact=True)
    negative.and_(page.locator("[aria-pressed=true]")).wait_for()

    # A hotkey changes the label; Ctrl+Z takes the change back (the stored label is negative again, checked below).
    page.keyboard.press("p")
    page.get_by_role("button", name="positive", exact=True).and_(page.locator("[aria-pressed=true]")).wait_for()
    page.keyboard.press("Control+z")
    negative.and_(page.locator("[aria-pressed=true]")).wait_for()

    # The gold star makes the user's label of the task the gold standard.
    page.get_by_role("button", name="Gold star for sentiment").click()
    tenth = f"/api/v1/projects/{pid}/records/{records[9]['id']}/labels"
    _wait(lambda: any(row["is_gold_star"] for row in api.get(tenth, params={"source_type": "MANUAL"}).json()))

    # Through the API: exactly these ten manual labels were stored.
    tasks = api.get(f"/api/v1/projects/{pid}/labeling-tasks").json()
    names = {label["id"]: label["name"] for task in tasks for label in task["labels"]}

    def stored() -> dict[str, str] | None:
        found: dict[str, str] = {}
        for r in records:
            rows = api.get(f"/api/v1/projects/{pid}/records/{r['id']}/labels", params={"source_type": "MANUAL"}).json()
            for row in rows:
                found[str(r["id"])] = names[row["label_id"]]
        return found if found == expected else None

    _wait(stored)
    card = api.get(f"/api/v1/projects/{pid}").json()
    assert card["manually_labeled"] == 10

    # The settings page exports the labeled records.
    page.get_by_role("link", name="Settings").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_text()
    assert TEXTS[0] in exported and "positive" in exported and "negative" in exported


def _label(api: httpx.Client, pid: str, name: str) -> dict[str, Any]:
    for task in api.get(f"/api/v1/projects/{pid}/labeling-tasks").json():
        for label in task["labels"]:
            if label["name"] == name:
                return dict(label)
    raise AssertionError(f"no label {name}")
