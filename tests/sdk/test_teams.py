"""The SDK's team calls against a real gateway process: resolution rule, agreement, label history, revert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import SPAM_ROWS
from .test_labeling_heuristics import _spam_project


def test_resolution_agreement_history_and_revert(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    from refinery import Client

    task = _spam_project(admin, tmp_path)
    # a second labeler who may label in bulk (an EXPERT; ANNOTATORs label one record at a time, within their work)
    admin._request("POST", "/users", json={"email": "ann@example.org", "password": "annotator-pw-1", "role": "EXPERT"})
    admin._request("POST", admin._p("/members"), json={"email": "ann@example.org", "role": "EXPERT"})
    indices = [idx for idx, _, _ in SPAM_ROWS]
    truth = [label for _, _, label in SPAM_ROWS]
    admin.post_manual_labels(truth, indices=indices, labeling_task="spam")
    with Client("ann@example.org", "annotator-pw-1", uri=admin.uri, project_id=sdk_project["id"], progress=False) as ann:
        ann.post_manual_labels(["ham" if i == 0 else t for i, t in enumerate(truth)], indices=indices, labeling_task="spam")

    found = admin.get_agreement("spam")
    assert found["overall"]["records"] == len(SPAM_ROWS)
    assert found["pairs"][0]["percent_agreement"] == (len(SPAM_ROWS) - 1) / len(SPAM_ROWS)
    assert admin.get_label_resolution()["rule"] == "UNANIMOUS"
    assert admin.set_label_resolution("expert", expert="ann@example.org")["recomputed"] == len(SPAM_ROWS)
    theirs = admin.get_label_history(annotator="ann@example.org")
    assert len(theirs) == len(SPAM_ROWS) and {e["via"] for e in theirs} == {"BULK"}
    first_record = theirs[-1]["record_id"]
    assert [e["via"] for e in admin.get_label_history(first_record)] == ["BULK", "BULK"]
    undone = admin.revert_labels("ann@example.org", task="spam")
    assert undone == {"records": len(SPAM_ROWS), "changes": len(SPAM_ROWS)}
    assert admin.get_agreement(task["id"])["overall"]["records"] == 0
