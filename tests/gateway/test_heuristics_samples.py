"""The conversational_ai sample snapshot's labeling functions run unchanged (with their lookup lists) in the sandbox."""

from __future__ import annotations

import json
import re
import sys
import types
import uuid
import zipfile
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from shared_model.db import session_scope
from shared_model.heuristic_results import ASSOCIATIONS
from shared_model.jobs import wait_for_job
from shared_model.models import Label

from ..executor.factory import add_lookup_list, add_records, add_task
from ..shared_data import SAMPLES, require

SAMPLE = SAMPLES / "conversational_ai.zip"
RECORDS = 300


def python_name(name: str) -> str:
    """The lookup-list module name rule: lower-case, spaces to _, other non-word characters removed, _ before a digit."""
    value = re.sub(r"[^\w]", "", name.lower().replace(" ", "_"))
    return f"_{value}" if value[:1].isdigit() else value


def load_snapshot() -> dict[str, Any]:
    with zipfile.ZipFile(require(SAMPLE)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".json"))
        snapshot: dict[str, Any] = json.loads(archive.read(name))
        return snapshot


def expected(code: str, knowledge: dict[str, list[str]], texts: list[str]) -> list[str | None]:
    """The function applied outside any sandbox, as the original did."""
    module = types.ModuleType("knowledge")
    for key, terms in knowledge.items():
        setattr(module, key, terms)
    sys.modules["knowledge"] = module
    try:
        namespace: dict[str, Any] = {}
        exec(code, namespace)  # noqa: S102 - the sample's own code, compared with the sandboxed run
        return [namespace["lf"]({"text": types.SimpleNamespace(text=t)}) for t in texts]
    finally:
        del sys.modules["knowledge"]


def test_conversational_ai_labeling_functions_run_unchanged(client: TestClient, services: Any) -> None:
    services.start("executor")
    snapshot = load_snapshot()
    project = client.post("/api/v1/projects", json={"name": "Conversational AI", "tokenizer": "en"}).json()
    texts = [r["data"]["text"] for r in snapshot["records_data"][:RECORDS]]
    data = add_records(uuid.UUID(project["id"]), texts)
    task = next(t for t in snapshot["labeling_tasks_data"] if t["task_type"] == "MULTICLASS_CLASSIFICATION")
    labels = [lbl["name"] for lbl in snapshot["labeling_task_labels_data"] if lbl["labeling_task_id"] == task["id"]]
    add_task(data, task["name"], labels)
    knowledge: dict[str, list[str]] = {}
    for base in snapshot["knowledge_bases_data"]:
        terms = [t["value"] for t in snapshot["terms_data"] if t["knowledge_base_id"] == base["id"] and not t["blacklisted"]]
        add_lookup_list(data.project_id, base["name"], python_name(base["name"]), terms)
        knowledge[python_name(base["name"])] = terms
    functions = [s for s in snapshot["information_sources_data"] if s["type"] == "LABELING_FUNCTION"]
    assert len(functions) == 11  # the twelfth source of the snapshot is an active learner, not code run here
    url = f"/api/v1/projects/{data.project_id}/heuristics"
    created = {}
    for source in functions:
        body = {"labeling_task_id": str(data.tasks[task["name"]]), "name": source["name"], "source_code": source["source_code"]}
        response = client.post(url, json=body)
        assert response.status_code == 201, response.text
        created[response.json()["id"]] = source
    sample = client.post(f"{url}/{next(iter(created))}/sample", json={"sample_size": 10}).json()
    assert sample["error"] is None and len(sample["records"]) == 10
    assert all(r["error"] is None for r in sample["records"])

    started = client.post(f"{url}/runs", json={"heuristic_ids": list(created)})
    assert started.status_code == 202, started.text
    job = wait_for_job(uuid.UUID(started.json()["job"]["id"]), timeout_s=300)
    assert str(job.state) == "done", job.error
    ids = data.record_ids
    hits = 0
    with session_scope() as session:
        names = dict(session.execute(select(Label.id, Label.name)).tuples().all())
        for heuristic_id, source in created.items():
            rows = session.execute(
                text(f"SELECT record_id, label_id FROM {ASSOCIATIONS} WHERE source_id = :s"), {"s": uuid.UUID(heuristic_id)}
            ).all()
            got = {record_id: names[label_id] for record_id, label_id in rows}
            want = expected(source["source_code"], knowledge, texts)
            assert got == {ids[i]: label for i, label in enumerate(want) if label is not None}, source["name"]
            hits += len(got)
    assert hits > 50
