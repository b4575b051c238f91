"""Multi-label tasks: each label is decided on its own from the votes for it.

A label's probability is the noisy-OR of its voters' precision × confidence (precision from the manual labels as in
the reference, 0.8 without evidence); it is assigned when that reaches 0.5.
"""

from __future__ import annotations

import numpy as np

from .base import DEFAULT_PRECISION, FloatArray, Manual, ModelOptions, Votes


def fit_predict_multilabel(votes: Votes, manual: Manual, options: ModelOptions) -> tuple[FloatArray, dict[str, float]]:
    """``n × K`` probability of each label; the caller assigns those ≥ its threshold."""
    m, k, n = votes.n_sources, votes.n_classes, votes.n_records
    precision = np.full((m, k), DEFAULT_PRECISION)
    if len(manual):
        gold = np.zeros((n, k), dtype=bool)
        gold[manual.rows, manual.classes] = True
        labeled = np.zeros(n, dtype=bool)
        labeled[manual.rows] = True
        sel = labeled[votes.rows]
        tp = np.zeros((m, k))
        total = np.zeros((m, k))
        np.add.at(tp, (votes.sources[sel], votes.classes[sel]), gold[votes.rows[sel], votes.classes[sel]])
        np.add.at(total, (votes.sources[sel], votes.classes[sel]), 1.0)
        precision = np.where(total > 0, tp / np.maximum(total, 1.0), precision)
    for source, value in options.precision_overrides.items():
        precision[source, :] = value
    p = np.clip(precision[votes.sources, votes.classes] * np.minimum(votes.confidence, 1.0), 0.0, 1.0 - 1e-12)
    log_miss = np.zeros((n, k))
    np.add.at(log_miss, (votes.rows, votes.classes), np.log1p(-p))
    return 1.0 - np.exp(log_miss), {"threshold": 0.5}
