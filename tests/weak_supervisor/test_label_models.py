"""Label models on arrays: the reference's exact formula, and the learned models on data with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from weak_supervisor.label_models import Manual, ModelOptions, Votes, fit_predict, fit_predict_multilabel


def synthetic(n: int = 3000, m: int = 12, k: int = 3, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Votes of heuristics with very different accuracies; returns (weak label matrix, truth, accuracies)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    accuracy = np.concatenate([np.full(3, 0.95), np.full(m - 3, 0.45)])
    weak = np.full((n, m), -1)
    for j in range(m):
        fires = rng.random(n) < 0.5
        right = rng.random(n) < accuracy[j]
        wrong = (truth + rng.integers(1, k, n)) % k
        weak[fires, j] = np.where(right, truth, wrong)[fires]
    return weak, truth, accuracy


def accuracy_of(prediction, truth: np.ndarray, rows: np.ndarray | None = None) -> float:  # type: ignore[no-untyped-def]
    best, _ = prediction.winners()
    sel = prediction.labeled if rows is None else rows
    return float((best[sel] == truth[sel]).mean())


def test_refinery_matches_the_reference_formula() -> None:
    # one heuristic with precision 1.0 gives 0.982; an even split gives no label
    votes = Votes.from_arrays(3, 2, 2, rows=[0, 1, 2, 2], sources=[0, 0, 0, 1], classes=[1, 1, 0, 1])
    manual = Manual(np.array([0]), np.array([1]))  # source 0 voted 1 on record 0, right: precision 1.0
    pred = fit_predict("refinery", votes, manual, ModelOptions(precision_overrides={1: 0.8}))
    best, conf = pred.winners()
    assert pred.labeled.tolist() == [True, True, False]
    assert best[:2].tolist() == [1, 1]
    assert conf[0] == pytest.approx(1 / (1 + np.exp(-7 + 3)), abs=1e-12) and round(conf[0], 3) == 0.982
    # without any manual label every heuristic weighs 0.8: margin 0.8 → sigmoid(7·0.8 − 3)
    pred = fit_predict("refinery", votes, Manual.empty())
    assert pred.winners()[1][0] == pytest.approx(1 / (1 + np.exp(-7 * 0.8 + 3)))


def test_majority_and_uncovered_rows() -> None:
    weak = np.array([[0, 0, 1], [-1, -1, -1], [1, -1, -1]])
    pred = fit_predict("majority", Votes.from_dense(weak, 2))
    assert pred.labeled.tolist() == [True, False, True]
    assert pred.winners()[0][[0, 2]].tolist() == [0, 1]


def test_generative_learns_which_heuristics_to_trust() -> None:
    weak, truth, _ = synthetic()
    votes = Votes.from_dense(weak, 3)
    majority = accuracy_of(fit_predict("majority", votes), truth)
    for name in ("generative", "dawid_skene"):
        assert accuracy_of(fit_predict(name, votes), truth) > majority + 0.03, name
    assert fit_predict("dawid_skene", votes).details["iterations"] >= 1


def test_semi_uses_manual_labels_and_auto_reports_its_pick() -> None:
    weak, truth, _ = synthetic(seed=3)
    votes = Votes.from_dense(weak, 3)
    labels = np.full(len(truth), -1)
    labels[:300] = truth[:300]
    manual = Manual.from_labels(labels)
    unlabeled = np.zeros(len(truth), bool)
    unlabeled[300:] = True
    semi = fit_predict("semi", votes, manual)
    assert accuracy_of(semi, truth, unlabeled & semi.labeled) >= accuracy_of(
        fit_predict("majority", votes), truth, unlabeled & semi.labeled
    )
    auto = fit_predict("auto", votes, manual)
    candidates = {"guarded", "semi", "generative", "semi_em", "dawid_skene", "refinery", "majority"}
    assert auto.details["picked"] in candidates and auto.details["reason"]
    assert set(auto.details["cv_accuracy"]) == candidates
    assert set(auto.details["lower_bound_vs_champion"]) == candidates - {"guarded"}
    if auto.details["picked"] != "guarded":  # a challenger replaces the champion only when clearly better
        assert auto.details["lower_bound_vs_champion"][auto.details["picked"]] > 0
    fallback = fit_predict("auto", votes, Manual.empty())
    assert fallback.details["picked"] == "guarded" and "manual labels" in fallback.details["reason"]


def test_unknown_model_and_bad_votes_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown label model"):
        fit_predict("nope", Votes.from_dense(np.zeros((1, 1)), 2))
    with pytest.raises(ValueError, match="classes must lie"):
        Votes.from_arrays(2, 1, 2, [0], [0], [5])


def test_multilabel_noisy_or() -> None:
    votes = Votes.from_arrays(2, 2, 3, rows=[0, 0, 0, 1], sources=[0, 1, 1, 0], classes=[0, 0, 2, 1])
    proba, details = fit_predict_multilabel(votes, Manual.empty(), ModelOptions(precision_overrides={1: 0.3}))
    assert proba[0, 0] == pytest.approx(1 - 0.2 * 0.7)
    assert proba[0, 2] == pytest.approx(0.3) and proba[0, 2] < details["threshold"]
    assert proba[1, 1] == pytest.approx(0.8)


def test_generative_rates_are_class_conditional_and_a_silent_heuristic_is_no_evidence() -> None:
    # heuristic 0 votes class 0 but fires mostly on class-1 records (a broad rule); heuristic 1 is a precise class-1
    # rule and heuristic 2 a precise class-0 rule. The anchored rates learn that a lone vote of 0 means class 1.
    rng = np.random.default_rng(5)
    n = 4000
    truth = rng.integers(0, 2, n)
    weak = np.full((n, 3), -1)
    weak[rng.random(n) < np.where(truth == 1, 0.9, 0.3), 0] = 0
    weak[(truth == 1) & (rng.random(n) < 0.5), 1] = 1
    weak[(truth == 0) & (rng.random(n) < 0.6), 2] = 0
    votes = Votes.from_dense(weak, 2)
    pred = fit_predict("generative", votes)
    lone = (weak[:, 0] == 0) & (weak[:, 1] < 0) & (weak[:, 2] < 0)
    both = (weak[:, 0] == 0) & (weak[:, 1] == 1)
    assert accuracy_of(pred, truth, both) == 1.0  # the precise rule beats the broad one
    assert accuracy_of(pred, truth) > accuracy_of(fit_predict("majority", votes), truth) + 0.05
    # a heuristic's own silence is not evidence: adding a (nearly) silent heuristic changes nothing
    wider = np.hstack([weak, np.full((n, 1), -1)])
    wider[0, 3] = 1
    pred_wider = fit_predict("generative", Votes.from_dense(wider, 2))
    assert np.allclose(pred_wider.proba[1:][lone[1:]], pred.proba[1:][lone[1:]], atol=1e-3)


def test_group_silence_is_evidence_once() -> None:
    # a broad rule votes 0 but fires more on class 1; three precise class-1 rules cover most of class 1. A row with only
    # the broad vote is class 0 in 86 % of cases: the silence of the whole class-1 group says so, once, and the
    # posterior follows (votes alone would give ≈ 0.6)
    rng = np.random.default_rng(6)
    n = 4000
    truth = rng.integers(0, 2, n)
    weak = np.full((n, 4), -1)
    weak[rng.random(n) < np.where(truth == 1, 0.7, 0.3), 0] = 0
    for j in (1, 2, 3):
        weak[rng.random(n) < np.where(truth == 1, 0.6, 0.02), j] = 1
    pred = fit_predict("generative", Votes.from_dense(weak, 2))
    lone = (weak[:, 0] == 0) & (weak[:, 1:] < 0).all(axis=1)
    share_of_class_0 = float((truth[lone] == 0).mean())
    assert share_of_class_0 > 0.8
    assert pred.proba[lone, 0].mean() == pytest.approx(share_of_class_0, abs=0.05)
    assert not pred.labeled[(weak < 0).all(axis=1)].any()  # rows without votes get no label


def test_semi_shrinks_toward_the_unsupervised_rates_and_fits_the_prior_to_all_records() -> None:
    weak, truth, _ = synthetic(seed=4)
    votes = Votes.from_dense(weak, 3)
    unsupervised = fit_predict("generative", votes)
    assert unsupervised.details["class_prior"] == [pytest.approx(1 / 3, abs=1e-4)] * 3
    labels = np.full(len(truth), -1)
    labels[:200] = truth[:200]
    semi = fit_predict("semi", votes, Manual.from_labels(labels))
    held = np.arange(len(truth)) >= 200
    assert accuracy_of(semi, truth, held) >= accuracy_of(unsupervised, truth, held)
    assert semi.details["manual_rows"] == 200 and sum(semi.details["class_prior"]) == pytest.approx(1.0, abs=1e-3)
    # labels of a skewed class mix (a user labeling one slice): the prior follows the records, not the labels
    skewed = np.full(len(truth), -1)
    for cls, count in ((0, 150), (1, 25), (2, 25)):
        picked = np.flatnonzero(truth == cls)[:count]
        skewed[picked] = cls
    shifted = fit_predict("semi", votes, Manual.from_labels(skewed))
    covered = votes.covered()
    true_mix = np.bincount(truth[covered], minlength=3) / covered.sum()
    assert np.allclose(shifted.details["class_prior"], true_mix, atol=0.08)  # the labels' mix: 0.75 / 0.125 / 0.125
    assert accuracy_of(shifted, truth, held) >= accuracy_of(unsupervised, truth, held) - 0.01
    # no manual labels: semi is the unsupervised model
    assert np.allclose(fit_predict("semi", votes).proba, unsupervised.proba)
