"""The web UI end to end: the label box's "more labels" with its search, Tab cycling through spans with Backspace
removing the focused one, and comments on the record; each checked through the API."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from .conftest import login
from .test_e2e_spans_and_pages import TEXT, _project_with_records

INTENTS = ["greeting", "goodbye", "balance", "card_lost", "card_arrival", "refund_request", "top_up", "transfer_failed"]


def _wait(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_more_labels_search_span_cycling_and_comments(page: Any, api: httpx.Client, tmp_path: Path, shots: Path) -> None:
    pid = _project_with_records(api, tmp_path, [TEXT, "Nothing to see here"])
    intent = api.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={"name": "intent", "task_type": "MULTICLASS_CLASSIFICATION", "labels": [{"name": n} for n in INTENTS]},
    ).json()
    entities = api.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={
            "name": "entities",
            "task_type": "INFORMATION_EXTRACTION",
            "attribute": "text",
            "labels": [{"name": "person", "color": "#3b82f6"}, {"name": "place", "color": "#22c55e"}],
        },
    ).json()
    labels = {label["name"]: label["id"] for label in intent["labels"] + entities["labels"]}
    names = {v: k for k, v in labels.items()}
    record_id = api.get(f"/api/v1/projects/{pid}/records").json()["items"][0]["id"]
    spans_url = f"/api/v1/projects/{pid}/records/{record_id}/labeling-tasks/{entities['id']}/spans"
    for label, start in (("person", 0), ("place", 4)):
        made = api.post(spans_url, json={"label_id": labels[label], "token_start": start, "token_end": start + 1})
        assert made.status_code == 201, made.text

    def manual() -> set[tuple[str, int | None]]:
        rows = api.get(f"/api/v1/projects/{pid}/records/{record_id}/labels", params={"source_type": "MANUAL"}).json()
        return {(names[r["label_id"]], r["token_start"]) for r in rows}

    login(page)
    page.goto(f"/projects/{pid}/labeling?pos=0")
    page.locator("[data-testid=record-text] mark").nth(1).wait_for()

    # Five intent buttons show; the other three are behind "More intent labels", found by searching.
    row = page.get_by_role("group", name="intent", exact=True)
    assert row.get_by_role("button", name="refund_request").count() == 0
    row.get_by_role("button", name="More intent labels (3)").click()
    search = page.get_by_role("searchbox", name="Search intent labels")
    assert search.evaluate("el => el === document.activeElement")
    search.fill("refu")
    page.screenshot(path=str(shots / "labeling-label-search.png"))
    search.press("Enter")
    _wait(lambda: ("refund_request", None) in manual())
    # A chosen label beyond the first five stays visible and pressed.
    row.get_by_role("button", name="refund_request").and_(page.locator("[aria-pressed=true]")).wait_for()

    # Tab cycles through the spans (Shift+Tab back); Backspace removes the focused one.
    page.locator("body").focus()
    status = page.get_by_role("status", name="Focused span")
    page.keyboard.press("Tab")
    status.filter(has_text=re.compile(r"Span 1 of 2: person")).wait_for()
    page.keyboard.press("Tab")
    status.filter(has_text=re.compile(r"Span 2 of 2: place")).wait_for()
    page.keyboard.press("Tab")
    status.filter(has_text=re.compile(r"Span 1 of 2: person")).wait_for()
    page.keyboard.press("Shift+Tab")
    status.filter(has_text=re.compile(r"Span 2 of 2: place")).wait_for()
    assert page.locator("[data-testid=record-text] mark.focused").count() == 1
    page.keyboard.press("Backspace")
    _wait(lambda: manual() == {("refund_request", None), ("person", 0)})
    status.filter(has_text=re.compile(r"Span 1 of 1: person")).wait_for()
    page.keyboard.press("Escape")
    status.wait_for(state="detached")

    # Comments: Shift+Enter adds one; it is stored on the record; its author deletes it.
    box = page.get_by_role("textbox", name="New comment")
    box.fill("Is Paris a person here?")
    box.press("Shift+Enter")
    comments = page.get_by_role("list", name="Comments on this record")
    comments.get_by_text("Is Paris a person here?").wait_for()
    stored = api.get(f"/api/v1/projects/{pid}/comments", params={"target_type": "RECORD", "target_id": str(record_id)}).json()
    assert [c["body"] for c in stored] == ["Is Paris a person here?"]
    page.screenshot(path=str(shots / "labeling-comments.png"), full_page=True)
    page.get_by_role("button", name="Delete comment Is Paris a person here?").click()
    comments.get_by_text("Is Paris a person here?").wait_for(state="detached")
    assert api.get(f"/api/v1/projects/{pid}/comments", params={"target_type": "RECORD"}).json() == []

    # The suite's settings are kept server-side: more label buttons, stored for the user, still there in a browser
    # that never saw them (local storage cleared).
    page.get_by_role("spinbutton", name="Label buttons shown").fill("8")
    row.get_by_role("button", name="transfer_failed").wait_for()
    _wait(lambda: api.get("/api/v1/me/settings/labeling").json()["value"].get("labelButtons") == 8)
    page.evaluate("window.localStorage.clear()")
    page.reload()
    row.get_by_role("button", name="transfer_failed").wait_for()
    assert row.get_by_role("button", name=re.compile("^More intent labels")).count() == 0
    api.put("/api/v1/me/settings/labeling", json={"value": {}})  # the admin's settings back to the defaults
