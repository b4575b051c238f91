"""The web UI's settings page end to end: attribute visibility, the primary key with its uniqueness check, and
embeddings (add with model, granularity and filter attributes, see its state, delete); each checked through the API."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from .conftest import login
from .test_e2e_spans_and_pages import _wait_job


def _wait(check: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_visibility_primary_key_and_embeddings(page: Any, api: httpx.Client, services: Any, tmp_path: Path, shots: Path) -> None:
    services.start("embedder")
    services.start("neural_search")  # the embedder stores the vectors there
    pid = api.post("/api/v1/projects", json={"name": f"schema {uuid.uuid4().hex[:6]}"}).json()["id"]
    rows = [
        {"code": "a1", "text": "the cat sat on the mat", "team": "x"},
        {"code": "b2", "text": "dogs bark at night", "team": "x"},
        {"code": "c3", "text": "a bird sings", "team": "y"},
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    _wait_job(api, api.post(f"/api/v1/projects/{pid}/upload", files={"file": (path.name, path.read_bytes())}).json()["id"])

    def attributes() -> dict[str, dict[str, Any]]:
        return {a["name"]: a for a in api.get(f"/api/v1/projects/{pid}/attributes").json()}

    login(page)
    page.goto(f"/projects/{pid}/settings")
    schema = page.get_by_role("table", name="Attributes")
    schema.wait_for()

    # Visibility of an uploaded attribute.
    page.get_by_role("combobox", name="Visibility of team").select_option(label="Hidden on the labeling page")
    _wait(lambda: attributes()["team"]["visibility"] == "HIDE_ON_LABELING_PAGE")

    # The primary key (the boxes follow the server's answer: it checks the key's uniqueness first). running_id leaves
    # it; team alone is refused (two records share "x") with the reason and nothing changes; code alone is unique.
    def key_box(name: str) -> Any:
        return page.get_by_role("checkbox", name=f"{name} is part of the primary key")

    assert key_box("running_id").is_checked()
    key_box("running_id").click()
    _wait(lambda: not attributes()["running_id"]["is_primary_key"])
    _wait(lambda: not key_box("running_id").is_checked())
    key_box("team").click()
    alert = page.get_by_role("alert").filter(has_text="The primary key was not changed")
    alert.wait_for()
    assert not key_box("team").is_checked() and not attributes()["team"]["is_primary_key"]
    key_box("code").click()
    _wait(lambda: attributes()["code"]["is_primary_key"])
    _wait(key_box("code").is_checked)
    alert.wait_for(state="detached")

    # An embedding: bag-of-words on text, filterable by team; computed, listed, then deleted.
    page.get_by_role("button", name="Add embedding").click()
    form = page.get_by_role("form", name="Add embedding")
    form.get_by_role("combobox", name="Target attribute").select_option("text")
    form.get_by_role("combobox", name="Model").fill("bag-of-words")
    form.get_by_role("checkbox", name="team").check()
    form.get_by_role("button", name="Compute embedding").click()
    table = page.get_by_role("table", name="Embeddings")
    table.get_by_text("FINISHED").wait_for(timeout=90_000)
    stored = api.get(f"/api/v1/projects/{pid}/embeddings").json()
    assert [(e["model"], e["type"], e["filter_attributes"], e["state"]) for e in stored] == [
        ("bag-of-words", "ON_ATTRIBUTE", ["team"], "FINISHED")
    ]
    page.screenshot(path=str(shots / "settings-schema-embeddings.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete embedding {stored[0]['name']}").click()
    table.wait_for(state="detached")
    _wait(lambda: api.get(f"/api/v1/projects/{pid}/embeddings").json() == [])
