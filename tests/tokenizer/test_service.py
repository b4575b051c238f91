"""The tokenizer service as a real process: the project job, incremental runs, the priority path and tokens."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import spacy
from sqlalchemy import func, select, update

from shared_model.db import session_scope
from shared_model.jobs import wait_for_job
from shared_model.models import Attribute, AttributeState, DataType, JobState, Project, Record, RecordTokenized
from shared_model.service import service_headers
from tokenizer.docbin import decode

pytestmark = pytest.mark.integration


def make_project(texts: list[str], tokenizer: str = "en") -> tuple[uuid.UUID, list[int]]:
    with session_scope() as session:
        project = Project(name=f"tok {uuid.uuid4().hex[:6]}", tokenizer=tokenizer)
        session.add(project)
        session.flush()
        session.add_all(
            [
                Attribute(project_id=project.id, name="id", data_type=DataType.INTEGER, relative_position=0, is_primary_key=True),
                Attribute(project_id=project.id, name="headline", data_type=DataType.TEXT, relative_position=1),
            ]
        )
        records = [Record(project_id=project.id, data={"id": i, "headline": t}) for i, t in enumerate(texts)]
        session.add_all(records)
        session.flush()
        return project.id, [r.id for r in records]


def run_job(url: str, project_id: uuid.UUID) -> dict[str, Any]:
    response = httpx.post(f"{url}/tokenize_project", json={"project_id": str(project_id)}, timeout=30, headers=service_headers())
    assert response.status_code == 202, response.text
    job = wait_for_job(uuid.UUID(response.json()["job_id"]), timeout_s=60)
    assert job.state == JobState.DONE, job.error
    return job.result


def stored(project_id: uuid.UUID) -> dict[int, RecordTokenized]:
    with session_scope() as session:
        rows = session.scalars(select(RecordTokenized).where(RecordTokenized.project_id == project_id)).all()
        for row in rows:
            session.expunge(row)
        return {row.record_id: row for row in rows}


def test_project_job_is_incremental_and_follows_tokenizer_changes(services: Any, clean_db: str) -> None:
    url = services.start("tokenizer").url
    texts = [f"Record number {i} says hello, world!" for i in range(7)]
    project_id, ids = make_project(texts)

    result = run_job(url, project_id)
    assert result["tokenized"] == 7 and result["columns"] == ["headline"] and result["runner"] == "local"
    rows = stored(project_id)
    assert set(rows) == set(ids)
    nlp = spacy.blank("en")
    doc = decode(rows[ids[3]].bytes, nlp)[0]
    assert doc.text == texts[3] and [t.text for t in doc][-3:] == [",", "world", "!"]

    # nothing stale: nothing to do
    assert run_job(url, project_id)["tokenized"] == 0
    # a new record: only it
    with session_scope() as session:
        new = Record(project_id=project_id, data={"id": 99, "headline": "brand new"})
        session.add(new)
        session.flush()
        new_id = new.id
    assert run_job(url, project_id)["tokenized"] == 1
    assert new_id in stored(project_id)
    # a new text attribute: every record gets both columns
    with session_scope() as session:
        session.add(Attribute(project_id=project_id, name="body", data_type=DataType.TEXT, relative_position=2))
        with_body = func.jsonb_set(Record.data, "{body}", '"x y"')
        session.execute(update(Record).where(Record.project_id == project_id).values(data=with_body))
    assert run_job(url, project_id)["tokenized"] == 8
    assert {tuple(r.columns) for r in stored(project_id).values()} == {("headline", "body")}
    # a calculated text attribute counts once it has values: not while INITIAL or RUNNING, nor when it FAILED
    with session_scope() as session:
        calculated = Attribute(
            project_id=project_id, name="summary", data_type=DataType.TEXT, relative_position=3, state=AttributeState.FAILED
        )
        session.add(calculated)
    assert run_job(url, project_id)["tokenized"] == 0
    with session_scope() as session:
        session.execute(update(Attribute).where(Attribute.name == "summary").values(state=AttributeState.USABLE))
    assert run_job(url, project_id)["tokenized"] == 8
    assert {tuple(r.columns) for r in stored(project_id).values()} == {("headline", "body", "summary")}
    # another tokenizer: everything again
    with session_scope() as session:
        session.execute(update(Project).where(Project.id == project_id).values(tokenizer="de"))
    assert run_job(url, project_id)["tokenized"] == 8
    assert {r.tokenizer for r in stored(project_id).values()} == {"de"}


def test_unknown_tokenizer_fails_the_job_with_its_name(services: Any, clean_db: str) -> None:
    url = services.start("tokenizer").url
    project_id, _ = make_project(["a b"], tokenizer="xx_no_such_pipeline")
    response = httpx.post(f"{url}/tokenize_project", json={"project_id": str(project_id)}, timeout=30, headers=service_headers())
    job = wait_for_job(uuid.UUID(response.json()["job_id"]), timeout_s=60)
    assert job.state == JobState.FAILED and "xx_no_such_pipeline" in (job.error or "")


def test_priority_path_and_tokens(services: Any, clean_db: str) -> None:
    url = services.start("tokenizer").url
    project_id, ids = make_project(["T. Rowe Price (TROW) Dips", "second"])
    assert stored(project_id) == {}
    # tokens on demand tokenize and store the record
    body = httpx.get(
        f"{url}/records/{ids[0]}/tokens", params={"attribute": "headline"}, timeout=30, headers=service_headers()
    ).json()
    tokens = body["attributes"]["headline"]["tokens"]
    assert [t["text"] for t in tokens] == ["T.", "Rowe", "Price", "(", "TROW", ")", "Dips"]
    assert tokens[3] == {"i": 3, "text": "(", "idx": 14, "end": 15, "whitespace": "", "ent_type": None}
    assert set(stored(project_id)) == {ids[0]}
    response = httpx.post(f"{url}/tokenize_record", json={"record_id": ids[1]}, timeout=30, headers=service_headers())
    assert response.json() == {"record_id": ids[1], "columns": ["headline"], "tokenizer": "en"}
    assert set(stored(project_id)) == set(ids)

    missing = httpx.get(f"{url}/records/{ids[0]}/tokens", params={"attribute": "nope"}, timeout=30, headers=service_headers())
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    not_text = httpx.get(f"{url}/records/{ids[0]}/tokens", params={"attribute": "id"}, timeout=30, headers=service_headers())
    assert not_text.status_code == 422 and "INTEGER" in not_text.json()["detail"]
    assert (
        httpx.post(f"{url}/tokenize_record", json={"record_id": 10**12}, timeout=30, headers=service_headers()).status_code == 404
    )


def test_validate_tokenizer(services: Any, clean_db: str) -> None:
    url = services.start("tokenizer").url
    ok = httpx.post(f"{url}/validate_tokenizer", json={"tokenizer": "de"}, timeout=30, headers=service_headers())
    assert ok.status_code == 200 and ok.json()["kind"] == "blank"
    bad = httpx.post(f"{url}/validate_tokenizer", json={"tokenizer": "en_core_web_sm"}, timeout=30, headers=service_headers())
    assert bad.status_code == 422 and "en_core_web_sm" in bad.json()["detail"]


def test_tokenize_texts_stores_nothing(services: Any, clean_db: str) -> None:
    url = services.start("tokenizer").url
    project_id, ids = make_project(["kept as it is"])
    response = httpx.post(
        f"{url}/tokenize_texts", json={"tokenizer": "en", "texts": ["T. Rowe Price", ""]}, timeout=30, headers=service_headers()
    )
    assert response.status_code == 200, response.text
    first, empty = response.json()["tokens"]
    assert [(t["text"], t["idx"], t["end"]) for t in first] == [("T.", 0, 2), ("Rowe", 3, 7), ("Price", 8, 13)]
    assert empty == [] and stored(project_id) == {}
    unknown = httpx.post(
        f"{url}/tokenize_texts", json={"tokenizer": "xx_nope", "texts": ["a"]}, timeout=30, headers=service_headers()
    )
    assert unknown.status_code == 422
    too_many = httpx.post(
        f"{url}/tokenize_texts", json={"tokenizer": "en", "texts": ["a"] * 101}, timeout=30, headers=service_headers()
    )
    assert too_many.status_code == 422
