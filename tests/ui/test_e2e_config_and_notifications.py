"""The web UI end to end: the configuration page (limits, spaCy pipelines, embedding models from the real services)
and the notification centre (a job's result, grouped by level, linking to the page concerned)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from shared_model.settings import get_settings

from .conftest import login
from .test_e2e_spans_and_pages import _project_with_records


def test_configuration_page(page: Any, api: httpx.Client, services: Any, shots: Path) -> None:
    services.start("embedder")
    login(page)
    page.get_by_role("link", name="Configuration").click()
    page.get_by_role("heading", name="Configuration").wait_for()
    limits = page.get_by_role("table", name="Limits")
    row = limits.get_by_role("row", name=re.compile("REFINERY_UPLOAD_MAX_BYTES"))
    assert f"{get_settings().upload_max_bytes:,}" in row.inner_text()
    page.get_by_role("list", name="Embedding models").get_by_text("bag-of-words", exact=True).wait_for()
    installed = api.get("/api/v1/config").json()["spacy_pipelines"]["items"]
    pipelines = page.get_by_role("list", name="Installed spaCy pipelines")
    assert pipelines.locator("li").all_inner_texts() == installed
    page.screenshot(path=str(shots / "configuration.png"), full_page=True)


def test_notification_centre_lists_a_job_result_with_its_link(page: Any, api: httpx.Client, tmp_path: Path, shots: Path) -> None:
    pid = _project_with_records(api, tmp_path, ["one record", "another record"])
    login(page)
    page.evaluate("window.localStorage.removeItem('refinery.notifications')")
    page.reload()
    bell = page.get_by_role("button", name=re.compile(r"^Notifications \(\d+ unread\)$"))
    bell.wait_for()
    page.wait_for_timeout(1000)  # the websocket connects
    # A job started elsewhere (here: through the API) reaches the open page over the websocket.
    started = api.post(f"/api/v1/projects/{pid}/tokenize")
    assert started.status_code == 202, started.text
    page.get_by_role("button", name=re.compile(r"^Notifications \([1-9]\d* unread\)$")).wait_for(timeout=60_000)
    page.get_by_role("button", name=re.compile(r"^Notifications")).click()
    dialog = page.get_by_role("dialog", name="Notifications")
    done = dialog.get_by_role("region", name="Done")
    link = done.get_by_role("link", name=re.compile("^Tokenization finished"))
    link.first.wait_for()
    page.screenshot(path=str(shots / "notifications.png"))
    link.first.click()
    page.wait_for_url(re.compile(rf"/projects/{pid}/settings$"))
    page.get_by_role("heading", name="Settings").wait_for()
    page.get_by_role("button", name="Notifications (0 unread)").wait_for()
