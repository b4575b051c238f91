"""Done-when: the texts and labels of the shared youtube set, uploaded as JSON, CSV and XLSX, come back exactly."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ..shared_data import WRENCH, require
from .upload_helpers import all_records, export, upload_ok

YOUTUBE = WRENCH / "youtube"


@pytest.fixture(scope="module")
def youtube(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """The train split's texts with their label names (read from a private copy)."""
    require(YOUTUBE / "train.json")
    folder = tmp_path_factory.mktemp("youtube")
    for name in ("train.json", "label.json"):
        shutil.copy(YOUTUBE / name, folder / name)
    names = json.loads((folder / "label.json").read_text())
    rows = json.loads((folder / "train.json").read_text())
    return [{"text": row["data"]["text"], "label": names[str(row["label"])]} for row in rows.values()]


def build(folder: Path, fmt: str, rows: list[dict[str, str]], label_column: str) -> Path:
    path = folder / f"youtube.{fmt}"
    table = [{"text": r["text"], label_column: r["label"]} for r in rows]
    if fmt == "json":
        path.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    elif fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["text", label_column])
            writer.writeheader()
            writer.writerows(table)
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(["text", label_column])
        for row in table:
            sheet.append([row["text"], row[label_column]])
        workbook.save(path)
    return path


@pytest.mark.parametrize(("fmt", "label_column"), [("json", "text__spam"), ("csv", "text__spam"), ("xlsx", "__spam")])
def test_youtube_round_trip(
    client: TestClient, youtube: list[dict[str, str]], tmp_path: Path, fmt: str, label_column: str
) -> None:
    project = client.post("/api/v1/projects", json={"name": f"youtube {fmt}"}).json()
    path = build(tmp_path, fmt, youtube, label_column)
    job = upload_ok(client, project["id"], path.name, path.read_bytes())
    assert job["result"]["records"] == len(youtube)
    assert job["result"]["manual_labels"] == {"spam": len(youtube)}

    records = all_records(client, project["id"], limit=500)
    assert [r["data"]["text"] for r in records] == [r["text"] for r in youtube]
    assert [r["data"]["running_id"] for r in records] == list(range(len(youtube)))

    prefix = label_column.removesuffix("spam")
    manual = f"{prefix}spam__MANUAL"
    for export_format in ("json", "jsonl", "csv"):
        exported: list[dict[str, Any]] = export(client, project["id"], export_format, raw=True)  # values as stored
        assert len(exported) == len(youtube)
        assert [e["text"] for e in exported] == [r["text"] for r in youtube], export_format
        assert [e[manual] for e in exported] == [r["label"] for r in youtube], export_format
    first = export(client, project["id"], "json")[0]
    assert list(first) == [
        "running_id",
        "text",
        manual,
        f"{prefix}spam__WEAK_SUPERVISION",
        f"{prefix}spam__WEAK_SUPERVISION__confidence",
        f"{prefix}spam__MANUAL__decided_by",
    ]
