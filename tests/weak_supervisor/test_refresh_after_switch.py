"""After a weak-supervision run's switch, its job computes what the data browser's first request would otherwise
compute (real Postgres): the task's "manual and weak supervision differ" flags and the whole project's confusion
matrix (kept in metric_cache with the marks it was computed from), equal to a computation from the labels themselves.
A refresh for a version that is no longer current does nothing."""

from __future__ import annotations

import uuid
from collections import Counter

import numpy as np
from sqlalchemy import select, text

from shared_model import kept_figures, manual_vs_weak
from shared_model import weak_supervision_results as weak_results
from shared_model.db import new_session, session_scope
from shared_model.models import (
    MetricCache,
    RecordTaskLabel,
    TaskType,
    WeakSupervisionDifferState,
)
from weak_supervisor.runs import run_weak_supervision
from weak_supervisor.store import load_task, write_weak_labels

from .fixtures import Built, build_task, weak_labels

N = 120
MANUAL = [(i, "pos" if i % 2 else "neg") for i in range(40)]


def _task() -> Built:
    votes = [(i, "pos" if i % 3 else "neg") for i in range(N)]
    return build_task(TaskType.MULTICLASS_CLASSIFICATION, ["pos", "neg"], N, {"a": votes}, MANUAL)


def _expected(built: Built) -> tuple[set[int], Counter[tuple[str, str]]]:
    """From the labels themselves: the manually labeled records whose weak-supervision label differs (or is missing),
    and the (manual, weak) label id pairs."""
    weak = {record: label for record, label, *_ in weak_labels(built.task_id)}
    differ: set[int] = set()
    pairs: Counter[tuple[str, str]] = Counter()
    for position, name in MANUAL:
        record, manual = built.records[position], built.labels[name]
        if weak.get(record) != manual:
            differ.add(record)
        if record in weak:
            pairs[(str(manual), str(weak[record]))] += 1
    return differ, pairs


def _kept(built: Built, version: uuid.UUID) -> tuple[uuid.UUID | None, set[int], str | None, Counter[tuple[str, str]]]:
    """What is kept: the differ state's version, the records flagged, the confusion matrix's marks and pairs."""
    with session_scope() as s:
        state = s.scalar(
            select(WeakSupervisionDifferState.version_id).where(WeakSupervisionDifferState.labeling_task_id == built.task_id)
        )
        flagged = set(
            s.scalars(
                select(RecordTaskLabel.record_id).where(
                    RecordTaskLabel.labeling_task_id == built.task_id,
                    RecordTaskLabel.differ.is_(True),
                    RecordTaskLabel.ws_version == version,
                )
            )
        )
        found = s.execute(
            select(MetricCache.marks, MetricCache.value).where(
                MetricCache.labeling_task_id == built.task_id, MetricCache.metric == manual_vs_weak.CONFUSION_MATRIX
            )
        ).first()
        assert not manual_vs_weak.stale_differ(s, built.task_id, version) or state != version
    marks, value = (found[0], found[1]) if found else (None, [])
    return state, flagged, marks, Counter({(a, b): int(n) for a, b, n in value})


def _marks(built: Built, version: uuid.UUID) -> str:
    with session_scope() as s:
        return f"{version}:{manual_vs_weak.version_mark(s, version)}:{manual_vs_weak.manual_mark(s, built.task_id)}"


def test_the_job_keeps_the_differ_flags_and_the_confusion_matrix_of_its_labels() -> None:
    built = _task()
    run = run_weak_supervision(built.task_id, {"model": "majority"})
    version = uuid.UUID(run["run_id"])
    differ, pairs = _expected(built)
    assert differ and pairs  # the case is not trivial: some manual labels agree, some differ
    state, flagged, marks, kept = _kept(built, version)
    assert state == version
    assert flagged == differ
    assert marks == _marks(built, version)
    assert kept == pairs
    with session_scope() as s:  # the exact query (what a first request would compute) gives the same
        exact = Counter({(a, b): int(n) for a, b, n in s.execute(manual_vs_weak.confusion_pairs_query(built.task_id, version))})
    assert exact == pairs


def test_a_refresh_follows_each_switch_and_skips_a_version_no_longer_current() -> None:
    built = _task()
    first = uuid.UUID(run_weak_supervision(built.task_id, {"model": "majority"})["run_id"])
    with session_scope() as s:
        task = load_task(s, built.task_id)
        second = uuid.uuid4()
        weak_results.begin_version(s, built.task_id, second)
    neg = task.label_ids.index(built.labels["neg"])  # every record 'neg' now
    assert write_weak_labels(task, second, np.arange(N, dtype=np.int64), np.full(N, neg, dtype=np.int64), np.full(N, 0.5)) == N
    with session_scope() as s:
        weak_results.switch_version(s, built.task_id, second)
    assert manual_vs_weak.refresh_after_switch(new_session, first, first) == {}  # not a task's current version
    assert manual_vs_weak.refresh_after_switch(new_session, built.task_id, first) == {}  # superseded: nothing done
    assert _kept(built, second)[0] == first  # still the first run's flags until the refresh of the second
    seconds = manual_vs_weak.refresh_after_switch(new_session, built.task_id, second)
    assert set(seconds) == {"differ_s", "confusion_matrix_s", "project_card_s"}
    differ, pairs = _expected(built)
    assert differ == {built.records[i] for i, name in MANUAL if name == "pos"}
    state, flagged, marks, kept = _kept(built, second)
    assert (state, flagged, marks, kept) == (second, differ, _marks(built, second), pairs)
    assert manual_vs_weak.refresh_after_switch(new_session, built.task_id, second)["differ_s"] >= 0  # again: kept
    assert _kept(built, second) == (second, differ, _marks(built, second), pairs)


def test_the_project_cards_count_of_two_partial_versions_is_kept_after_each_run() -> None:
    """Two tasks whose versions each cover part of the project's records: the card's count (distinct records over
    both) is computed by each run's job and kept with both versions' marks, equal to the exact count."""
    first = _task()  # votes on its N records
    second = build_task(
        TaskType.MULTICLASS_CLASSIFICATION, ["x", "y"], N, {"b": [(i, "x") for i in range(0, N, 2)]}, project_id=first.project_id
    )  # N more records, votes on half of them

    def kept() -> list[tuple[uuid.UUID, str, int]]:
        with session_scope() as s:
            return [
                (t, m, int(v))
                for t, m, v in s.execute(
                    select(MetricCache.labeling_task_id, MetricCache.marks, MetricCache.value).where(
                        MetricCache.metric == kept_figures.WEAKLY_SUPERVISED,
                        MetricCache.labeling_task_id.in_([first.task_id, second.task_id]),
                    )
                ).tuples()
            ]

    run_weak_supervision(first.task_id, {"model": "majority"})
    assert kept() == []  # one version with rows: its count decides the card
    run_weak_supervision(second.task_id, {"model": "majority"})
    with session_scope() as s:
        exact = s.scalar(
            text("SELECT count(DISTINCT record_id) FROM weak_supervision_label WHERE project_id = :p"), {"p": first.project_id}
        )
        versions = [weak_results.current_version(s, t) for t in sorted([first.task_id, second.task_id])]
        marks = ",".join(f"{v}:{kept_figures.version_mark(s, v)}" for v in versions if v is not None)
    assert exact == N + N // 2
    assert kept() == [(min(first.task_id, second.task_id), marks, exact)]
    with session_scope() as s:
        assert kept_figures.weakly_supervised(s, [first.project_id]) == {first.project_id: exact}
    assert kept() == [(min(first.task_id, second.task_id), marks, exact)]  # read, not computed again
