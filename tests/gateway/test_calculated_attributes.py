"""Calculated attributes and the record IDE through the gateway with the real executor service."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shared_model.db import session_scope
from shared_model.jobs import wait_for_job
from shared_model.models import Job, Record

from ..executor.factory import Data, add_records


@pytest.fixture()
def data(client: TestClient, project: dict[str, Any], services: Any) -> Data:
    services.start("executor")
    return add_records(uuid.UUID(project["id"]), ["Hello World", "spaCy makes Docs", "third"])


def url(data: Data) -> str:
    return f"/api/v1/projects/{data.project_id}/attributes/calculated"


def values(data: Data, name: str) -> list[Any]:
    with session_scope() as session:
        records = session.scalars(select(Record).where(Record.project_id == data.project_id).order_by(Record.id))
        return [r.data.get(name) for r in records]


def test_integer_attribute_sample_and_full_run(client: TestClient, data: Data) -> None:
    code = 'def ac(record):\n    return len(record["text"])\n'  # token count: needs the Doc
    created = client.post(url(data), json={"name": "n_tokens", "data_type": "INTEGER", "source_code": code})
    assert created.status_code == 201, created.text
    attribute = created.json()
    assert attribute["state"] == "INITIAL"
    sample = client.post(f"{url(data)}/{attribute['id']}/sample", json={"record_ids": data.record_ids[:2]}).json()
    assert [r["result"] for r in sample["records"]] == [2, 3] and sample["error"] is None
    started = client.post(f"{url(data)}/{attribute['id']}/run")
    assert started.status_code == 202, started.text
    job = wait_for_job(uuid.UUID(started.json()["job"]["id"]), timeout_s=120)
    assert str(job.state) == "done", job.error
    assert values(data, "n_tokens") == [2, 3, 1]
    assert client.get(f"{url(data)}/{attribute['id']}").json()["state"] == "USABLE"
    assert client.post(f"{url(data)}/{attribute['id']}/run").status_code == 409


def test_wrong_types_fail_without_writing(client: TestClient, data: Data) -> None:
    code = 'def ac(record):\n    return record["text"].text if record["id"] != 1 else 5\n'
    attribute = client.post(url(data), json={"name": "label", "data_type": "CATEGORY", "source_code": code}).json()
    sample = client.post(f"{url(data)}/{attribute['id']}/sample", json={"record_ids": data.record_ids}).json()
    assert sample["records"][1]["error"] == "returned a int 5; a CATEGORY attribute needs a non-empty str"
    job_id = client.post(f"{url(data)}/{attribute['id']}/run").json()["job"]["id"]
    job = wait_for_job(uuid.UUID(job_id), timeout_s=120)
    assert str(job.state) == "failed" and f"record {data.record_ids[1]}" in (job.error or "")
    assert values(data, "label") == [None, None, None]
    body = client.get(f"{url(data)}/{attribute['id']}").json()
    assert body["state"] == "FAILED" and any("wrong type" in line for line in body["logs"])
    exported = client.get(f"/api/v1/projects/{data.project_id}/export", params={"format": "json"}).json()
    assert list(exported[0]) == ["id", "text"]  # a failed (or not yet run) calculated attribute has no column


def test_text_attribute_is_tokenized(client: TestClient, data: Data) -> None:
    code = 'def ac(record):\n    return record["text"].text.upper()\n'
    attribute = client.post(url(data), json={"name": "shout", "data_type": "TEXT", "source_code": code}).json()
    job_id = client.post(f"{url(data)}/{attribute['id']}/run").json()["job"]["id"]
    assert str(wait_for_job(uuid.UUID(job_id), timeout_s=120).state) == "done"
    assert values(data, "shout") == ["HELLO WORLD", "SPACY MAKES DOCS", "THIRD"]
    with session_scope() as session:
        kinds = [(j.kind, j.owner_service) for j in session.scalars(select(Job).where(Job.project_id == data.project_id))]
    assert ("tokenize_project", "tokenizer") in kinds


def test_bad_requests(client: TestClient, data: Data) -> None:
    assert client.post(url(data), json={"name": "text", "data_type": "TEXT"}).status_code == 409
    assert client.post(url(data), json={"name": "x", "data_type": "NUMBER"}).status_code == 422
    assert client.get(f"{url(data)}/{uuid.uuid4()}").status_code == 404


def test_record_ide(client: TestClient, data: Data) -> None:
    record_id = data.record_ids[1]
    ide = f"/api/v1/projects/{data.project_id}/records/{record_id}/ide"
    body = client.post(ide, json={"code": 'print([t.text for t in record["text"]])\nprint(record["id"])'}).json()
    assert body == {"record_id": record_id, "result": None, "stdout": "['spaCy', 'makes', 'Docs']\n1\n", "error": None}
    failing = client.post(ide, json={"code": "x = 1\nrecord['nope']"}).json()
    assert "KeyError: 'nope'" in failing["error"] and "line 2" in failing["error"]
    assert client.post(f"/api/v1/projects/{data.project_id}/records/999999/ide", json={"code": "print(1)"}).status_code == 404
