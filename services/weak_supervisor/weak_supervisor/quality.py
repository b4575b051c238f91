"""Honest quality figures of a weak-supervision run: accuracy and per-label precision / recall estimated by k-fold
cross-validation on the manual labels, never on labels the model was fitted on.

Each fold refits the run's model (for ``auto``: the whole selection, so the figure includes the choice of model) with
the manual labels of the other folds and every record's votes, and predicts the held-out labeled records. A record the
model leaves without a label counts as wrong in ``accuracy`` (as it would in a training set built from the run);
``accuracy_on_labeled`` is the accuracy among the held-out records that got a label. The interval is Wilson's 95 %
score interval over the labeled records (folds are not independent samples, so it is a guide, not a guarantee).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .label_models import Manual, ModelOptions, Prediction, Votes, fit_predict, fit_predict_multilabel

MIN_LABELED = 10  # fewer labeled records than this give no figure worth showing
NESTED_MAX_CELLS = 2_000_000  # records × heuristics up to which ``auto``'s whole selection is refitted per fold
FOLDS = 5
Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion (0..1)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _folds(rows: NDArray[np.int64], seed: int) -> tuple[NDArray[np.int64], int]:
    """Fold index of each labeled row (random, balanced) and the number of folds."""
    k = min(FOLDS, len(rows))
    rng = np.random.default_rng(seed)
    return rng.permutation(len(rows)) % k, k


def _unavailable(reason: str, n: int) -> dict[str, Any]:
    return {"available": False, "reason": reason, "manual_labels": n}


def single_label_quality(
    model: str,
    votes: Votes,
    manual: Manual,
    options: ModelOptions,
    label_keys: list[str],
    *,
    picked: str | None = None,
) -> dict[str, Any]:
    """Cross-validated figures of ``model`` on a single-label classification task (``label_keys``: class index →
    the key used in ``per_label``, e.g. the label's id). For ``auto`` on a large task (over
    :data:`NESTED_MAX_CELLS` records × heuristics) the folds refit the model it ``picked`` instead of the whole
    selection, and the result says so (the figure is then slightly optimistic: the pick saw every label)."""
    started = time.perf_counter()
    note = None
    if model == "auto" and picked and votes.n_records * votes.n_sources > NESTED_MAX_CELLS:
        note = (
            f"folds refit the picked model {picked!r}, not the whole selection (large task): slightly optimistic, the"
            " pick saw every label"
        )
        model = picked
    rows = np.unique(manual.rows)
    if len(rows) < MIN_LABELED:
        return _unavailable(f"{len(rows)} labeled records (< {MIN_LABELED}): too few to estimate quality", len(rows))
    gold = manual.dense(votes.n_records)
    fold_of, k = _folds(rows, options.seed)
    fold_of_row = np.full(votes.n_records, -1, dtype=np.int64)
    fold_of_row[rows] = fold_of
    predicted = np.full(votes.n_records, -1, dtype=np.int64)
    for fold in range(k):
        train = fold_of_row[manual.rows] != fold
        prediction = fit_predict(model, votes, manual.select(train), options)
        held = rows[fold_of == fold]
        predicted[held] = _decided(prediction)[held]
    figures = _figures(gold[rows], predicted[rows], votes.n_classes, label_keys, k, time.perf_counter() - started)
    if note:
        figures["note"] = note
    return figures


def _decided(prediction: Prediction) -> NDArray[np.int64]:
    """The label the run would write per row (-1: none — unlabeled by the model, or a tie)."""
    best, _ = prediction.winners()
    out = np.where(prediction.labeled, best, -1)
    if prediction.proba.shape[1] > 1:
        top2 = np.sort(prediction.proba, axis=1)[:, -2:]
        out[top2[:, 1] - top2[:, 0] <= 1e-9] = -1
    return np.asarray(out, dtype=np.int64)


def _label_figures(tp: int, predicted: int, support: int) -> dict[str, Any]:
    """One label's precision and recall from its true positives, predictions and manual labels."""
    return {
        "precision": round(tp / predicted, 4) if predicted else None,
        "recall": round(tp / support, 4) if support else None,
        "support": support,
        "predicted": predicted,
    }


def _figures(
    gold: NDArray[np.int64], predicted: NDArray[np.int64], n_classes: int, label_keys: list[str], folds: int, seconds: float
) -> dict[str, Any]:
    n = len(gold)
    correct = int((predicted == gold).sum())
    with_label = int((predicted >= 0).sum())
    low, high = wilson_interval(correct, n)
    per_label = {
        label_keys[c]: _label_figures(
            int(((predicted == c) & (gold == c)).sum()), int((predicted == c).sum()), int((gold == c).sum())
        )
        for c in range(n_classes)
    }
    return {
        "available": True,
        "method": f"{folds}-fold cross-validation on the manual labels (each fold refits the run's model without them)",
        "folds": folds,
        "manual_labels": n,
        "accuracy": round(correct / n, 4),
        "accuracy_interval_95": [round(low, 4), round(high, 4)],
        "accuracy_on_labeled": round(correct / with_label, 4) if with_label else None,
        "coverage": round(with_label / n, 4),
        "per_label": per_label,
        "seconds": round(seconds, 3),
    }


def multilabel_quality(votes: Votes, manual: Manual, options: ModelOptions, label_keys: list[str]) -> dict[str, Any]:
    """Cross-validated per-label precision / recall of the multi-label model, and the exact-match accuracy (every
    label of the record right) with its interval."""
    started = time.perf_counter()
    rows = np.unique(manual.rows)
    if len(rows) < MIN_LABELED:
        return _unavailable(f"{len(rows)} labeled records (< {MIN_LABELED}): too few to estimate quality", len(rows))
    k_classes = votes.n_classes
    gold = np.zeros((votes.n_records, k_classes), dtype=bool)
    gold[manual.rows, manual.classes] = True
    fold_of, k = _folds(rows, options.seed)
    fold_of_row = np.full(votes.n_records, -1, dtype=np.int64)
    fold_of_row[rows] = fold_of
    assigned = np.zeros((votes.n_records, k_classes), dtype=bool)
    for fold in range(k):
        proba, details = fit_predict_multilabel(votes, manual.select(fold_of_row[manual.rows] != fold), options)
        held = rows[fold_of == fold]
        assigned[held] = proba[held] >= details["threshold"]
    g, a = gold[rows], assigned[rows]
    exact = int((g == a).all(axis=1).sum())
    low, high = wilson_interval(exact, len(rows))
    per_label = {
        label_keys[c]: _label_figures(int((g[:, c] & a[:, c]).sum()), int(a[:, c].sum()), int(g[:, c].sum()))
        for c in range(k_classes)
    }
    return {
        "available": True,
        "method": f"{k}-fold cross-validation on the manual labels (each fold refits without them); accuracy = every "
        "label of the record right",
        "folds": k,
        "manual_labels": int(len(rows)),
        "accuracy": round(exact / len(rows), 4),
        "accuracy_interval_95": [round(low, 4), round(high, 4)],
        "per_label": per_label,
        "seconds": round(time.perf_counter() - started, 3),
    }


__all__ = ["MIN_LABELED", "multilabel_quality", "single_label_quality", "wilson_interval"]
