"""How far the manual labels speak for the other records: a density ratio from the vote patterns alone.

A logistic regression tells labeled from unlabeled records by their votes (which heuristic voted which class, and
which class groups voted at all), its regularisation chosen by log-loss, cross-fitted in :data:`FOLDS` folds so no
record is scored by a fit that saw it.
From its probability ``p`` the density ratio unlabeled : labeled of a record's vote pattern is
``(p_unlabeled / p_labeled) · (n_labeled / n_unlabeled)`` — 1 everywhere when the labels are a random sample.

* Labeled records get that ratio as an **importance weight** (clipped at :data:`MAX_WEIGHT` × the mean, normalised to
  mean 1): cross-validation on the labels then estimates accuracy on the unlabeled records' mix of vote patterns
  (importance-weighted CV, Sugiyama et al. 2007), and the effective number of labels ``(Σw)² / Σw²`` says how many
  labels actually speak for the rest.
* Unlabeled records get a **support**: the inverse ratio (labeled : unlabeled). Where it is below
  :data:`MIN_SUPPORT` — vote patterns the labeled records (almost) never show — what the labels teach is not trusted
  and the answer without labels is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .base import FloatArray, Manual, Votes

FOLDS = 3
MAX_WEIGHT = 10.0  # no labeled record weighs more than 10 × the mean
MIN_SUPPORT = 0.1  # an unlabeled record whose vote pattern is 10 × rarer among the labeled records is out of support
C_GRID = (0.003, 0.03, 0.3, 1.0)  # logistic regression's inverse regularisation, chosen by log-loss


def _features(votes: Votes) -> sp.csr_matrix:
    onehot = votes.onehot()
    groups = sp.csr_matrix((np.ones(len(votes.rows)), (votes.rows, votes.classes)), shape=(votes.n_records, votes.n_classes))
    groups.data[:] = 1.0
    return sp.hstack([onehot, groups], format="csr")


def labeled_probability(votes: Votes, labeled: NDArray[np.bool_], seed: int = 0) -> tuple[FloatArray, float]:
    """Cross-fitted P(labeled | vote pattern) per record (class-balanced fit, so 0.5 means "no evidence") and the
    regularisation chosen: the ``C`` of :data:`C_GRID` with the lowest balanced cross-fitted log-loss — strong
    regularisation (ratios near 1) unless the vote patterns really tell labeled from unlabeled records."""
    from sklearn.linear_model import LogisticRegression

    x = _features(votes)
    y = labeled.astype(np.int64)
    rng = np.random.default_rng([seed, 31])
    fold = rng.permutation(votes.n_records) % FOLDS
    balance = np.where(labeled, 0.5 / max(labeled.mean(), 1e-12), 0.5 / max(1 - labeled.mean(), 1e-12))
    best: tuple[float, float, FloatArray] | None = None
    for c in C_GRID:
        out = np.full(votes.n_records, 0.5)
        for f in range(FOLDS):
            train, test = fold != f, fold == f
            if len(np.unique(y[train])) < 2 or not test.any():
                continue
            model = LogisticRegression(C=c, class_weight="balanced", max_iter=300)
            model.fit(x[train], y[train])
            out[test] = model.predict_proba(x[test])[:, 1]
        out = np.clip(out, 1e-4, 1 - 1e-4)
        loss = float(-(balance * np.where(labeled, np.log(out), np.log1p(-out))).mean())
        if best is None or loss < best[0] - 1e-9:
            best = (loss, c, out)
    assert best is not None
    return best[2], best[1]


LABELED_MIX = "labeled_class_mix"  # vote-pattern weights only: the unlabeled records' class mix taken as the labels'
PREDICTED_MIX = "predicted_class_mix"  # vote-pattern weights × the class mix the answer without labels predicts


def _normalised(weights: FloatArray) -> FloatArray:
    weights = np.minimum(weights / weights.mean(), MAX_WEIGHT)
    return np.asarray(weights / weights.mean(), dtype=np.float64)


def density_weightings(
    votes: Votes, manual: Manual, seed: int = 0, unlabeled_mix: FloatArray | None = None
) -> tuple[dict[str, FloatArray], FloatArray, dict[str, Any]]:
    """The labeled rows' importance weights under each estimate of the unlabeled records' class mix, from one fit.

    :data:`LABELED_MIX`: the vote-pattern ratio alone (right when the labels are a random sample of the classes);
    :data:`PREDICTED_MIX` (only with ``unlabeled_mix``): times ``unlabeled_mix[y] / labeled_mix[y]`` (right when the
    answer without labels gets the class mix right — it does not where it is biased towards some classes, e.g. a
    group of near-copies of one class's heuristic). The weights are of the labeled rows in ``np.unique(manual.rows)``
    order; ``support`` is every row's; the summary's ``effective_labels`` is of :data:`PREDICTED_MIX` where given,
    else of :data:`LABELED_MIX`."""
    labeled = np.zeros(votes.n_records, dtype=bool)
    rows = np.unique(manual.rows)
    labeled[rows] = True
    if len(rows) == 0 or labeled.all():
        ones = np.ones(len(rows))
        same = {LABELED_MIX: ones, **({PREDICTED_MIX: ones} if unlabeled_mix is not None else {})}
        return same, np.ones(votes.n_records), {"effective_labels": len(rows)}
    p, c = labeled_probability(votes, labeled, seed)
    ratio = (1 - p) / p  # balanced fit: unlabeled : labeled density ratio
    weightings = {LABELED_MIX: _normalised(ratio[rows])}
    class_weight: FloatArray | None = None
    if unlabeled_mix is not None:
        first = manual.dense(votes.n_records)[rows]
        labeled_mix = np.bincount(first, minlength=votes.n_classes) / len(rows)
        class_weight = np.asarray(unlabeled_mix, dtype=np.float64) / np.maximum(labeled_mix, 1e-12)
        weightings[PREDICTED_MIX] = _normalised(ratio[rows] * class_weight[first])
    weights = weightings[PREDICTED_MIX if class_weight is not None else LABELED_MIX]
    support = 1.0 / ratio
    effective = float(weights.sum() ** 2 / (weights**2).sum())
    outside = (~labeled) & (support < MIN_SUPPORT)
    summary: dict[str, Any] = {
        "effective_labels": round(effective, 1),
        "labels": int(len(rows)),
        "records_outside_label_support": int(outside.sum()),
        "min_support": MIN_SUPPORT,
        "regularisation_c": c,
    }
    if class_weight is not None:
        summary["class_weights"] = [round(float(x), 3) for x in class_weight]
        plain = weightings[LABELED_MIX]
        summary["effective_labels_labeled_mix"] = round(float(plain.sum() ** 2 / (plain**2).sum()), 1)
    return weightings, support, summary
