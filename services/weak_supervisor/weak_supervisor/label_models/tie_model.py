"""The model that breaks majority vote's ties in ``guarded``: the generative model (``bayes.py``) with two changes
that matter where the evidence of a tie is a single vote per tied class, both decided on the synthetic suite (scales
0.2–1, seeds 0–4) and the WRENCH valid splits (docs/weak-supervision.md).

* **How many of a class's heuristics voted** is evidence, not only whether one did: the class-group factor counts a
  group's votes in buckets 0, 1, 2, 3+ (:data:`COUNT_BUCKETS`; near-copies once) instead of silent / active. One vote
  of a class with seven heuristics speaks less for it than the vote of a class's only heuristic — its records usually
  draw several. With on/off only, a class with many heuristics won the ties it shared with thinly covered classes
  (``shifted_labels`` seed 4 at 0.2–0.3 × size: 4, 7 and 4 heuristics per class, the middle class picked in 96 of 181
  ties and right in 26: 0.7 points below majority vote).
* **Pooled false-vote rates** from :data:`POOLED_FROM` classes on (:func:`pool_off_diagonal`): the majority-vote
  anchor splits a tie evenly between its classes whatever their sizes, so the per-class false rate of a rare class is
  inflated by the ties it shares with common classes, and a tie looked like evidence for the rarer class
  (``many_classes``, 12 classes at 3 : 1, half size: the common classes won 7–20 of the ties whose truth they held
  ~100 times; 0.5–0.8 points below majority vote). With 3–4 classes pooling helped some scenarios and cost others
  (``adversarial``, whose heuristics vote one specific wrong class), so there the rates stay per class.

Like the generative model, the rates and the count tables are estimated once from majority vote's soft labels (near-
copy groups counted once, rows without votes ⅟K per class), with a uniform class prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .base import FloatArray, IntArray, Votes, softmax
from .bayes import RATE_FLOOR, weighted_majority, weighted_onehot
from .structure import SPLIT_SEED_OFFSET, duplicate_groups, duplicate_weights

COUNT_BUCKETS = 4  # a class group's votes on a record: 0, 1, 2, 3 or more
POOLED_FROM = 5  # classes from which the false-vote rates are pooled


@dataclass(frozen=True)
class TieModel:
    """Log vote rates (``(m·K) × K``) and per class group the log probability of each vote-count bucket
    (``K × buckets × K``: group, bucket, true class)."""

    log_rates: FloatArray
    log_counts: FloatArray
    pooled: bool


def pooled(votes: Votes) -> bool:
    """Whether the false-vote rates are pooled: from :data:`POOLED_FROM` classes on (two classes: the same rates)."""
    return votes.n_classes >= POOLED_FROM


def pool_off_diagonal(counts: FloatArray, totals: FloatArray) -> FloatArray:
    """Soft counts ``X × K`` (row ``x`` votes class ``x mod K``) with each row's off-diagonal mass (votes on records
    of other classes) re-spread over the other classes in proportion to their soft totals: one false-vote rate per
    row instead of ``K − 1``."""
    k = counts.shape[1]
    rows = np.arange(counts.shape[0])
    own = rows % k
    diagonal = counts[rows, own]
    off = counts.sum(axis=1) - diagonal
    share = np.broadcast_to(totals, counts.shape).copy()
    share[rows, own] = 0.0
    share /= np.maximum(share.sum(axis=1, keepdims=True), 1e-300)
    out = off[:, None] * share
    out[rows, own] = diagonal
    return np.asarray(out, dtype=np.float64)


def count_buckets(votes: Votes, weights: FloatArray) -> IntArray:
    """``n × K``: each class group's (near-copies once) vote count on the row, capped at ``COUNT_BUCKETS − 1``."""
    counts = np.rint(votes.class_scores(weights)).astype(np.int64)
    return np.minimum(counts, COUNT_BUCKETS - 1)


def fit(votes: Votes, weights: FloatArray, pool: bool) -> TieModel:
    """The rates and count tables anchored on majority vote's soft labels (``weights``: per-vote duplicate weights)."""
    k = votes.n_classes
    q = weighted_majority(votes, weights)
    totals = q.sum(axis=0)
    counts = np.asarray(votes.onehot().T @ q)
    if pool:
        counts = pool_off_diagonal(counts, totals)
    rates = (counts + 1e-3) / (totals[None, :] + 1e-3)
    buckets = count_buckets(votes, weights)
    tables = np.empty((k, COUNT_BUCKETS, k))
    for c in range(k):
        in_bucket = sp.csr_matrix(
            (np.ones(votes.n_records), (buckets[:, c], np.arange(votes.n_records))), shape=(COUNT_BUCKETS, votes.n_records)
        )
        tables[c] = (np.asarray(in_bucket @ q) + 1.0) / (totals[None, :] + COUNT_BUCKETS)
    return TieModel(np.log(np.maximum(rates, RATE_FLOOR)), np.log(tables), pool)


def posterior(votes: Votes, weights: FloatArray, model: TieModel) -> FloatArray:
    """``n × K`` posterior (uniform prior) of every row under ``model``."""
    evidence = np.asarray(weighted_onehot(votes, weights) @ model.log_rates)
    buckets = count_buckets(votes, weights)
    for c in range(votes.n_classes):
        evidence += model.log_counts[c][buckets[:, c]]
    return softmax(evidence)


def tie_posterior(votes: Votes) -> FloatArray:
    """The tie model fitted on every record, for every record."""
    weights = duplicate_weights(votes, duplicate_groups(votes))
    return posterior(votes, weights, fit(votes, weights, pooled(votes)))


def split_half(votes: Votes, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """The tie model fitted once on each of two random halves of the records (the same halves as
    ``bayes.split_half_posteriors``), both predicting every record."""
    rng = np.random.default_rng([seed, SPLIT_SEED_OFFSET])
    half = rng.random(votes.n_records) < 0.5
    weights = duplicate_weights(votes)
    out = []
    for keep in (half, ~half):
        sub, _ = votes.subset(keep)
        out.append(posterior(votes, weights, fit(sub, weights[keep[votes.rows]], pooled(votes))))
    return out[0], out[1]
