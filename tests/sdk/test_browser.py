"""The SDK's data-browser calls against a real gateway process: search, count, unique values, slices, sessions,
bulk labels and a metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import SPAM_ROWS
from .test_labeling_heuristics import _spam_project


def test_browser_search_slices_sessions_and_metrics(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    from refinery import BadRequestError, ConflictError
    from refinery.browser import attribute, condition, full_text, group

    task = _spam_project(admin, tmp_path)
    admin.post_manual_labels(["spam", "ham", "spam", "ham"], indices=[1, 2, 3, 4], labeling_task="spam")
    subscribe = group(attribute("text", "CONTAINS", "SUBSCRIBE"))
    expected_ids = [idx for idx, text, _ in SPAM_ROWS if "subscribe" in text]
    found = list(admin.search_records(subscribe, sort=[{"by": "attribute", "attribute": "id", "direction": "desc"}]))
    assert [r["data"]["id"] for r in found] == sorted(expected_ids, reverse=True)
    assert admin.browser.count(subscribe) == len(expected_ids)
    page = admin.browser.search_page(None, limit=4)
    assert len(page["items"]) == 4 and page["total"] == len(SPAM_ROWS) and page["next_cursor"]
    unlabeled = group(condition("manual_label", task_id=task["id"], mode="none"))
    assert admin.browser.count(unlabeled) == 2  # rows 5 and 6 have no __spam label
    with pytest.raises(BadRequestError, match=r"filter.conditions\[0\]: attribute 'nope'"):
        admin.browser.count(group(attribute("nope", "EQUAL", 1)))
    # slices
    static = admin.create_slice("subscribers", subscribe, static=True)
    assert static["count"] == len(expected_ids) and static["outdated"] is False
    assert [s["name"] for s in admin.get_slices()] == ["subscribers"]
    with pytest.raises(ConflictError):
        admin.create_slice("subscribers")
    # a session over the slice, walked forward
    session = admin.browser.create_session(slice_id=static["id"])
    assert session["total"] == len(expected_ids)
    moved = admin.browser.next_record(session["id"])
    assert moved["position"] == 1
    # bulk label the unlabeled rows, then the metric sees them
    labels = {label["name"]: label["id"] for label in task["labels"]}
    done = admin.browser.bulk_label(unlabeled, task["id"], [labels["ham"]])
    assert done["records"] == 2
    progress = admin.browser.metric("progress")
    assert progress["records"] == len(SPAM_ROWS)
    assert {t["name"]: t["manually_labeled"] for t in progress["tasks"]}["spam"] == len(SPAM_ROWS)
    assert admin.browser.unique_values("id")["id"]["values"] == [str(i) for i, _, _ in SPAM_ROWS]
    # full text with highlights, count auto, then a bulk delete of what it found
    loving = group(full_text("love"))
    found = list(admin.search_records(loving))
    assert sorted(r["data"]["id"] for r in found) == [2, 6]
    page = admin.browser.search_page(loving)
    assert all(item["highlights"]["text"] for item in page["items"])
    assert admin.browser.count_result(loving) == {"total": 2, "total_estimated": False}
    assert admin.browser.bulk_delete(loving) == {"records": 2, "job": None}
    assert admin.browser.count(None) == len(SPAM_ROWS) - 2
