"""Quality figures of a run are cross-validated on the manual labels, never measured on the labels a model saw."""

from __future__ import annotations

import numpy as np
import pytest

from shared_model.models import TaskType
from weak_supervisor.label_models import Manual, ModelOptions, Votes, fit_predict
from weak_supervisor.quality import MIN_LABELED, multilabel_quality, single_label_quality, wilson_interval
from weak_supervisor.runs import run_weak_supervision

from .fixtures import build_task


def memorisable(n: int = 60, seed: int = 1) -> tuple[Votes, Manual, np.ndarray]:
    """Heuristic j votes class 0 on record j only, and the true labels are coin flips: a model fitted on a record's
    own label can "learn" it (one unique vote pattern per record); nothing generalises to a held-out record."""
    y = np.random.default_rng(seed).integers(0, 2, n)
    votes = Votes.from_arrays(n, n, 2, np.arange(n), np.arange(n), np.zeros(n, dtype=np.int64))
    return votes, Manual.from_labels(y), y


def in_sample_accuracy(model: str, votes: Votes, manual: Manual, y: np.ndarray) -> float:
    prediction = fit_predict(model, votes, manual, ModelOptions())
    best, _ = prediction.winners()
    return float(((best == y) & prediction.labeled).mean())


def test_figures_are_held_out_not_in_sample() -> None:
    votes, manual, y = memorisable()
    assert in_sample_accuracy("semi_em", votes, manual, y) == 1.0  # what a training-set figure would claim
    quality = single_label_quality("semi_em", votes, manual, ModelOptions(), ["a", "b"])
    assert quality["available"] and quality["manual_labels"] == 60 and quality["folds"] == 5
    assert quality["accuracy"] <= 0.7  # coin flips stay coin flips on records the model did not see
    low, high = quality["accuracy_interval_95"]
    assert low <= quality["accuracy"] <= high and high < 1.0


def test_a_perfect_heuristic_scores_one_with_per_label_figures() -> None:
    y = np.array([0, 1, 2] * 10)
    votes = Votes.from_arrays(30, 1, 3, np.arange(30), np.zeros(30, dtype=np.int64), y)
    quality = single_label_quality("majority", votes, Manual.from_labels(y), ModelOptions(), ["x", "y", "z"])
    assert quality["accuracy"] == 1.0 and quality["coverage"] == 1.0
    assert quality["per_label"]["y"] == {"precision": 1.0, "recall": 1.0, "support": 10, "predicted": 10}
    assert quality["accuracy_interval_95"][1] == 1.0 and quality["accuracy_interval_95"][0] > 0.85


def test_unlabeled_records_count_as_wrong_and_accuracy_on_labeled_says_the_rest() -> None:
    y = np.array([0, 1] * 10)
    covered = np.arange(10)  # half the labeled records get no vote at all
    votes = Votes.from_arrays(20, 1, 2, covered, np.zeros(10, dtype=np.int64), y[covered])
    quality = single_label_quality("majority", votes, Manual.from_labels(y), ModelOptions(), ["a", "b"])
    assert quality["coverage"] == 0.5 and quality["accuracy"] == 0.5 and quality["accuracy_on_labeled"] == 1.0


def test_the_folds_match_an_independent_k_fold_reimplementation() -> None:
    rng = np.random.default_rng(3)
    n, m = 200, 6
    y = rng.integers(0, 3, n)
    rows, sources, classes = [], [], []
    for j in range(m):  # heuristics right 70 % of the time on the half of the records they cover
        hit = rng.random(n) < 0.5
        right = rng.random(n) < 0.7
        rows += list(np.flatnonzero(hit))
        sources += [j] * int(hit.sum())
        classes += list(np.where(right, y, (y + 1) % 3)[hit])
    votes = Votes.from_arrays(n, m, 3, rows, sources, classes)
    labeled = rng.permutation(n)[:80]
    dense = np.full(n, -1)
    dense[labeled] = y[labeled]
    manual = Manual.from_labels(dense)
    quality = single_label_quality("refinery", votes, manual, ModelOptions(seed=7), ["a", "b", "c"])
    # the same estimate by hand: each labeled record predicted by a model fitted without its fold's labels
    fold_of = np.random.default_rng(7).permutation(80) % 5
    labeled_rows = np.unique(manual.rows)
    correct = 0
    for fold in range(5):
        train = np.isin(manual.rows, labeled_rows[fold_of != fold])
        prediction = fit_predict("refinery", votes, manual.select(train), ModelOptions(seed=7))
        best, _ = prediction.winners()
        top2 = np.sort(prediction.proba, axis=1)[:, -2:]
        decided = prediction.labeled & (top2[:, 1] - top2[:, 0] > 1e-9)
        held = labeled_rows[fold_of == fold]
        correct += int((decided[held] & (best[held] == y[held])).sum())
    assert quality["accuracy"] == round(correct / 80, 4)


def test_too_few_labels_give_no_figure_and_say_why() -> None:
    votes, manual, _ = memorisable(n=MIN_LABELED - 1)
    quality = single_label_quality("semi", votes, manual, ModelOptions(), ["a", "b"])
    assert quality == {
        "available": False,
        "reason": f"{MIN_LABELED - 1} labeled records (< {MIN_LABELED}): too few to estimate quality",
        "manual_labels": MIN_LABELED - 1,
    }


def test_multilabel_exact_match_and_per_label() -> None:
    gold = [(r, c) for r in range(20) for c in range(3) if (r + c) % 2 == 0]
    rows, classes = zip(*gold, strict=True)
    votes = Votes.from_arrays(20, 1, 3, rows, [0] * len(rows), classes)
    quality = multilabel_quality(votes, Manual(np.asarray(rows), np.asarray(classes)), ModelOptions(), ["a", "b", "c"])
    assert quality["accuracy"] == 1.0 and quality["per_label"]["b"]["recall"] == 1.0


@pytest.mark.parametrize(("successes", "n", "expected"), [(8, 10, (0.4902, 0.9433)), (0, 20, (0.0, 0.1611))])
def test_wilson_interval(successes: int, n: int, expected: tuple[float, float]) -> None:
    low, high = wilson_interval(successes, n)
    assert (round(low, 4), round(high, 4)) == expected


def test_a_run_reports_its_quality_in_the_summary() -> None:
    heuristics = {"a": [(i, "pos" if i % 3 else "neg") for i in range(30)], "b": [(i, "pos") for i in range(0, 30, 2)]}
    built = build_task(TaskType.MULTICLASS_CLASSIFICATION, ["neg", "pos"], 30, heuristics, [(i, "pos") for i in range(12)])
    summary = run_weak_supervision(built.task_id, {"model": "refinery"})
    quality = summary["quality"]
    assert quality["available"] and quality["manual_labels"] == 12
    assert set(quality["per_label"]) == {str(built.labels["neg"]), str(built.labels["pos"])}
    few = build_task(TaskType.MULTICLASS_CLASSIFICATION, ["neg", "pos"], 30, heuristics, [(0, "neg")])
    assert run_weak_supervision(few.task_id, {"model": "refinery"})["quality"]["available"] is False
