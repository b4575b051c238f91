"""Reading a task's heuristic votes from heuristic_result chunks (real Postgres)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from shared_model import heuristic_results
from shared_model.db import session_scope
from shared_model.heuristic_results import ResultBuffer, store_session_results
from shared_model.models import HeuristicType, InformationSource, TaskType
from weak_supervisor.store import load_task, record_rows

from .fixtures import build_task

pytestmark = pytest.mark.usefixtures("clean_db")


def votes_of(task):  # type: ignore[no-untyped-def]
    """(record id, source id, label id, confidence) of every vote, sorted."""
    v = task.votes
    return sorted(
        (int(task.record_ids[r]), task.source_ids[s], task.label_ids[c], float(w))
        for r, s, c, w in zip(v.rows, v.sources, v.classes, v.confidence, strict=True)
    )


def add_source(built, name, votes, *, selected=True):  # type: ignore[no-untyped-def]
    """A heuristic storing ``votes`` = (record position, label name, start, end, confidence)."""
    with session_scope() as s:
        source = InformationSource(
            project_id=built.project_id,
            labeling_task_id=built.task_id,
            type=HeuristicType.ZERO_SHOT,
            name=name,
            is_selected=selected,
        )
        s.add(source)
        s.flush()
        buffer = ResultBuffer()
        for position, label, start, end, confidence in votes:
            buffer.add(built.records[position], built.labels[label], start, end, confidence)
        store_session_results(s, built.project_id, built.task_id, source.id, buffer)
        return source.id


def test_rows_of_leaves_out_ids_that_are_not_among_the_records() -> None:
    records = np.asarray([3, 5, 9], dtype=np.int64)
    found, rows = record_rows(records, np.asarray([9, 4, 3, 10, 1, 5], dtype=np.int64))
    assert found.tolist() == [True, False, True, False, False, True]
    assert rows.tolist() == [2, 0, 1]
    found, rows = record_rows(np.zeros(0, dtype=np.int64), np.asarray([1], dtype=np.int64))
    assert found.tolist() == [False] and rows.tolist() == []


def test_votes_are_read_from_chunks_with_confidences_sources_and_deleted_records(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(heuristic_results, "CHUNK_IDS", 2)  # several chunks per heuristic and label
    built = build_task(
        TaskType.MULTICLASS_CLASSIFICATION,
        ["neg", "pos"],
        6,
        {"a": [(0, "pos"), (1, "pos"), (2, "pos"), (3, "neg")], "b": [(4, "neg")]},
    )
    a, b = built.sources["a"], built.sources["b"]
    neg, pos = built.labels["neg"], built.labels["pos"]
    zs = add_source(built, "zs", [(0, "neg", None, None, 0.25), (5, "pos", None, None, None), (1, "neg", None, None, 0.5)])
    off = add_source(built, "off", [(0, "neg", None, None, None)], selected=False)
    r = built.records

    with session_scope() as s:
        task = load_task(s, built.task_id)
    assert sorted(task.source_ids) == sorted([a, b, zs])  # the selected ones
    assert votes_of(task) == sorted(
        [
            (r[0], a, pos, 1.0),
            (r[1], a, pos, 1.0),
            (r[2], a, pos, 1.0),
            (r[3], a, neg, 1.0),
            (r[4], b, neg, 1.0),
            (r[0], zs, neg, 0.25),
            (r[5], zs, pos, 1.0),
            (r[1], zs, neg, 0.5),
        ]
    )
    with session_scope() as s:  # an explicit subset, unselected heuristics included
        task = load_task(s, built.task_id, [off, b])
        assert votes_of(task) == sorted([(r[0], off, neg, 1.0), (r[4], b, neg, 1.0)])
        assert votes_of(load_task(s, built.task_id, selected_only=False)) == sorted(
            votes_of(load_task(s, built.task_id)) + [(r[0], off, neg, 1.0)]
        )

    with session_scope() as s:  # a deleted record's votes go (the trigger rewrites the chunks)
        s.execute(text("DELETE FROM record WHERE id = :r"), {"r": r[1]})
    with session_scope() as s:
        task = load_task(s, built.task_id)
    assert r[1] not in task.record_ids.tolist()
    assert [v for v in votes_of(task) if v[0] == r[1]] == []
    assert len(votes_of(task)) == 6


def test_extraction_votes_keep_their_spans_and_confidences() -> None:
    built = build_task(
        TaskType.INFORMATION_EXTRACTION,
        ["org", "person"],
        3,
        {"a": [(0, "org", 0, 2), (0, "person", 3, 4), (2, "org", 1, 5)]},
        manual=[(0, "org", 0, 2)],
    )
    zs = add_source(built, "zs", [(1, "person", 2, 3, 0.75)])
    with session_scope() as s:
        task = load_task(s, built.task_id)
    spans = task.spans
    assert spans is not None and task.manual_spans is not None
    got = sorted(
        (int(task.record_ids[row]), task.source_ids[src], task.label_ids[lab], int(a), int(b), float(c))
        for row, src, lab, a, b, c in zip(
            spans.rows, spans.sources, spans.labels, spans.starts, spans.ends, spans.confidence, strict=True
        )
    )
    a, r, org, person = built.sources["a"], built.records, built.labels["org"], built.labels["person"]
    assert got == sorted(
        [(r[0], a, org, 0, 2, 1.0), (r[0], a, person, 3, 4, 1.0), (r[2], a, org, 1, 5, 1.0), (r[1], zs, person, 2, 3, 0.75)]
    )
    assert len(task.votes.rows) == 4
    assert task.manual_spans.starts.tolist() == [0] and task.manual_spans.ends.tolist() == [2]
