"""Class-conditional naive Bayes over the votes (the default ``generative`` and ``semi`` models).

Model: a record of class ``y`` receives a vote ``c`` from heuristic ``j`` at rate ``R[j, c, y]`` (per heuristic, voted
class *and* true class — a keyword rule may fire more often on another class than on its own). Abstains are not
evidence (as in Data Programming): the heuristics of one class are strongly dependent in their silences, and counting
them as independent evidence hurt every WRENCH valid split. The posterior of a row is
``softmax(log prior + Σ_votes log R[j, c, ·])``.

Estimation without manual labels: the rates are estimated once from the majority vote's soft labels ("anchored" on the
majority vote; rows without votes count ⅟K per class). Running EM to convergence from there lets one broad heuristic
absorb a whole class (on trec the 62 %-coverage "what is" rule became the DESC class), so the anchored moment estimate is
used as is. The class prior is uniform: the rates already carry how often each class draws votes.

With manual labels: the rates are the labeled rows' counts plus ``strength`` pseudo-rows of the anchored estimate per
class (shrinkage toward the unsupervised rates), and the class prior is the labels' class mix (add-one smoothed).
Both choices were made by 5-fold cross-validation inside the WRENCH valid splits (docs/weak-supervision.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import FloatArray, Manual, ModelOptions, Prediction, Votes, majority_init, softmax

STRENGTH = 10.0  # pseudo-rows per class of the anchored estimate when manual labels exist
RATE_FLOOR = 1e-4  # a vote never seen on a class still costs at most log(1e-4)


def anchored_rates(votes: Votes) -> tuple[FloatArray, FloatArray]:
    """``(m·K) × K`` vote rates from the majority vote's soft labels, and the soft class totals."""
    q = majority_init(votes)
    totals = q.sum(axis=0)
    counts = np.asarray(votes.onehot().T @ q)
    return (counts + 1e-3) / (totals[None, :] + 1e-3), totals


def naive_bayes(votes: Votes, manual: Manual | None = None, strength: float = STRENGTH) -> tuple[FloatArray, dict[str, Any]]:
    """Posterior per row and a summary; see the module docstring."""
    k = votes.n_classes
    onehot = votes.onehot()
    rates, _ = anchored_rates(votes)
    log_prior = np.zeros(k)
    n_labeled = 0
    if manual is not None and len(manual):
        rows = np.unique(manual.rows)
        n_labeled = len(rows)
        labels = manual.dense(votes.n_records)[rows]
        onehot_labels = np.eye(k)[labels]
        label_totals = onehot_labels.sum(axis=0)
        label_counts = np.asarray(onehot[rows].T @ onehot_labels)
        rates = (label_counts + strength * rates) / (label_totals[None, :] + strength)
        log_prior = np.log((label_totals + 1.0) / (label_totals.sum() + k))
    log_rates = np.log(np.maximum(rates, RATE_FLOOR))
    posterior = softmax(np.asarray(onehot @ log_rates) + log_prior)
    summary: dict[str, Any] = {
        "manual_rows": n_labeled,
        "class_prior": [round(float(p), 4) for p in np.exp(log_prior) / np.exp(log_prior).sum()],
    }
    if n_labeled:
        summary["strength"] = strength
    return posterior, summary


def fit_predict_unsupervised(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """``generative``: manual labels are ignored; rows without votes get no label."""
    posterior, summary = naive_bayes(votes, None)
    return Prediction(posterior, votes.covered(), summary)


def fit_predict_semi(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """``semi``: manual labels shrink the anchored rates and set the class prior; without them, ``generative``."""
    posterior, summary = naive_bayes(votes, manual)
    return Prediction(posterior, votes.covered(), summary)
