"""Sample projects: the snapshots of the configured folder are listed and imported as new projects."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared_model.settings import get_settings

from ..shared_data import SAMPLES, require
from .upload_helpers import wait_job


@pytest.fixture()
def samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "samples"
    folder.mkdir()
    shutil.copy(require(SAMPLES / "clickbait_initial.zip"), folder / "clickbait_initial.zip")
    (folder / "notes.txt").write_text("not a snapshot")
    (folder / "broken.json").write_text('{"no": "snapshot"}')
    monkeypatch.setenv("REFINERY_SAMPLE_PROJECTS_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def test_samples_are_listed_and_imported(client: TestClient, samples: Path, services: Any) -> None:
    services.start("tokenizer")  # the sample names a spaCy pipeline: the tokenizer service is asked for it
    listed = client.get("/api/v1/sample-projects")
    assert listed.status_code == 200, listed.text
    assert [(s["name"], s["title"], s["file"]) for s in listed.json()] == [
        ("broken", "Broken", "broken.json"),
        ("clickbait_initial", "Clickbait initial", "clickbait_initial.zip"),
    ]
    started = client.post("/api/v1/sample-projects/clickbait_initial/import", json={"project_name": "my clickbait"})
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["id"])
    assert job["state"] == "done", job
    project = client.get(f"/api/v1/projects/{job['result']['project_id']}").json()
    assert project["name"] == "my clickbait" and project["record_count"] == 3000
    assert (samples / "clickbait_initial.zip").is_file()  # the sample stays; the job imported a copy

    # The default name is the sample's title.
    job = wait_job(client, client.post("/api/v1/sample-projects/clickbait_initial/import", json={}).json()["id"])
    assert client.get(f"/api/v1/projects/{job['result']['project_id']}").json()["name"] == "Clickbait initial"


def test_unknown_and_broken_samples_are_refused(client: TestClient, samples: Path) -> None:
    uploads = get_settings().data_dir / "uploads"
    before = set(uploads.glob("*.snapshot"))
    missing = client.post("/api/v1/sample-projects/nothing/import", json={})
    assert missing.status_code == 404 and "nothing" in missing.json()["detail"]
    bad = client.post("/api/v1/sample-projects/broken/import", json={})
    assert bad.status_code == 422, bad.text
    blank = client.post("/api/v1/sample-projects/clickbait_initial/import", json={"project_name": "  "})
    assert blank.status_code == 422 and "blank" in blank.json()["detail"]
    assert set(uploads.glob("*.snapshot")) == before  # a refused copy is not left behind


def test_no_folder_no_samples(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFINERY_SAMPLE_PROJECTS_DIR", str(tmp_path / "missing"))
    get_settings.cache_clear()
    try:
        assert client.get("/api/v1/sample-projects").json() == []
    finally:
        get_settings.cache_clear()
