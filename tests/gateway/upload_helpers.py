"""Helpers of the upload, records and export tests: upload a file, wait for its job, read records and exports."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from fastapi.testclient import TestClient

FINAL = {"done", "failed", "cancelled"}


def post_file(client: TestClient, project_id: str, filename: str, content: bytes) -> Any:
    """POST a file as multipart field ``file``; returns the response."""
    return client.post(f"/api/v1/projects/{project_id}/upload", files={"file": (filename, content, "application/octet-stream")})


def wait_job(client: TestClient, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Poll a job until it is final."""
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in FINAL:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {timeout_s} s"
        time.sleep(0.05)


def upload_ok(client: TestClient, project_id: str, filename: str, content: bytes) -> dict[str, Any]:
    """Upload and wait; asserts the job succeeded and returns it."""
    response = post_file(client, project_id, filename, content)
    assert response.status_code == 202, response.text
    job = wait_job(client, response.json()["id"])
    assert job["state"] == "done", job
    return job


def upload_failed(client: TestClient, project_id: str, filename: str, content: bytes) -> str:
    """Upload a file whose problem only the job finds; returns the job's error."""
    response = post_file(client, project_id, filename, content)
    assert response.status_code == 202, response.text
    job = wait_job(client, response.json()["id"])
    assert job["state"] == "failed", job
    error: str = job["error"]
    return error


def all_records(client: TestClient, project_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    """Every record, page by page."""
    items: list[dict[str, Any]] = []
    after: int | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        page = client.get(f"/api/v1/projects/{project_id}/records", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        items.extend(body["items"])
        after = body["next_after"]
        if after is None:
            return items


def export(client: TestClient, project_id: str, fmt: str = "json", *, raw: bool = False) -> list[dict[str, Any]]:
    """The export parsed back into a list of dicts (CSV cells stay strings; ``raw``: without formula escaping)."""
    response = client.get(f"/api/v1/projects/{project_id}/export", params={"format": fmt, "raw": str(raw).lower()})
    assert response.status_code == 200, response.text
    if fmt == "json":
        data: list[dict[str, Any]] = json.loads(response.text)
        return data
    if fmt == "jsonl":
        return [json.loads(line) for line in response.text.splitlines() if line]
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def counts(project_id: str) -> dict[str, int]:
    """Rows of the project in records, attributes, tasks, labels and label associations (straight from Postgres)."""
    from sqlalchemy import text

    from shared_model.db import get_engine

    out = {}
    with get_engine().connect() as conn:
        for table in ("record", "attribute", "labeling_task", "label", "record_label_association"):
            out[table] = int(
                conn.execute(text(f"SELECT count(*) FROM {table} WHERE project_id = :p"), {"p": project_id}).scalar_one()
            )
    return out
