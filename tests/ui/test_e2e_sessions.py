"""The web UI end to end: a sample project (the original's snapshot) imported from the projects page and labeled in;
a labeling session started from a data slice, its position kept server-side; each checked through
the API."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from ..shared_data import SAMPLES, require
from .conftest import login
from .test_e2e_spans_and_pages import _project_with_records


def _wait(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _manual(api: httpx.Client, pid: str, record_id: int, names: dict[str, str]) -> list[str]:
    rows = api.get(f"/api/v1/projects/{pid}/records/{record_id}/labels", params={"source_type": "MANUAL"}).json()
    return sorted(names[r["label_id"]] for r in rows if r["label_id"] in names)


def test_sample_project_is_imported_and_labeled(page: Any, api: httpx.Client, shots: Path) -> None:
    require(SAMPLES / "clickbait_initial.zip")
    name = f"clickbait {uuid.uuid4().hex[:6]}"
    login(page)
    page.get_by_role("button", name="Sample projects").click()
    menu = page.get_by_role("menu", name="Sample projects")
    menu.get_by_role("menuitem", name=re.compile("^Clickbait initial")).wait_for()
    page.screenshot(path=str(shots / "sample-projects.png"))
    menu.get_by_role("menuitem", name=re.compile("^Clickbait initial")).click()
    dialog = page.get_by_role("dialog", name="Sample project Clickbait initial")
    dialog.get_by_role("textbox", name="New project name").fill(name)
    dialog.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="Settings").wait_for(timeout=90_000)
    project = next(p for p in api.get("/api/v1/projects").json() if p["name"] == name)
    assert project["record_count"] == 3000
    tasks = api.get(f"/api/v1/projects/{project['id']}/labeling-tasks").json()
    clickbait = next(t for t in tasks if t["name"] == "clickbait")
    names = {label["id"]: label["name"] for label in clickbait["labels"]}
    assert {label["hotkey"] for label in clickbait["labels"]} == {"q", "w"}

    # Label the first two records with the snapshot's hotkeys (w = yes, q = no).
    page.get_by_role("link", name="Labeling").click()
    region = page.get_by_role("region", name="Record")
    region.wait_for()
    first = int(region.get_attribute("data-record-id"))
    page.locator("body").focus()
    page.keyboard.press("w")
    yes = page.get_by_role("group", name="clickbait").get_by_role("button", name="yes")
    yes.and_(page.locator("[aria-pressed=true]")).wait_for()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"document.querySelector('[data-record-id]')?.dataset.recordId !== '{first}'")
    second = int(region.get_attribute("data-record-id"))
    page.keyboard.press("q")
    pid = project["id"]
    _wait(lambda: _manual(api, pid, first, names) == ["yes"] and _manual(api, pid, second, names) == ["no"])


def test_a_session_from_a_slice(page: Any, api: httpx.Client, tmp_path: Path, shots: Path) -> None:
    texts = ["red apple", "green pear", "red cherry", "yellow banana", "red tomato"]
    pid = _project_with_records(api, tmp_path, texts)
    task = api.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={
            "name": "colour",
            "task_type": "MULTICLASS_CLASSIFICATION",
            "labels": [{"name": "red", "hotkey": "r"}, {"name": "other", "hotkey": "o"}],
        },
    ).json()
    names = {label["id"]: label["name"] for label in task["labels"]}
    reds = {"conditions": [{"kind": "attribute", "attribute": "text", "operator": "BEGINS_WITH", "values": ["red"]}]}
    made = api.post(f"/api/v1/projects/{pid}/slices", json={"name": "reds", "type": "STATIC_DEFAULT", "filter": reds})
    assert made.status_code == 201, made.text
    by_text = {r["data"]["text"]: r["id"] for r in api.get(f"/api/v1/projects/{pid}/records").json()["items"]}

    login(page)
    page.goto(f"/projects/{pid}/labeling?pos=0")
    page.get_by_role("region", name="Record").wait_for()
    page.get_by_role("button", name="Sessions").click()
    page.get_by_role("menu", name="Labeling sessions").get_by_role("menuitem", name=re.compile("^Slice reds")).click()
    page.wait_for_url(re.compile(rf"/projects/{pid}/labeling/[0-9a-f-]+\?pos=0$"))
    sid = page.url.split("/labeling/")[1].split("?")[0]
    position = page.get_by_test_id("position")
    position.filter(has_text="1 / 3").filter(has_text="in slice reds").wait_for()
    region = page.get_by_role("region", name="Record")
    region.get_by_text("red apple").wait_for()
    page.screenshot(path=str(shots / "labeling-session.png"))

    # Label the three red records by keyboard: r, →, r, →, r; the session has only them.
    page.locator("body").focus()
    for step, text in enumerate(["red apple", "red cherry", "red tomato"]):
        region.get_by_text(text).wait_for()
        page.keyboard.press("r")
        _wait(lambda text=text: _manual(api, pid, by_text[text], names) == ["red"])
        if step < 2:
            page.keyboard.press("ArrowRight")
    assert page.get_by_role("button", name="Next record").is_disabled()
    for text in ("green pear", "yellow banana"):
        assert _manual(api, pid, by_text[text], names) == []

    # The position is kept server-side: opening the session without ?pos= goes on where the user left.
    _wait(lambda: api.get(f"/api/v1/projects/{pid}/labeling-sessions/{sid}").json()["position"] == 2)
    page.goto(f"/projects/{pid}/labeling/{sid}")
    region.get_by_text("red tomato").wait_for()
    position.filter(has_text="3 / 3").wait_for()
    page.keyboard.press("ArrowLeft")
    region.get_by_text("red cherry").wait_for()
    _wait(lambda: api.get(f"/api/v1/projects/{pid}/labeling-sessions/{sid}").json()["position"] == 1)

    # The user's sessions are offered again in the menu, at their position.
    page.get_by_role("button", name="Sessions").click()
    page.get_by_role("group", name="Your sessions").get_by_role("menuitem", name=re.compile(r"slice reds.*2 \/ 3")).wait_for()
    page.keyboard.press("Escape")
