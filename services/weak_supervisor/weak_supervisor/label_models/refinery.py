"""The reference's precision-weighted vote with its sigmoid confidence (weak-nlp), reproduced exactly."""

from __future__ import annotations

import numpy as np

from .base import DEFAULT_PRECISION, FloatArray, Manual, ModelOptions, Prediction, Votes


def estimate_precision(votes: Votes, manual: Manual, overrides: dict[int, float] | None = None) -> FloatArray:
    """``m × K`` precision TP/(TP+FP) of each source and voted class on manually labeled rows.

    With no manual label at all, or no manually labeled row where the source voted that class, the precision is 0.8
    (the reference's default). ``overrides`` set a source's precision for every class.
    """
    m, k = votes.n_sources, votes.n_classes
    precision = np.full((m, k), DEFAULT_PRECISION)
    if len(manual):
        gold = np.zeros((votes.n_records, k), dtype=bool)
        gold[manual.rows, manual.classes] = True
        labeled = np.zeros(votes.n_records, dtype=bool)
        labeled[manual.rows] = True
        on_labeled = labeled[votes.rows]
        r, s, c = votes.rows[on_labeled], votes.sources[on_labeled], votes.classes[on_labeled]
        hit = gold[r, c].astype(np.float64)
        tp = np.zeros((m, k))
        n = np.zeros((m, k))
        np.add.at(tp, (s, c), hit)
        np.add.at(n, (s, c), 1.0)
        precision = np.where(n > 0, tp / np.maximum(n, 1.0), precision)
    for source, value in (overrides or {}).items():
        precision[source, :] = value
    return precision


def sigmoid_confidence(margin: FloatArray) -> FloatArray:
    """The reference's confidence ``1 / (1 + exp(-7 m + 3))``."""
    return np.asarray(1.0 / (1.0 + np.exp(-7.0 * margin + 3.0)))


def fit_predict(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """Sum ``precision × confidence`` per class; label when the winner's margin over the rest is positive."""
    precision = estimate_precision(votes, manual, options.precision_overrides)
    weights = votes.class_scores(precision[votes.sources, votes.classes] * votes.confidence)
    best = weights.max(axis=1)
    margin = best - (weights.sum(axis=1) - best)
    labeled = margin > 0
    confidence = sigmoid_confidence(margin)
    totals = weights.sum(axis=1, keepdims=True)
    uniform = np.full(weights.shape, 1.0 / votes.n_classes)
    proba = np.divide(weights, totals, out=uniform, where=(totals > 0) & labeled[:, None])
    details = {"precision_default": DEFAULT_PRECISION, "manual_labels": len(manual)}
    return Prediction(proba, labeled, details, confidence=np.where(labeled, confidence, 0.0))
