"""CSV fields have a limit that is a setting (refused naming row and column, early or late in the file, never cut), and
the delimiter is found outside quoted header names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared_model.settings import get_settings

from .upload_helpers import all_records, counts, post_file, upload_failed, upload_ok

EMPTY = {"record": 0, "attribute": 0, "labeling_task": 0, "label": 0, "record_label_association": 0}


@pytest.fixture()
def field_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("REFINERY_UPLOAD_MAX_FIELD_LENGTH", "5000")
    get_settings.cache_clear()
    yield 5000
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_field_over_128_kib_is_stored_whole(client: TestClient, project: dict[str, Any]) -> None:
    big = "x" * 200_000
    rows = "id,text\n" + f"1,{big}\n" + "".join(f"{i},t{i}\n" for i in range(2, 1500)) + f"1500,{big}y\n"
    upload_ok(client, project["id"], "big.csv", rows.encode())
    texts = {r["data"]["id"]: r["data"]["text"] for r in all_records(client, project["id"])}
    assert texts[1] == big and texts[1500] == big + "y"


def test_a_field_over_the_setting_is_refused_naming_row_and_column(
    client: TestClient, project: dict[str, Any], field_limit: int
) -> None:
    long = "y" * (field_limit + 1)
    response = post_file(client, project["id"], "early.csv", f"id,text\n1,ok\n2,{long}\n".encode())
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "early.csv: row 2, column 'text'" in detail and f"limit of {field_limit} characters" in detail, detail
    assert "upload_max_field_length" in detail

    # far longer: the reader stops at the limit (never holding the field) and still names the column
    huge = "z" * (3 * field_limit)
    response = post_file(client, project["id"], "huge.csv", f'id,note,text\n1,"a, ""b""",ok\n2,"c, d","{huge}"\n'.encode())
    assert response.status_code == 422, response.text
    assert "huge.csv: row 2, column 'text'" in response.json()["detail"], response.json()["detail"]
    response = post_file(client, project["id"], "name.csv", f"id,{huge}\n1,2\n".encode())
    assert response.status_code == 422 and "name.csv: the value is longer" in response.json()["detail"], response.text

    rows = "id,text\n" + "".join(f"{i},t{i}\n" for i in range(1, 1500)) + f"1500,{long}\n"
    error = upload_failed(client, project["id"], "late.csv", rows.encode())
    assert "late.csv: row 1500, column 'text'" in error and f"limit of {field_limit} characters" in error, error
    assert counts(project["id"]) == EMPTY

    response = post_file(client, project["id"], "long.json", f'[{{"id": 1, "text": "{long}"}}]'.encode())
    assert response.status_code == 422 and "long.json: row 1, column 'text'" in response.json()["detail"], response.text
    upload_ok(client, project["id"], "fits.csv", f"id,text\n1,{'z' * field_limit}\n".encode())


def test_semicolon_file_with_commas_in_quoted_headers(client: TestClient, project: dict[str, Any]) -> None:
    content = 'id;"name, first";"city, country"\n1;Ada;"London, UK"\n2;Alan;Wilmslow\n'
    job = upload_ok(client, project["id"], "semi.csv", content.encode())
    assert set(job["result"]["attributes"]) == {"id", "name, first", "city, country"}
    records = sorted(all_records(client, project["id"]), key=lambda r: r["data"]["id"])
    assert records[0]["data"]["city, country"] == "London, UK" and records[1]["data"]["name, first"] == "Alan"
