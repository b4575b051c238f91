"""The web UI end to end: a record's weak-supervision label is accepted as the user's manual label — by Enter (every
task the user has not labeled on the record) and by the label table's "Accept" button — and stored, checked through
the API. The weak-supervision rows are written as the weak supervisor writes them (source WEAK_SUPERVISION, with a
confidence), so that the test needs no heuristic run."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from shared_model.db import session_scope
from shared_model.models import RecordLabelAssociation, ReturnType, SourceType

from .conftest import login
from .test_e2e_spans_and_pages import _project_with_records


def _wait(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_accept_weak_supervision_labels_by_key_and_by_button(page: Any, api: httpx.Client, tmp_path: Path) -> None:
    texts = ["Win a free cruise, reply now", "See you at lunch tomorrow"]
    pid = _project_with_records(api, tmp_path, texts)
    task = api.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={
            "name": f"spam {uuid.uuid4().hex[:4]}",
            "task_type": "MULTICLASS_CLASSIFICATION",
            "labels": [{"name": "spam"}, {"name": "ham"}],
        },
    ).json()
    labels = {label["name"]: label["id"] for label in task["labels"]}
    names = {v: k for k, v in labels.items()}
    records = [r["id"] for r in api.get(f"/api/v1/projects/{pid}/records").json()["items"]]
    with session_scope() as session:
        for record_id, label, confidence in ((records[0], "spam", 0.93), (records[1], "ham", 0.71)):
            session.add(
                RecordLabelAssociation(
                    project_id=uuid.UUID(pid),
                    record_id=record_id,
                    labeling_task_id=uuid.UUID(task["id"]),
                    label_id=uuid.UUID(labels[label]),
                    source_type=SourceType.WEAK_SUPERVISION,
                    return_type=ReturnType.RETURN,
                    confidence=confidence,
                )
            )

    def manual(record_id: int) -> list[str]:
        rows = api.get(f"/api/v1/projects/{pid}/records/{record_id}/labels", params={"source_type": "MANUAL"}).json()
        return [names[r["label_id"]] for r in rows]

    login(page)
    page.goto(f"/projects/{pid}/labeling?pos=0")
    record = page.get_by_role("region", name="Record")
    record.get_by_text(texts[0]).wait_for()
    page.get_by_role("button", name="Accept spam").wait_for()  # the suggestion shows with its source
    page.get_by_text("93 %").first.wait_for()
    assert manual(records[0]) == []

    # Enter accepts the record's weak-supervision label as the user's own.
    page.locator("body").focus()
    page.keyboard.press("Enter")
    assert _wait(lambda: manual(records[0]) == ["spam"])
    page.get_by_role("button", name="spam", exact=True).and_(page.locator("[aria-pressed=true]")).wait_for()

    # The label table's Accept button does the same for one label.
    page.goto(f"/projects/{pid}/labeling?pos=1")
    record.get_by_text(texts[1]).wait_for()
    page.get_by_role("button", name="Accept ham").click()
    assert _wait(lambda: manual(records[1]) == ["ham"])
    assert manual(records[0]) == ["spam"]  # the first record's accepted label is still stored
