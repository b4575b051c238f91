"""Labeling tasks, manual labels, lookup lists, heuristics (pre-computed and code) and weak supervision via the SDK,
against real gateway, weak_supervisor and executor processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import spam_jsonl

LF = """
def lf(record):
    if "subscribe" in record["text"].text:
        return "spam"
"""


def _spam_project(admin: Any, tmp_path: Path) -> dict[str, Any]:
    admin.post_file_import(spam_jsonl(tmp_path, labelled=False))
    task: dict[str, Any] = admin.create_labeling_task("spam", labels=["ham", "spam"])
    return task


def test_tasks_labels_manual_labels_and_lookup_lists(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    from refinery import BadRequestError, ConflictError, NotFoundError

    task = _spam_project(admin, tmp_path)
    assert [label["name"] for label in task["labels"]] == ["ham", "spam"]
    admin.create_labeling_task("topic", attribute="text")
    admin.create_label("topic", "music", hotkey="m")
    assert [t["name"] for t in admin.get_labeling_tasks()] == ["spam", "topic"]
    assert [label["hotkey"] for label in admin.get_labels("topic")] == ["m"]
    with pytest.raises(ConflictError, match="hotkey|already"):
        admin.create_label("topic", "video", hotkey="m")
    with pytest.raises(NotFoundError, match="no labeling task 'nope'"):
        admin.get_labels("nope")
    with pytest.raises((BadRequestError, NotFoundError), match="whatever"):
        admin.create_labeling_task("bad", attribute="whatever")

    result = admin.post_manual_labels(["spam", "ham", "spam", "ham"], indices=[1, 2, 3, 4], labeling_task="spam")
    assert result["records"] == 4 and result["labels_written"] == 4
    frame = admin.get_record_export(tokenize=False)
    assert frame["__spam__MANUAL"].tolist()[:4] == ["spam", "ham", "spam", "ham"]
    assert frame["__spam__MANUAL"].isna().tolist()[4:] == [True, True]
    assert "text__topic__MANUAL" in frame.columns

    admin.post_manual_labels([None, "spam"], indices=[{"id": 1}, {"id": 2}], labeling_task="spam")
    after = admin.get_record_export(tokenize=False)["__spam__MANUAL"].tolist()
    assert after[0] is None or after[0] != after[0]  # cleared (None or NaN)
    assert after[1] == "spam"
    with pytest.raises(NotFoundError, match="match no record"):
        admin.post_manual_labels(["spam"], indices=[999], labeling_task="spam")
    with pytest.raises(NotFoundError, match="no label"):
        admin.post_manual_labels(["eggs"], indices=[1], labeling_task="spam")

    created = admin.create_lookup_list("Spam Words", ["subscribe", "free"])
    assert created["python_name"] == "spam_words"
    assert sorted(t["value"] for t in created["terms"]) == ["free", "subscribe"]
    details = admin.get_project_details()
    assert details["knowledge_base_ids"] == [created["id"]]
    assert admin.get_lookup_lists()[0]["name"] == "Spam Words"


def test_associations_weak_supervision_and_statistics(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    from refinery import BadRequestError

    _spam_project(admin, tmp_path)
    admin.post_manual_labels(["spam", "ham", "spam", "ham"], indices=[1, 2, 3, 4], labeling_task="spam")
    first = admin.post_associations(["spam", None, ["spam", 0.9], "ham", "spam", "ham"], [1, 2, 3, 4, 5, 6], "keywords", "spam")
    assert first["associations"] == 5 and first["records"] == 5
    again = admin.post_associations(["spam", "ham", "spam", "ham", "spam", "ham"], list(range(1, 7)), "keywords", "spam")
    assert again["heuristic_id"] == first["heuristic_id"] and again["associations"] == 6  # replaced, not added
    admin.post_associations(["spam", None, None, None, "ham", None], [{"id": i} for i in range(1, 7)], "links", "spam")
    heuristics = admin.get_heuristics("spam")
    assert [(h["name"], h["type"], h["association_count"]) for h in heuristics] == [
        ("keywords", "PRE_COMPUTED", 6),
        ("links", "PRE_COMPUTED", 2),
    ]

    with pytest.raises(BadRequestError) as unknown:
        admin.post_associations(["eggs"], [1], "keywords", "spam")
    assert "unknown label 'eggs'" in unknown.value.detail and "nothing was stored" in unknown.value.detail
    with pytest.raises(BadRequestError, match="no record has primary key"):
        admin.post_associations(["spam"], [42], "keywords", "spam")
    assert admin.get_heuristics("spam")[0]["association_count"] == 6

    run = admin.run_weak_supervision("spam", model="majority")
    assert run["state"] == "FINISHED" and run["summary"]["model"] == "majority"
    frame = admin.get_record_export(tokenize=False)
    weak = [v if isinstance(v, str) else None for v in frame["__spam__WEAK_SUPERVISION"]]
    assert weak == ["spam", "ham", "spam", "ham", None, "ham"]
    assert frame["__spam__WEAK_SUPERVISION__confidence"].notna().sum() == 5

    stats = admin.get_heuristic_statistics("spam", recompute=True)
    keywords_spam = stats[(stats.heuristic_name == "keywords") & (stats.label_name == "spam")].iloc[0]
    assert (keywords_spam.true_positives, keywords_spam.false_positives, keywords_spam.est_precision) == (2, 0, 1.0)
    with pytest.raises(BadRequestError, match="model"):
        admin.run_weak_supervision("spam", model="magic")


def test_run_heuristic_with_code(admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    from refinery import JobFailedError

    _spam_project(admin, tmp_path)
    admin.create_heuristic("spam", "subscribe", source_code=LF)
    run = admin.run_heuristic("subscribe")
    assert run["state"] == "FINISHED"
    assert admin.get_heuristics("spam")[0]["association_count"] == 2
    admin.create_heuristic("spam", "broken", source_code="def lf(record):\n    return 1 / 0\n")
    with pytest.raises(JobFailedError) as failed:
        admin.run_heuristic("broken")
    assert "ZeroDivisionError" in str(failed.value) or "division" in str(failed.value)
