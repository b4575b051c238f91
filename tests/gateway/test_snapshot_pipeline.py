"""A snapshot whose spaCy pipeline is not installed here: the project falls back to the blank pipeline of its
language, shows a warning naming the install command, and keeps everything it imported (heuristic results included)
through the tokenization that follows."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from fastapi.testclient import TestClient

from ..shared_data import SAMPLES, require
from .upload_helpers import wait_job


def _clickbait_with_heuristic_results() -> tuple[dict[str, Any], int]:
    raw = require(SAMPLES / "clickbait_initial.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        data: dict[str, Any] = json.loads(archive.read(archive.namelist()[0]))
    task = next(t for t in data["labeling_tasks_data"] if t["name"] == "clickbait")
    yes = next(lab for lab in data["labeling_task_labels_data"] if lab["name"] == "yes" and lab["labeling_task_id"] == task["id"])
    data["information_sources_data"] = [
        {
            "id": "lf-digit",
            "name": "starts_with_digit",
            "type": "LABELING_FUNCTION",
            "labeling_task_id": task["id"],
            "source_code": 'def starts_with_digit(record):\n    if record["headline"][0].is_digit:\n        return "yes"\n',
            "description": "",
        }
    ]
    votes = [
        {
            "id": f"vote-{r['id']}",
            "record_id": r["id"],
            "labeling_task_label_id": yes["id"],
            "source_type": "INFORMATION_SOURCE",
            "source_id": "lf-digit",
            "confidence": 1.0,
            "is_gold_star": False,
        }  # fmt: skip
        for r in data["records_data"]
        if r["data"]["headline"][:1].isdigit()
    ]
    data["record_label_associations_data"] = [*(data.get("record_label_associations_data") or []), *votes]
    assert data["project_details_data"]["tokenizer"] == "en_core_web_sm"
    return data, len(votes)


def test_missing_pipeline_warns_with_the_install_command_and_loses_nothing(client: TestClient, services: Any) -> None:
    services.start("tokenizer")
    data, hits = _clickbait_with_heuristic_results()
    response = client.post(
        "/api/v1/projects/import", files={"file": ("clickbait.json", json.dumps(data).encode(), "application/json")}
    )
    assert response.status_code == 202, response.text
    job = wait_job(client, response.json()["id"], 120)
    assert job["state"] == "done", job
    result = job["result"]
    assert result["tokenizer"] == "en" and result["heuristic_labels"] == hits
    assert any("python -m spacy download en_core_web_sm" in note for note in result["notes"]), result["notes"]
    pid = result["project_id"]

    project = client.get(f"/api/v1/projects/{pid}").json()
    assert len(project["warnings"]) == 1, project
    assert "'en_core_web_sm' is not installed" in project["warnings"][0]
    assert "python -m spacy download en_core_web_sm" in project["warnings"][0]
    listed = next(p for p in client.get("/api/v1/projects").json() if p["id"] == pid)
    assert listed["warnings"] == project["warnings"]

    for queued in client.get(f"/api/v1/projects/{pid}/jobs").json():  # the tokenization with the fallback pipeline
        assert wait_job(client, queued["id"], 180)["state"] == "done", queued
    heuristic = next(h for h in client.get(f"/api/v1/projects/{pid}/heuristics").json() if h["name"] == "starts_with_digit")
    assert heuristic["association_count"] == hits  # nothing imported was lost
    assert client.get(f"/api/v1/projects/{pid}/records", params={"limit": 1}).json()["items"]

    # choosing a tokenizer (here: keeping the blank one) ends the warning
    response = client.put(f"/api/v1/projects/{pid}/tokenizer", json={"tokenizer": "en"})
    assert response.status_code == 200, response.text
    assert client.get(f"/api/v1/projects/{pid}").json()["warnings"] == []
