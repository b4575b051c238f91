"""Class-conditional naive Bayes over the votes and the class groups' silences (the ``generative`` and ``semi`` models).

Model: a record of class ``y`` receives a vote ``c`` from heuristic ``j`` at rate ``R[j, c, y]`` (per heuristic, voted
class *and* true class — a keyword rule may fire more often on another class than on its own). A heuristic's own
abstain is not evidence (as in Data Programming): the heuristics of one class are strongly dependent in their silences,
and counting each silence as independent evidence hurt every WRENCH valid split. Silence is counted once per class
group instead: "some heuristic voted ``c``" happens on a record of class ``y`` at rate ``A[c, y]``, so on a two-class
set the absence of every spam vote speaks for ham once (this is what made the earlier Dawid–Skene model strong on
youtube). The posterior of a row is
``softmax(log prior + Σ_votes log R[j, c, ·] + Σ_c log(A[c, ·] if group c voted else 1 − A[c, ·]))``.

Estimation without manual labels: ``R`` and ``A`` are estimated once from the majority vote's soft labels ("anchored" on
the majority vote; rows without votes count ⅟K per class). Running EM to convergence from there lets one broad heuristic
absorb a whole class (on trec the 62 %-coverage "what is" rule became the DESC class), so the anchored moment estimate is
used as is. The class prior is uniform: the rates already carry how often each class draws votes.

With manual labels: ``R`` and ``A`` are the labeled rows' counts plus ``strength`` pseudo-rows of the anchored estimate
per class (shrinkage toward the unsupervised rates). The class prior is *not* taken from the labels — the records a
user labels need not share the unlabeled records' class mix — but re-estimated on all covered records by EM with the
rates held fixed (Saerens et al., 2002: the prior that makes the mean posterior equal itself).
The choices were made on the WRENCH valid splits only (docs/weak-supervision.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .base import FloatArray, Manual, ModelOptions, Prediction, Votes, majority_init, softmax
from .structure import SPLIT_SEED_OFFSET, duplicate_groups, duplicate_weights, group_summary

STRENGTH = 10.0  # pseudo-rows per class of the anchored estimate when manual labels exist
RATE_FLOOR = 1e-4  # a vote never seen on a class still costs at most log(1e-4)
GROUP_FLOOR = 1e-3  # keeps log A and log(1 − A) finite
PRIOR_ITERATIONS = 50  # EM steps for the class prior with manual labels (converges in far fewer)


def group_activity(votes: Votes) -> FloatArray:
    """``n × K`` 0/1: some heuristic voted class ``c`` on the row."""
    return (votes.class_scores(np.ones(len(votes.rows))) > 0).astype(np.float64)


def anchored_rates(
    votes: Votes, onehot: sp.csr_matrix, active: FloatArray, weights: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Vote rates ``R`` (``(m·K) × K``) and group rates ``A`` (``K × K``) from the majority vote's soft labels
    (the vote of each near-copy group counted once when ``weights`` are the per-vote duplicate weights)."""
    q = majority_init(votes) if weights is None else weighted_majority(votes, weights)
    totals = q.sum(axis=0)
    rates = (np.asarray(onehot.T @ q) + 1e-3) / (totals[None, :] + 1e-3)
    groups = (active.T @ q + 1.0) / (totals[None, :] + 2.0)
    return rates, groups


def weighted_majority(votes: Votes, weights: FloatArray) -> FloatArray:
    """Vote shares per row with each vote weighted (uniform for rows without votes)."""
    counts = votes.class_scores(weights)
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / votes.n_classes)
    return np.divide(counts, totals, out=uniform, where=totals > 0)


def weighted_onehot(votes: Votes, weights: FloatArray) -> sp.csr_matrix:
    """The ``n × (m·K)`` vote indicator with each vote's weight in place of 1."""
    matrix = sp.csr_matrix(
        (weights, (votes.rows, votes.sources * votes.n_classes + votes.classes)),
        shape=(votes.n_records, votes.n_sources * votes.n_classes),
    )
    return matrix


