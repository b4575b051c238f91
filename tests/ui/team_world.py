"""The small world of the team e2e tests: a project with a text attribute, records and a two-label sentiment task."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared_model.db import session_scope
from shared_model.models import Attribute, DataType, Record

TEXTS = ["great phone", "awful service", "fast delivery", "broken on arrival"]


def sentiment_project(api: httpx.Client, name: str, texts: list[str] = TEXTS) -> tuple[str, dict[str, Any]]:
    """A new project with the records and a task "sentiment" (positive: hotkey 1, negative: 2): (project id, task)."""
    pid: str = api.post("/api/v1/projects", json={"name": f"{name} {uuid.uuid4().hex[:6]}"}).json()["id"]
    with session_scope() as session:
        session.add(Attribute(project_id=uuid.UUID(pid), name="text", data_type=DataType.TEXT, relative_position=0))
        session.add_all([Record(project_id=uuid.UUID(pid), data={"text": t}) for t in texts])
    task: dict[str, Any] = api.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={
            "name": "sentiment",
            "task_type": "MULTICLASS_CLASSIFICATION",
            "attribute": None,
            "labels": [{"name": "positive", "hotkey": "1"}, {"name": "negative", "hotkey": "2"}],
        },
    ).json()
    return pid, task
