"""``auto`` with manual labels ranks the models of a two-class task with a rare class by that class's F1 (as WRENCH
scores sms), and never takes a challenger whose accuracy gain comes from dropping the rare class."""

from __future__ import annotations

import numpy as np

from weak_supervisor.label_models import Manual, ModelOptions, Prediction, Votes, auto
from weak_supervisor.label_models.auto import selection_metric, weighted_f1


def rare_class_task(seed: int = 0) -> tuple[Votes, np.ndarray, Manual]:
    """2,000 records, 12 % of class 1; heuristics cover about half of them (the rest: no vote), 300 labeled."""
    rng = np.random.default_rng(seed)
    n = 2000
    truth = (rng.random(n) < 0.12).astype(np.int64)
    columns = []
    for c, recall, false_rate in ((0, 0.35, 0.03), (0, 0.3, 0.04), (1, 0.6, 0.03), (1, 0.5, 0.02), (0, 0.25, 0.05)):
        p = np.where(truth == c, recall, false_rate)
        columns.append(np.where(rng.random(n) < p, c, -1))
    weak = np.stack(columns, axis=1)
    labels = np.where(rng.random(n) < 0.15, truth, -1)
    return Votes.from_dense(weak, 2), truth, Manual.from_labels(labels)


def always_common(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """Every record gets class 0: high accuracy on 88 % / 12 %, no F1 of the rare class."""
    proba = np.tile([0.9, 0.1], (votes.n_records, 1))
    return Prediction(proba, np.ones(votes.n_records, dtype=bool), {})


def test_rare_class_tasks_are_ranked_by_its_f1_and_balanced_ones_by_accuracy() -> None:
    votes, truth, manual = rare_class_task()
    assert selection_metric(votes, manual) == 1
    balanced = Manual.from_labels(np.where(np.arange(len(truth)) < 200, np.arange(len(truth)) % 2, -1))
    assert selection_metric(votes, balanced) is None
    predicted, gold = np.array([1, 1, 0, -1]), np.array([1, 0, 1, 1])
    assert weighted_f1(predicted, gold, 1, np.ones(4)) == 2 * 1 / (2 + 3)


def test_a_challenger_that_drops_the_rare_class_is_not_taken_for_its_accuracy() -> None:
    votes, truth, manual = rare_class_task()
    run = auto.fit_predict(votes, manual, ModelOptions(), {"always_common": always_common})
    details = run.details
    assert details["selection_metric"] == "F1 of class 1"
    assert details["cv_accuracy"]["always_common"] > details["cv_accuracy"]["guarded"] + 0.1  # it wins on accuracy …
    assert details["cv_f1"]["always_common"] == 0.0 < details["cv_f1"]["guarded"]  # … by never saying the rare class
    assert details["picked"] == "guarded", details["reason"]
    assert "F1 of class 1" in details["reason"]


def test_a_challenger_better_on_the_rare_class_and_no_worse_on_accuracy_is_taken() -> None:
    votes, truth, manual = rare_class_task()

    def knows_the_truth(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
        proba = np.eye(2)[truth] * 0.9 + 0.05
        return Prediction(proba, np.ones(votes.n_records, dtype=bool), {})

    run = auto.fit_predict(votes, manual, ModelOptions(), {"always_common": always_common, "truth": knows_the_truth})
    assert run.details["picked"] == "truth", run.details["reason"]
    assert run.details["lower_bound_vs_champion"]["truth"] > 0
