"""Statistics and weak-supervision runs against real Postgres (tasks built with the ORM)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from shared_model.db import session_scope
from shared_model.models import RunState, TaskType, WeakSupervisionRun
from weak_supervisor.runs import compute_statistics, run_weak_supervision, stored_statistics
from weak_supervisor.store import BadRequest, NotFound
from weak_supervisor.watcher import ManualLabelWatcher

from .fixtures import build_task, weak_labels

pytestmark = pytest.mark.usefixtures("clean_db")


def classification_task():  # type: ignore[no-untyped-def]
    heuristics = {
        "a": [(0, "pos"), (1, "pos"), (2, "neg"), (3, "pos")],
        "b": [(0, "pos"), (1, "neg"), (4, "neg")],
    }
    manual = [(0, "pos"), (1, "neg"), (2, "neg"), (5, "pos")]
    return build_task(TaskType.MULTICLASS_CLASSIFICATION, ["neg", "pos"], 6, heuristics, manual)


def by_key(rows):  # type: ignore[no-untyped-def]
    return {(r["source_id"], r["label_id"]): r for r in rows}


def test_classification_statistics_have_real_false_negatives() -> None:
    built = classification_task()
    stats = by_key(compute_statistics(built.task_id))
    a_pos = stats[(str(built.sources["a"]), str(built.labels["pos"]))]
    # a said pos on 0 (right), 1 (wrong), 3 (unlabeled); manual pos on 0 and 5 → FN 1 (record 5)
    assert (a_pos["true_positives"], a_pos["false_positives"], a_pos["false_negatives"]) == (1, 1, 1)
    assert a_pos["record_coverage"] == 3 and a_pos["total_hits"] == 3
    assert a_pos["source_overlaps"] == 1 and a_pos["source_conflicts"] == 1  # record 0 agrees, record 1 conflicts
    assert a_pos["est_precision"] == 0.5 and a_pos["est_recall"] == 0.5
    b_neg = stats[(str(built.sources["b"]), str(built.labels["neg"]))]
    assert (b_neg["true_positives"], b_neg["false_positives"], b_neg["false_negatives"]) == (1, 0, 1)
    assert len(stored_statistics(built.task_id)) == len(stats)
    compute_statistics(built.task_id)  # recomputing replaces, never duplicates
    assert len(stored_statistics(built.task_id)) == len(stats)


def test_extraction_statistics_are_exact_token_counts() -> None:
    heuristics = {"x": [(0, "PER", 0, 2), (1, "PER", 0, 1)], "y": [(0, "PER", 1, 3), (0, "LOC", 4, 5)]}
    manual = [(0, "PER", 0, 2)]
    built = build_task(TaskType.INFORMATION_EXTRACTION, ["PER", "LOC"], 2, heuristics, manual)
    stats = by_key(compute_statistics(built.task_id))
    x = stats[(str(built.sources["x"]), str(built.labels["PER"]))]
    y = stats[(str(built.sources["y"]), str(built.labels["PER"]))]
    assert (x["true_positives"], x["false_positives"], x["false_negatives"]) == (2, 0, 0)
    assert (y["true_positives"], y["false_positives"], y["false_negatives"]) == (1, 1, 1)
    assert x["total_hits"] == 2 and x["record_coverage"] == 2 and x["source_overlaps"] == 1 and x["source_conflicts"] == 0


def test_run_writes_labels_replaces_them_and_records_a_summary() -> None:
    built = classification_task()
    summary = run_weak_supervision(built.task_id, {"model": "refinery"})
    labels = weak_labels(built.task_id)
    # record 0: both say pos; 1: a pos (precision .5) vs b neg (precision 1) → neg; 2: neg; 3: pos; 4: neg
    assert [(r[0], r[1]) for r in labels] == [
        (built.records[0], built.labels["pos"]),
        (built.records[1], built.labels["neg"]),
        (built.records[2], built.labels["neg"]),
        (built.records[3], built.labels["pos"]),
        (built.records[4], built.labels["neg"]),
    ]
    assert (
        summary["labels_written"] == 5
        and summary["model"] == "refinery"
        and summary["coverage"] == pytest.approx(5 / 6, abs=1e-4)
    )
    assert sum(summary["label_distribution"].values()) == 5
    assert summary["label_names"] == {str(built.labels[name]): name for name in ("neg", "pos")}
    with session_scope() as s:
        run = s.get(WeakSupervisionRun, uuid.UUID(summary["run_id"]))
        assert run is not None and run.state == RunState.FINISHED and run.summary["labels_written"] == 5
    # a second run with a confidence threshold replaces the labels: only confident ones remain
    again = run_weak_supervision(built.task_id, {"model": "refinery", "min_confidence": 0.95})
    after = weak_labels(built.task_id)
    assert again["labels_written"] == len(after) < 5 and all(r[2] >= 0.95 for r in after)


def test_run_options_are_validated_and_nothing_is_half_written() -> None:
    built = classification_task()
    run_weak_supervision(built.task_id, {"model": "majority"})
    before = weak_labels(built.task_id)
    with pytest.raises(BadRequest, match="model must be one of"):
        run_weak_supervision(built.task_id, {"model": "magic"})
    with pytest.raises(BadRequest, match="do not belong"):
        run_weak_supervision(built.task_id, {"heuristic_ids": [str(uuid.uuid4())]})
    with pytest.raises(NotFound):
        run_weak_supervision(uuid.uuid4(), {})
    assert weak_labels(built.task_id) == before
    with session_scope() as s:
        failed = s.scalars(select(WeakSupervisionRun).where(WeakSupervisionRun.state == RunState.FAILED)).all()
        assert failed == []  # rejected before a run started


def test_a_queued_run_whose_job_fails_before_the_fit_is_marked_failed() -> None:
    """The gateway creates the run QUEUED; a job that fails on its options or its task must not leave it QUEUED."""
    built = classification_task()
    for parameters, error in [
        ({"seed": -1}, "seed must be an integer"),
        ({"heuristic_ids": [str(uuid.uuid4())]}, "do not belong"),
    ]:
        with session_scope() as s:
            queued = WeakSupervisionRun(project_id=built.project_id, labeling_task_id=built.task_id, options=parameters)
            s.add(queued)
            s.flush()
            run_id = queued.id
        with pytest.raises(BadRequest, match=error):
            run_weak_supervision(built.task_id, parameters, run_id=run_id)
        with session_scope() as s:
            run = s.get(WeakSupervisionRun, run_id)
            assert run is not None and run.state == RunState.FAILED and error in (run.error or "")


def test_heuristic_subset_overrides_and_every_model() -> None:
    built = classification_task()
    only_b = run_weak_supervision(built.task_id, {"model": "refinery", "heuristic_ids": [str(built.sources["b"])]})
    assert only_b["labels_written"] == 3 and only_b["heuristics"] == [str(built.sources["b"])]
    overridden = run_weak_supervision(
        built.task_id, {"model": "refinery", "precision_overrides": {str(built.sources["a"]): 1.0, str(built.sources["b"]): 0.1}}
    )
    labels = {r[0]: r[1] for r in weak_labels(built.task_id)}
    assert labels[built.records[1]] == built.labels["pos"] and overridden["labels_written"] == 5
    for model in ("auto", "generative", "semi", "majority", "dawid_skene", "semi_em"):
        assert run_weak_supervision(built.task_id, {"model": model})["model"] == model


def test_multilabel_and_extraction_runs() -> None:
    multi = build_task(
        TaskType.MULTILABEL_CLASSIFICATION,
        ["sports", "politics", "tech"],
        3,
        {"h1": [(0, "sports"), (0, "politics"), (1, "tech")], "h2": [(0, "politics")]},
    )
    summary = run_weak_supervision(multi.task_id, {})
    pairs = {(r[0], r[1]) for r in weak_labels(multi.task_id)}
    assert pairs == {
        (multi.records[0], multi.labels["sports"]),
        (multi.records[0], multi.labels["politics"]),
        (multi.records[1], multi.labels["tech"]),
    }
    assert summary["model_details"]["model"] == "multilabel-noisy-or"
    spans = build_task(
        TaskType.INFORMATION_EXTRACTION,
        ["PER", "LOC"],
        2,
        {"x": [(0, "PER", 0, 2), (1, "LOC", 3, 4)], "y": [(0, "PER", 1, 3), (0, "LOC", 1, 2)]},
    )
    run_weak_supervision(spans.task_id, {})
    out = weak_labels(spans.task_id)
    # record 0: PER spans merge to [0,3) (weight .8) and suppress the overlapping LOC (.8, later by position)
    assert [(r[0], r[1], r[3], r[4]) for r in out] == [
        (spans.records[0], spans.labels["PER"], 0, 3),
        (spans.records[1], spans.labels["LOC"], 3, 4),
    ]
    assert out[0][2] == pytest.approx(1 / (1 + 2.718281828459045 ** (-7 * 0.8 + 3)))


def test_watcher_enqueues_one_statistics_job_after_manual_labels_change() -> None:
    from shared_model.models import Job

    built = classification_task()
    watcher = ManualLabelWatcher(quiet_s=0.0)
    assert watcher.check() == []  # first pass only learns the state
    build_task(TaskType.MULTICLASS_CLASSIFICATION, ["neg"], 1, {}, project_id=built.project_id)  # unrelated task
    from .fixtures import _rla  # noqa: PLC0415

    with session_scope() as s:
        from shared_model.models import SourceType

        s.add(_rla(built.project_id, built.task_id, built.records, built.labels, (3, "pos"), SourceType.MANUAL, None))
    assert watcher.check() == [built.task_id]
    assert watcher.check() == []
    with session_scope() as s:
        jobs = s.scalars(select(Job).where(Job.kind == "heuristic_statistics")).all()
        assert len(jobs) == 1 and jobs[0].parameters["labeling_task_id"] == str(built.task_id)


def test_watcher_skips_a_deleted_project_and_still_serves_the_others() -> None:
    """A task whose project is deleted during the quiet period is dropped (it once failed every later pass with a
    foreign-key error, so no task got statistics again); a task whose manual labels were all removed is recomputed."""
    import time

    from sqlalchemy import text

    from shared_model.models import SourceType

    from .fixtures import _rla  # noqa: PLC0415

    gone, kept = classification_task(), classification_task()
    watcher = ManualLabelWatcher(quiet_s=0.3)
    assert watcher.check() == []
    with session_scope() as s:
        for built in (gone, kept):
            s.add(_rla(built.project_id, built.task_id, built.records, built.labels, (3, "pos"), SourceType.MANUAL, None))
    assert watcher.check() == []  # changed, not yet quiet
    with session_scope() as s:
        s.execute(text("DELETE FROM project WHERE id = :p"), {"p": gone.project_id})
    time.sleep(0.35)
    assert watcher.check() == [kept.task_id]
    assert watcher.check() == []
    with session_scope() as s:
        s.execute(
            text("DELETE FROM record_label_association WHERE labeling_task_id = :t AND source_type = 'MANUAL'"),
            {"t": kept.task_id},
        )
        s.execute(text("DELETE FROM job WHERE kind = 'heuristic_statistics'"))
    assert watcher.check() == []
    time.sleep(0.35)
    assert watcher.check() == [kept.task_id]
