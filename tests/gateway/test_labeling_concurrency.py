"""Two annotators (each in several tabs) labeling one record at once never corrupt each other's labels."""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any

from fastapi.testclient import TestClient

from gateway.domain.valid_labels import _Row, valid_ids

from .test_labeling import admin_headers, classify, make_task, manual_rows, second_user, seed_records


def test_concurrent_labeling_of_one_record(client: TestClient, project: dict[str, Any]) -> None:
    pid = project["id"]
    [rid] = seed_records(pid, ["contested"])
    task = make_task(client, pid, "sentiment", "MULTICLASS_CLASSIFICATION", None, ["pos", "neg"])
    multi = make_task(client, pid, "tags", "MULTILABEL_CLASSIFICATION", None, ["a", "b", "c"])
    users = {"admin": admin_headers(client), "other": second_user(client, pid)}
    errors: list[str] = []
    start = threading.Barrier(6)

    def annotate(headers: dict[str, str], seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(8):
            try:  # a server error (e.g. a deadlock) is raised here by the test client
                single = classify(client, pid, rid, task, [rng.choice(["pos", "neg"])], headers=headers)
                several = classify(client, pid, rid, multi, rng.sample(["a", "b", "c"], rng.randint(1, 3)), headers=headers)
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                continue
            for response in (single, several):
                if response.status_code != 200:
                    errors.append(response.text)

    threads = [
        threading.Thread(target=annotate, args=(headers, i * 10 + tab))
        for i, headers in enumerate(users.values())
        for tab in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []

    rows = manual_rows(rid, task["id"])
    per_user: dict[uuid.UUID | None, int] = {}
    for row in rows:
        per_user[row.created_by] = per_user.get(row.created_by, 0) + 1
    assert sorted(per_user.values()) == [1, 1], per_user  # single-label: exactly one label per annotator, never two
    for task_id in (task["id"], multi["id"]):
        rows = manual_rows(rid, task_id)
        for user in {r.created_by for r in rows}:
            mine = [r.label_id for r in rows if r.created_by == user]
            assert len(mine) == len(set(mine)), "an annotator's label set holds duplicates"
        expected = valid_ids(
            [
                _Row(r.id, r.record_id, r.created_by, r.label_id, r.token_start, r.token_end, r.is_gold_star, r.created_at)
                for r in rows
            ]
        )
        assert {r.id for r in rows if r.is_valid_manual_label} == expected
