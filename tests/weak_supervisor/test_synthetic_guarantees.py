"""The guarantees of ``auto`` on the synthetic suite (fixed seeds): never more than 0.5 point below majority vote
without manual labels, and never worse with manual labels than without."""

from __future__ import annotations

import numpy as np
import pytest

from weak_supervisor.label_models import Manual, Prediction, Votes, fit_predict
from weak_supervisor.label_models.auto import label_shift
from weak_supervisor.synthetic import SCENARIOS, SyntheticTask, suite
from weak_supervisor.wrench import score


def accuracy(prediction: Prediction, task: SyntheticTask, rows: np.ndarray) -> float:
    proba = prediction.proba.copy()
    proba[~prediction.labeled] = 1.0 / task.n_classes  # the WRENCH protocol: no label → uniform, sha1 tie-break
    return score(proba[rows], task.truth[rows], task.n_classes)[0]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_auto_is_safe_without_labels_and_labels_never_make_it_worse(name: str) -> None:
    task = SCENARIOS[name](0)
    votes = Votes.from_dense(task.weak, task.n_classes)
    unlabeled = ~task.labeled
    majority = accuracy(fit_predict("majority", votes), task, unlabeled)
    alone = fit_predict("auto", votes)
    assert alone.details["picked"] == "guarded" and "manual labels" in alone.details["reason"]
    without = accuracy(alone, task, unlabeled)
    assert without >= majority - 0.5, (name, without, majority)
    helped = fit_predict("auto", votes, Manual.from_labels(np.where(task.labeled, task.truth, -1)))
    assert accuracy(helped, task, unlabeled) >= without, (name, helped.details)


def test_the_suite_covers_what_the_issue_names() -> None:
    tasks = {t.name: t for t in suite(seeds=1)}
    assert tasks["many_classes"].n_classes >= 10
    assert tasks["low_coverage"].weak.shape[1] >= 150
    assert (tasks["low_coverage"].weak >= 0).mean(axis=0).max() < 0.05  # every heuristic fires on < 5 % of records
    shares = np.bincount(tasks["imbalanced"].truth) / len(tasks["imbalanced"].truth)
    assert shares.min() < 0.15
    first = SCENARIOS["independent"](7)
    again = SCENARIOS["independent"](7)
    assert np.array_equal(first.weak, again.weak) and np.array_equal(first.truth, again.truth)


def test_shifted_labels_are_detected_and_random_ones_are_not() -> None:
    shifted = SCENARIOS["shifted_labels"](0)
    votes = Votes.from_dense(shifted.weak, shifted.n_classes)
    found = label_shift(votes, Manual.from_labels(np.where(shifted.labeled, shifted.truth, -1)))
    assert found["shifted"] and found["largest"]["heuristic"] == 0
    assert found["largest"]["labeled_share"] > 0.8 > 0.3 > found["largest"]["other_share"]
    plain = SCENARIOS["independent"](0)
    votes = Votes.from_dense(plain.weak, plain.n_classes)
    assert not label_shift(votes, Manual.from_labels(np.where(plain.labeled, plain.truth, -1)))["shifted"]
    run = fit_predict("auto", votes, Manual.from_labels(np.where(plain.labeled, plain.truth, -1)))
    assert run.details["label_shift"]["shifted"] is False and "cross-validation" in run.details["reason"]


def test_guarded_changes_majority_vote_only_on_ties_and_confident_rows() -> None:
    task = SCENARIOS["imbalanced"](1)
    votes = Votes.from_dense(task.weak, task.n_classes)
    majority, guarded = fit_predict("majority", votes), fit_predict("guarded", votes)
    generative = fit_predict("generative", votes)
    top = majority.proba.max(axis=1, keepdims=True)
    decided = ((majority.proba >= top - 1e-9).sum(axis=1) == 1) & votes.covered()
    changed = decided & (guarded.proba.argmax(axis=1) != majority.proba.argmax(axis=1))
    assert guarded.details["overrides"] == int(changed.sum())
    assert (generative.proba[changed].max(axis=1) >= 0.9).all()
