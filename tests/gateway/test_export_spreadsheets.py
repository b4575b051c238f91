"""Spreadsheet exports (CSV, XLSX) escape cells a spreadsheet program would run as formulas (OWASP CSV injection);
``raw=true`` writes the values as stored. XLSX text cells are never formulas."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi.testclient import TestClient

from .upload_helpers import upload_ok

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tlead tab", "\rlead cr", "plain", "a=b"]


def _upload(client: TestClient, pid: str) -> None:
    rows = [{"id": i, "note": text, "score": -1.5, "note__mood": "=evil" if i == 0 else "fine"} for i, text in enumerate(HOSTILE)]
    upload_ok(client, pid, "hostile.json", json.dumps(rows).encode())


def _csv(client: TestClient, pid: str, **params: Any) -> list[dict[str, str]]:
    response = client.get(f"/api/v1/projects/{pid}/export", params={"format": "csv", **params})
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def test_csv_export_escapes_formulas_unless_raw(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    _upload(client, pid)
    rows = _csv(client, pid)
    assert [r["note"] for r in rows] == ["'" + t for t in HOSTILE[:6]] + ["plain", "a=b"]
    assert rows[0]["note__mood__MANUAL"] == "'=evil" and rows[1]["note__mood__MANUAL"] == "fine"
    assert {r["score"] for r in rows} == {"-1.5"}  # numbers are never changed
    raw = _csv(client, pid, raw="true")
    assert [r["note"] for r in raw] == HOSTILE
    assert raw[0]["note__mood__MANUAL"] == "=evil"


def test_xlsx_export_escapes_formulas_and_never_writes_one(client: TestClient, project: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    pid = project["id"]
    _upload(client, pid)
    for raw, expected in [(False, ["'" + t for t in HOSTILE[:6]] + ["plain", "a=b"]), (True, HOSTILE)]:
        response = client.get(f"/api/v1/projects/{pid}/export", params={"format": "xlsx", "raw": str(raw).lower()})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows())
        header = [c.value for c in rows[0]]
        notes = [row[header.index("note")] for row in rows[1:]]
        assert [c.value for c in notes] == [text.replace("\r", "\n") for text in expected]  # XML reads CR as LF
        assert all(c.data_type == "s" for c in notes)  # text, never a formula ("f")
        assert {row[header.index("score")].value for row in rows[1:]} == {-1.5}
