"""The SDK downloads a project's snapshot and imports it back as a new project (real gateway process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import spam_jsonl


def test_export_snapshot_round_trips(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    admin.post_file_import(spam_jsonl(tmp_path))
    into_folder = admin.export_snapshot(tmp_path)
    assert into_folder == tmp_path / f"{sdk_project['name'].replace(' ', '_')}.zip" and into_folder.is_file()
    named = admin.export_snapshot(tmp_path / "copy.zip")
    assert named == tmp_path / "copy.zip" and named.read_bytes()[:2] == b"PK"
    assert not list(tmp_path.glob("*.part"))

    finished = admin.import_snapshot(named, name="spam again")
    result = finished["result"]
    assert admin.project_id == result["project_id"] != sdk_project["id"]
    assert (result["records"], result["attributes"], result["labeling_tasks"], result["manual_labels"]) == (6, 2, 1, 4)
    assert admin.get_project_details()["name"] == "spam again"
    exported = sorted((r["id"], r["text"], next(v for k, v in r.items() if k.endswith("__MANUAL"))) for r in admin.iter_export())
    assert exported == [(1, "check out my channel subscribe", "spam"), (2, "great song love it", "ham"),
                        (3, "subscribe to me for free gift cards", "spam"), (4, "this video is amazing", "ham"),
                        (5, "visit my website http://x.example", None), (6, "i love this band", None)]  # fmt: skip
