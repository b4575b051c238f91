"""Text PostgreSQL cannot store (U+0000, lone surrogates) and JSON nested too deeply: a 4xx naming the field, never a
500 and never a half-stored change — through every request schema, the URL, the upload readers and the snapshot."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ..shared_data import SAMPLES, require
from .upload_helpers import counts, post_file, upload_failed, upload_ok

NUL = "\u0000"
EMPTY = {"record": 0, "attribute": 0, "labeling_task": 0, "label": 0, "record_label_association": 0}


def refused(response: Any, *words: str) -> str:
    assert response.status_code == 422, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    for word in ("NUL", *words):
        assert word in detail, detail
    return detail


def test_nul_in_request_bodies_is_refused_naming_the_field(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    refused(client.post("/api/v1/projects", json={"name": f"a{NUL}b"}), "name")
    refused(client.patch(f"/api/v1/projects/{pid}", json={"description": f"x{NUL}"}), "description")
    detail = refused(
        client.post(f"/api/v1/projects/{pid}/labeling-tasks", json={"name": "t", "labels": [{"name": "ok"}, {"name": NUL}]}),
        "labels[1].name",
    )
    assert "labels[1].name" in detail
    assert client.get(f"/api/v1/projects/{pid}/labeling-tasks").json() == []
    task = client.post(f"/api/v1/projects/{pid}/labeling-tasks", json={"name": "task", "labels": [{"name": "a"}]}).json()
    refused(client.post(f"/api/v1/projects/{pid}/labeling-tasks/{task['id']}/labels", json={"name": f"b{NUL}"}), "name")
    refused(
        client.post(f"/api/v1/projects/{pid}/comments", json={"target_type": "PROJECT", "target_id": pid, "body": f"hi {NUL}"}),
        "body",
    )
    lookup = client.post(f"/api/v1/projects/{pid}/lookup-lists", json={"name": "words"})
    assert lookup.status_code == 201, lookup.text
    lid = lookup.json()["id"]
    refused(client.post(f"/api/v1/projects/{pid}/lookup-lists/{lid}/terms", json={"terms": [{"value": f"x{NUL}"}]}), "value")
    refused(client.post(f"/api/v1/projects/{pid}/lookup-lists/{lid}/terms/paste", json={"text": f"a\nb{NUL}"}), "text")
    response = client.post(
        f"/api/v1/projects/{pid}/lookup-lists/{lid}/terms/csv", content=f"value\nok\nbad{NUL}\n".encode(),
        headers={"content-type": "text/csv"},
    )  # fmt: skip
    refused(response, "row 3")
    assert client.get(f"/api/v1/projects/{pid}/lookup-lists/{lid}").json()["term_count"] == 0
    refused(
        client.post(
            f"/api/v1/projects/{pid}/heuristics",
            json={"labeling_task_id": task["id"], "name": "lf", "source_code": f"def lf(r):\n    return '{NUL}'\n"},
        ),
        "source_code",
    )
    # a lone surrogate has no UTF-8 form either
    response = client.post("/api/v1/projects", content=b'{"name": "x\\ud800"}', headers={"content-type": "application/json"})
    assert response.status_code == 422 and "surrogate" in response.json()["detail"], response.text


def test_nul_in_the_url_is_refused_naming_the_parameter(client: TestClient, project: dict[str, Any]) -> None:
    response = client.get(f"/api/v1/projects/{project['id']}/records", params={"after": "1\x00"})
    refused(response, "'after'")
    response = client.get(f"/api/v1/projects/{project['id']}/lookup-lists/%00")
    refused(response, "path")


def test_deeply_nested_request_body_names_the_limit(client: TestClient) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/projects", content=f'{{"name": "x", "description": {deep}}}'.encode(),
                           headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 422, response.text
    assert "nested deeper than the limit of 64 levels" in response.json()["detail"]
    medium = json.dumps({"name": "x", "labels": [{"name": "a", "color": json.loads("[" * 80 + "]" * 80)}]})
    response = client.post("/api/v1/projects", content=medium.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 422 and "limit of 64 levels" in response.json()["detail"], response.text


def test_nul_in_uploads_is_refused_naming_row_and_column(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    for filename, content in [
        ("nul.csv", b"id,text\n1,fine\n2,bad\x00text\n"),
        ("nul.json", json.dumps([{"id": 1, "text": "fine"}, {"id": 2, "text": f"bad{NUL}"}]).encode()),
        ("nul.jsonl", (json.dumps({"id": 1, "text": "fine"}) + "\n" + json.dumps({"id": 2, "text": NUL}) + "\n").encode()),
    ]:
        response = post_file(client, pid, filename, content)
        detail = refused(response, filename, "row 2", "column 'text'")
        assert "UTF-8" not in detail, detail
    refused(post_file(client, pid, "header.csv", b"id,te\x00xt\n1,a\n"), "header.csv")
    refused(post_file(client, pid, "key.json", json.dumps([{"id": 1, f"a{NUL}": "x"}]).encode()), "key.json")
    assert counts(pid) == EMPTY


def test_nul_late_in_a_csv_fails_the_job_naming_row_and_column(client: TestClient, project: dict[str, Any]) -> None:
    rows = [b"id,text\n"] + [f"{i},text {i}\n".encode() for i in range(1, 1500)] + [b"1500,bad\x00\n"]
    error = upload_failed(client, project["id"], "late.csv", b"".join(rows))
    assert "late.csv: row 1500" in error and "NUL" in error and "UTF-8" not in error, error
    assert counts(project["id"]) == EMPTY


def test_nul_in_xlsx_is_refused(client: TestClient, project: dict[str, Any]) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["id", "text"])
    sheet.append([1, "fine"])
    sheet.append([2, "PLACEHOLDER"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    # openpyxl refuses to write a NUL: put one into the stored XML as a hostile file would (XML 1.0 has no NUL, so the
    # sheet cannot be parsed: refused naming the row, where this used to be a 500)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, data.replace(b"PLACEHOLDER", b"bad&#0;text"))
    response = post_file(client, project["id"], "nul.xlsx", patched.getvalue())
    assert response.status_code == 422, response.text
    assert "nul.xlsx: row 2: the worksheet cannot be read" in response.json()["detail"]
    assert counts(project["id"]) == EMPTY


def test_deeply_nested_json_upload_names_the_limit(client: TestClient, project: dict[str, Any]) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for filename, content in [
        ("deep.json", f'[{{"id": 1, "text": "a"}}, {{"id": 2, "text": {deep}}}]'),
        ("deep.jsonl", f'{{"id": 1, "text": "a"}}\n{{"id": 2, "text": {deep}}}\n'),
    ]:
        response = post_file(client, project["id"], filename, content.encode())
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert f"{filename}: row 2" in detail and "limit of 64 levels" in detail, detail
    assert counts(project["id"]) == EMPTY


def _snapshot_zip(data: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("snapshot.json", json.dumps(data))
    return buffer.getvalue()


def _clickbait() -> dict[str, Any]:
    raw = require(SAMPLES / "clickbait_initial.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        data: dict[str, Any] = json.loads(archive.read(archive.namelist()[0]))
    return data


@pytest.mark.parametrize(
    ("key", "field"),
    [("records_data", "data.headline"), ("labeling_task_labels_data", "name"), ("labeling_tasks_data", "name")],
)
def test_nul_in_a_snapshot_is_refused_naming_row_and_field(client: TestClient, key: str, field: str) -> None:
    data = _clickbait()
    row = data[key][1]
    if field == "data.headline":
        row["data"]["headline"] += NUL
    else:
        row[field] += NUL
    before = len(client.get("/api/v1/projects").json())
    response = client.post("/api/v1/projects/import", files={"file": ("nul.zip", _snapshot_zip(data), "application/zip")})
    detail = refused(response, f"{key}[1] (id {row['id']!r}).{field}")
    assert len(client.get("/api/v1/projects").json()) == before, detail


def test_deeply_nested_snapshot_names_the_limit(client: TestClient) -> None:
    data = _clickbait()
    text = json.dumps(data)
    nested = "[" * 100_000 + "]" * 100_000
    deep = text.replace('"project_details_data": {', f'"deep": {nested}, "project_details_data": {{', 1)
    response = client.post("/api/v1/projects/import", files={"file": ("deep.json", deep.encode(), "application/json")})
    assert response.status_code == 422, response.text
    assert "limit of 64 levels" in response.json()["detail"]


def test_ordinary_text_still_passes(client: TestClient, project: dict[str, Any]) -> None:
    job = upload_ok(client, project["id"], "ok.csv", "id,text\n1,caf\u00e9 \\0 \U0001f600\n".encode())
    assert job["result"]["records"] == 1
