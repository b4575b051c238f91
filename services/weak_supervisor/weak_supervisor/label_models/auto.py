"""``auto``: pick the model with the best cross-validated accuracy on the manual labels; ``generative`` without them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .base import Manual, ModelOptions, Prediction, Votes

MIN_MANUAL = 20  # fewer valid manual labels than this cannot rank models
FOLDS = 5


def cross_validated_accuracy(
    fit: Callable[[Votes, Manual, ModelOptions], Prediction], votes: Votes, manual: Manual, options: ModelOptions
) -> float:
    """Accuracy on held-out manual labels (k folds by record); a row the model leaves unlabeled counts as wrong."""
    rng = np.random.default_rng(options.seed)
    rows = np.unique(manual.rows)
    fold_of_row = np.full(votes.n_records, -1)
    fold_of_row[rows] = rng.permutation(len(rows)) % FOLDS
    gold = np.zeros((votes.n_records, votes.n_classes), dtype=bool)
    gold[manual.rows, manual.classes] = True
    correct = 0
    for fold in range(FOLDS):
        held = fold_of_row[manual.rows] == fold
        prediction = fit(votes, manual.select(~held), options)
        test_rows = rows[fold_of_row[rows] == fold]
        best, _ = prediction.winners()
        ok = prediction.labeled[test_rows] & gold[test_rows, best[test_rows]]
        correct += int(ok.sum())
    return correct / max(len(rows), 1)


def fit_predict(
    votes: Votes,
    manual: Manual,
    options: ModelOptions,
    candidates: dict[str, Callable[[Votes, Manual, ModelOptions], Prediction]],
) -> Prediction:
    """Rank ``candidates`` by cross-validated accuracy (ties: the earlier candidate) and refit the best on everything."""
    n_rows = len(np.unique(manual.rows)) if len(manual) else 0
    if n_rows < MIN_MANUAL:
        reason = f"{n_rows} valid manual labels (< {MIN_MANUAL}): no way to compare models, used the unsupervised one"
        prediction = candidates["generative"](votes, manual, options)
        prediction.details.update({"picked": "generative", "reason": reason})
        return prediction
    scores: dict[str, Any] = {
        name: round(cross_validated_accuracy(fit, votes, manual, options), 4) for name, fit in candidates.items()
    }
    picked = max(scores, key=lambda name: scores[name])
    prediction = candidates[picked](votes, manual, options)
    prediction.details.update(
        {
            "picked": picked,
            "cv_accuracy": scores,
            "reason": f"best {FOLDS}-fold cross-validated accuracy on {n_rows} manually labeled records",
        }
    )
    return prediction
