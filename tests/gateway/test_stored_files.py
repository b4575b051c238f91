"""Stored uploads of jobs that never run are removed: at the cancel of a queued job, and by the start-up sweep."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.domain import stored_files
from shared_model import jobs
from shared_model.db import session_scope
from shared_model.models import JobState, User


def stored(name: str, age_s: float = 0.0) -> Path:
    folder = stored_files.uploads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{uuid.uuid4().hex}.snapshot"
    path.write_bytes(b"PK")
    if age_s:
        old = time.time() - age_s
        os.utime(path, (old, old))
    return path


def queue(kind: str, path: Path, owner: str = "nobody-claims-this") -> uuid.UUID:
    with session_scope() as session:
        admin = session.scalars(select(User).where(User.email == "admin@localhost")).one()
        job = jobs.enqueue(
            session, kind=kind, owner_service=owner, parameters={"path": str(path), "filename": "x"}, created_by=admin.id
        )
        return job.id


def test_cancelling_a_queued_import_removes_its_stored_file(client: TestClient) -> None:
    path = stored("queued")
    job_id = queue("snapshot_import", path)
    response = client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["state"] == JobState.CANCELLED.value
    assert not path.exists()
    # a job of another kind never has its "path" removed, nor a path outside the uploads folder
    elsewhere = stored_files.uploads_dir().parent / f"elsewhere-{uuid.uuid4().hex}"
    elsewhere.write_bytes(b"keep")
    other = queue("upload", elsewhere)
    assert client.post(f"/api/v1/jobs/{other}/cancel").status_code == 200
    assert elsewhere.exists()
    elsewhere.unlink()


def test_the_sweep_removes_old_files_that_no_live_job_names(client: TestClient) -> None:
    orphan, fresh, needed = stored("orphan", age_s=7200), stored("fresh"), stored("needed", age_s=7200)
    queue("upload", needed)
    removed = stored_files.sweep()
    assert orphan in removed and not orphan.exists()
    assert fresh.exists() and needed.exists()  # an upload may still be arriving; a queued job still needs its file
    fresh.unlink()
    needed.unlink()
