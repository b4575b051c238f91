"""Bad input: a 4xx problem naming the file, row and column, or a failed job with that reason; never partial data."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared_model.settings import get_settings

from .upload_helpers import counts, post_file, upload_failed

EMPTY = {"record": 0, "attribute": 0, "labeling_task": 0, "label": 0, "record_label_association": 0}


def rejected(client: TestClient, project: dict[str, Any], filename: str, content: bytes, status: int = 422) -> str:
    """Upload a file that must be refused at once; returns the problem's detail (which names the file)."""
    response = post_file(client, project["id"], filename, content)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    assert filename in detail
    assert counts(project["id"]) == EMPTY
    return detail


@pytest.fixture()
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REFINERY_UPLOAD_MAX_BYTES", "2048")
    monkeypatch.setenv("REFINERY_UPLOAD_MAX_COLUMNS", "5")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_unknown_extension(client: TestClient, project: dict[str, Any]) -> None:
    detail = rejected(client, project, "data.parquet", b"PAR1", 415)
    assert "'.parquet'" in detail


def test_empty_files(client: TestClient, project: dict[str, Any]) -> None:
    assert "empty" in rejected(client, project, "empty.csv", b"")
    assert "no rows" in rejected(client, project, "header_only.csv", b"a,b\n")
    assert "empty" in rejected(client, project, "empty.json", b"[]")
    assert "empty" in rejected(client, project, "blank.jsonl", b"\n\n")


def test_malformed_files(client: TestClient, project: dict[str, Any]) -> None:
    assert "row 2" in rejected(client, project, "bad.json", b'[{"a": 1}, {"a": 2,,}]')
    assert "row 2" in rejected(client, project, "bad.jsonl", b'{"a": 1}\n{"a": \n')
    assert "JSON object" in rejected(client, project, "scalars.json", b"[1, 2]")
    assert "array" in rejected(client, project, "object.json", b'{"a": 1}')
    assert "XLSX" in rejected(client, project, "bad.xlsx", b"this is not a zip file")
    assert "row 1" in rejected(client, project, "quote.csv", b'a,b\n"x,1\n')


def test_undecodable_text(client: TestClient, project: dict[str, Any]) -> None:
    latin1 = "name,city\nJosé,Köln\n".encode("latin-1")
    assert "UTF-8" in rejected(client, project, "latin1.csv", latin1)
    assert "UTF-8" in rejected(client, project, "latin1.jsonl", '{"name": "José"}\n'.encode("latin-1"))


def test_undecodable_text_late_fails_the_job_naming_the_row(client: TestClient, project: dict[str, Any]) -> None:
    rows = [b"id,text\n"] + [f"{i},text {i}\n".encode() for i in range(1, 1500)] + [b"1500,caf\xe9\n"]
    error = upload_failed(client, project["id"], "late.csv", b"".join(rows))
    assert "late.csv" in error and "row 1500" in error and "UTF-8" in error
    assert counts(project["id"]) == EMPTY


def test_duplicate_and_empty_column_names(client: TestClient, project: dict[str, Any]) -> None:
    assert "duplicate column name 'a'" in rejected(client, project, "dup.csv", b"a,b,a\n1,2,3\n")
    assert "column 2 has an empty name" in rejected(client, project, "noname.csv", b"a,,c\n1,2,3\n")
    assert "column 1 has an empty name" in rejected(client, project, "noname.json", b'[{"": 1}]')


def test_ragged_rows(client: TestClient, project: dict[str, Any]) -> None:
    detail = rejected(client, project, "ragged.csv", b"a,b,c\n1,2,3\n4,5\n")
    assert "row 2" in detail and "3 columns" in detail
    detail = rejected(client, project, "ragged.json", b'[{"a": 1}, {"a": 2, "b": 3}]')
    assert "row 2" in detail and "column 'b'" in detail


def test_ragged_row_late_rolls_everything_back(client: TestClient, project: dict[str, Any]) -> None:
    rows = ["text,text__task"] + [f"text {i},{'yes' if i % 2 else 'no'}" for i in range(1, 1400)] + ["text 1400,no,extra"]
    error = upload_failed(client, project["id"], "late.csv", ("\n".join(rows) + "\n").encode())
    assert "late.csv: row 1400" in error and "2 columns" in error
    assert counts(project["id"]) == EMPTY


def test_file_over_the_size_limit(client: TestClient, project: dict[str, Any], limits: None) -> None:
    big = b"a,b\n" + b"1,2\n" * 1000
    detail = rejected(client, project, "big.csv", big, 413)
    assert "2048 bytes" in detail


def test_too_many_columns(client: TestClient, project: dict[str, Any], limits: None) -> None:
    detail = rejected(client, project, "wide.csv", b"a,b,c,d,e,f\n1,2,3,4,5,6\n")
    assert "6 columns" in detail and "limit of 5" in detail


def test_nested_values(client: TestClient, project: dict[str, Any]) -> None:
    detail = rejected(client, project, "nested.json", json.dumps([{"a": 1, "b": "x"}, {"a": 2, "b": {"c": 1}}]).encode())
    assert "row 2" in detail and "column 'b'" in detail and "nested" in detail
    detail = rejected(client, project, "nested.jsonl", b'{"a": [1, 2]}\n')
    assert "row 1" in detail and "column 'a'" in detail


def test_nested_value_late_fails_the_job(client: TestClient, project: dict[str, Any]) -> None:
    rows = [{"text": f"t{i}", "text__task": "x"} for i in range(1200)] + [{"text": ["a"], "text__task": "y"}]
    error = upload_failed(client, project["id"], "late.json", json.dumps(rows).encode())
    assert "late.json: row 1201, column 'text'" in error and "nested" in error
    assert counts(project["id"]) == EMPTY


def test_xlsx_value_without_header(client: TestClient, project: dict[str, Any]) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["a", "b"])
    sheet.append([1, 2, 3])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert "row 1" in rejected(client, project, "extra.xlsx", buffer.getvalue())


def test_not_multipart(client: TestClient, project: dict[str, Any]) -> None:
    response = client.post(
        f"/api/v1/projects/{project['id']}/upload", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"}
    )
    assert response.status_code == 415
    response = client.post(f"/api/v1/projects/{project['id']}/upload", files={"other": ("x.csv", b"a\n1\n")})
    assert response.status_code == 422 and "'file'" in response.json()["detail"]


def test_json_array_edges(client: TestClient, project: dict[str, Any]) -> None:
    assert "must start with '['" in rejected(client, project, "blank.json", b"  \n")
    assert "unexpected data after the JSON array" in rejected(client, project, "trail.json", b'[{"a": 1}] [')
    assert "expected ',' or ']' after the object" in rejected(client, project, "nocomma.json", b'[{"a": 1} {"a": 2}]')
    assert "row 3" in rejected(client, project, "third.json", b'[{"a": 1},\n {"a": 2},\n {"a": ]')
    big = b"[" + b",".join(b'{"a": "%s"}' % (b"x" * 1000) for _ in range(3000)) + b"]"  # more than one read window
    error = upload_failed(client, project["id"], "late.json", big[:-1] + b", [1]]")  # found by the job, past the head
    assert "row 3001" in error and "expected a JSON object, found list" in error
    assert counts(project["id"]) == EMPTY