def log_evidence(onehot: sp.csr_matrix, active: FloatArray, rates: FloatArray, groups: FloatArray) -> FloatArray:
    """``n × K`` log-likelihood of each row's votes and group silences under each class."""
    log_rates = np.log(np.maximum(rates, RATE_FLOOR))
    g = np.clip(groups, GROUP_FLOOR, 1.0 - GROUP_FLOOR)
    log_on, log_off = np.log(g), np.log1p(-g)
    return np.asarray(onehot @ log_rates) + active @ (log_on - log_off) + log_off.sum(axis=0)


def naive_bayes(
    votes: Votes, manual: Manual | None = None, strength: float = STRENGTH, dedupe: bool = True
) -> tuple[FloatArray, dict[str, Any]]:
    """Posterior per row and a summary; see the module docstring. With ``dedupe`` (default) near-copy heuristics
    (``structure.duplicate_groups``) count once per record, in the anchor and in the evidence."""
    k = votes.n_classes
    onehot = votes.onehot()
    active = group_activity(votes)
    groups_of = duplicate_groups(votes) if dedupe else None
    weights = duplicate_weights(votes, groups_of) if groups_of is not None else None
    rates, groups = anchored_rates(votes, onehot, active, weights)
    n_labeled = 0
    if manual is not None and len(manual):
        rows = np.unique(manual.rows)
        n_labeled = len(rows)
        onehot_labels = np.eye(k)[manual.dense(votes.n_records)[rows]]
        label_totals = onehot_labels.sum(axis=0)[None, :]
        rates = (np.asarray(onehot[rows].T @ onehot_labels) + strength * rates) / (label_totals + strength)
        groups = (active[rows].T @ onehot_labels + strength * groups) / (label_totals + strength)
    evidence = log_evidence(onehot if weights is None else weighted_onehot(votes, weights), active, rates, groups)
    log_prior = np.full(k, -np.log(k))
    posterior = softmax(evidence)
    covered = active.sum(axis=1) > 0
    if n_labeled and covered.any():
        for _ in range(PRIOR_ITERATIONS):
            new_log_prior = np.log(np.maximum(posterior[covered].mean(axis=0), 1e-6))
            converged = float(np.abs(new_log_prior - log_prior).max()) < 1e-6
            log_prior = new_log_prior
            posterior = softmax(evidence + log_prior)
            if converged:
                break
    prior_out = np.exp(log_prior) / np.exp(log_prior).sum()
    summary: dict[str, Any] = {"manual_rows": n_labeled, "class_prior": [round(float(p), 4) for p in prior_out]}
    if n_labeled:
        summary["strength"] = strength
    if groups_of is not None:
        summary.update(group_summary(groups_of))
    return posterior, summary


def split_half_posteriors(votes: Votes, seed: int = 0, dedupe: bool = True) -> tuple[FloatArray, FloatArray]:
    """The unsupervised model's posteriors for every row, its rates estimated once on each of two random halves of
    the records (the halves' generator is offset from ``seed`` so it never replays the one that drew the data)."""
    rng = np.random.default_rng([seed, SPLIT_SEED_OFFSET])
    half = rng.random(votes.n_records) < 0.5
    weights = duplicate_weights(votes) if dedupe else np.ones(len(votes.rows))
    evidence_matrix = weighted_onehot(votes, weights)
    active = group_activity(votes)
    out = []
    for keep in (half, ~half):
        sub, index = votes.subset(keep)
        sub_weights = weights[keep[votes.rows]]
        rates, groups = anchored_rates(sub, sub.onehot(), group_activity(sub), sub_weights)
        out.append(softmax(log_evidence(evidence_matrix, active, rates, groups)))
    return out[0], out[1]


def fit_predict_unsupervised(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """``generative``: manual labels are ignored; rows without votes get no label."""
    posterior, summary = naive_bayes(votes, None)
    return Prediction(posterior, votes.covered(), summary)


def fit_predict_semi(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """``semi``: manual labels shrink the anchored rates; the class prior is fitted to all records; without labels,
    ``generative``."""
    posterior, summary = naive_bayes(votes, manual)
    return Prediction(posterior, votes.covered(), summary)
