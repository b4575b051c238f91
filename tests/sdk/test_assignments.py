"""The SDK's work-for-annotators calls against a real gateway process: assign with redundancy, an annotator's queue
(next, label, skip, comment), the engineer's progress, blind labeling's switch and the revert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import SPAM_ROWS
from .test_labeling_heuristics import _spam_project


def test_assign_work_and_label_through_the_queue(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    from refinery import Client, NotFoundError

    _spam_project(admin, tmp_path)
    for name in ("ann1", "ann2"):
        admin._request("POST", "/users", json={"email": f"{name}@example.org", "password": "annotator-pw-1", "role": "ANNOTATOR"})
        admin._request("POST", admin._p("/members"), json={"email": f"{name}@example.org", "role": "ANNOTATOR"})
    record_ids = [r["id"] for r in admin.iter_records()]
    assert len(record_ids) == len(SPAM_ROWS)
    made = admin.assign_work(
        "first batch", ["ann1@example.org", "ann2@example.org"], record_ids=record_ids, redundancy=2, task="spam"
    )
    assert [(p["assigned"], p["done"]) for p in made["annotators"]] == [(len(SPAM_ROWS), 0)] * 2
    with Client("ann1@example.org", "annotator-pw-1", uri=admin.uri, project_id=sdk_project["id"], progress=False) as ann:
        (queue,) = ann.my_queue()
        assert (queue["id"], queue["assigned"], queue["done"]) == (made["id"], len(SPAM_ROWS), 0)
        first = ann.next_record(made["id"])
        assert first is not None and first["id"] == record_ids[0]
        assert ann.skip_record(made["id"], first["id"])["skipped"] == 1
        labeled = 0
        while (record := ann.next_record(made["id"])) is not None:
            ann.label_record(record["id"], "spam" if "subscribe" in record["data"]["text"] else "ham", task="spam")
            labeled += 1
        assert labeled == len(SPAM_ROWS) - 1
        assert ann.next_record(made["id"], include_skipped=True)["id"] == first["id"]
        ann.comment_assignment(made["id"], "the first one is unclear")
        # blind: no other annotator's labels; and no assignment of the engineer's
        admin.label_record(record_ids[1], "spam", task="spam")
        mine = ann._request("GET", ann._p(f"/records/{record_ids[1]}/labels"))
        assert {row["created_by"] for row in mine} == {ann.user["id"]}
        with pytest.raises(NotFoundError):
            ann._request("GET", ann._p("/records/999999999/labels"))
    progress = {p["annotator_id"]: p for p in admin.get_assignment(made["id"])["annotators"]}
    ann1 = progress[ann.user["id"]]
    assert (ann1["done"], ann1["skipped"], ann1["comment"]) == (len(SPAM_ROWS) - 1, 1, "the first one is unclear")
    assert admin.revert_assignment(made["id"], "ann1@example.org")["changes"] == len(SPAM_ROWS) - 1
    assert {p["annotator_id"]: p["done"] for p in admin.get_assignments()[0]["annotators"]}[ann.user["id"]] == 0
