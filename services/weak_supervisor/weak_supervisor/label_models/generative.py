"""``dawid_skene`` (the ``generative`` model before the naive Bayes of ``bayes.py``; now a candidate of ``auto``):
Dawid–Skene EM on sparse vote matrices: a class prior and, per heuristic and true class, the distribution of its
output (each class it can vote, or abstain). Abstaining is evidence too: a spam rule that stays silent speaks for ham.

Correlation handling (``abstain="group"``, the default): the heuristics voting one class are strongly dependent in
their silences (keyword rules of one class rarely fire together), so silence is modelled once per class group —
"no heuristic voted c" — instead of once per heuristic, which would count the same evidence dozens of times.

``fit_predict`` learns without manual labels; :func:`dawid_skene` also takes manual labels (``semi_em``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import FloatArray, Manual, ModelOptions, Prediction, Votes, majority_init, softmax

MAX_FIT_ROWS = 100_000  # parameters are m·K·K numbers: a sample this big estimates them as well as all rows


def _prior_counts(votes: Votes, fire: FloatArray, share: FloatArray, strength: float, accuracy: float) -> FloatArray:
    """Dirichlet pseudo-counts ``m × K(vote) × K(true)``: a heuristic usually votes the true class."""
    k = votes.n_classes
    base = np.full((k, k), (1.0 - accuracy) / max(k - 1, 1))
    np.fill_diagonal(base, accuracy)
    scale = strength * votes.n_records / k
    return np.asarray(share[:, :, None] * base[None, :, :] * (fire[:, None, None] * scale) + 1e-3)


def _tied_rates(voted: FloatArray, total: FloatArray, prior_abstain: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Log P(vote c | y) with one rate for y = c and one shared by every y ≠ c (2 numbers per heuristic and voted
    class instead of K): far fewer parameters for many classes, identical to full Dawid–Skene for two."""
    k = voted.shape[1]
    eye = np.eye(k, dtype=bool)
    diag = np.einsum("jcc->jc", voted)  # votes for c on rows of class c
    off = voted.sum(axis=2) - diag  # votes for c on rows of other classes
    mass = total[None, :] + prior_abstain.mean(axis=1, keepdims=True)
    rate_on = diag / mass
    rate_off = off / np.maximum(mass.sum(axis=1, keepdims=True) - mass, 1e-9)
    rate = np.where(eye[None, :, :], rate_on[:, :, None], rate_off[:, :, None])  # j, vote c, y
    total_rate = rate.sum(axis=1)
    scale = np.where(total_rate > 0.999, 0.999 / total_rate, 1.0)  # keep P(abstain | y) positive
    rate = rate * scale[:, None, :]
    return np.log(np.maximum(rate, 1e-12)), np.log(1.0 - rate.sum(axis=1))


def dawid_skene(
    votes: Votes,
    manual: Manual | None = None,
    *,
    labeled_weight: float = 1.0,
    strength: float = 0.01,
    accuracy: float = 0.7,
    max_iter: int = 100,
    tol: float = 1e-3,
    seed: int = 0,
    max_fit_rows: int = MAX_FIT_ROWS,
    tied: bool = False,
    abstain: str = "group",
) -> tuple[FloatArray, dict[str, Any]]:
    """Fit by EM (MAP with weak Dirichlet priors) and return posteriors for every row and a summary of the fit.

    Manual labels are clamped in the E-step and weigh ``labeled_weight`` in the M-step.
    """
    n, m, k = votes.n_records, votes.n_sources, votes.n_classes
    rng = np.random.default_rng(seed)
    labels = manual.dense(n) if manual is not None and len(manual) else np.full(n, -1, dtype=np.int64)
    is_labeled = labels >= 0
    fit_rows = np.ones(n, dtype=bool)
    if n > max_fit_rows:
        fit_rows = rng.random(n) < max_fit_rows / n
        fit_rows |= is_labeled
    fit_votes, fit_index = votes.subset(fit_rows)
    onehot = fit_votes.onehot()
    fit_labels = labels[fit_index]
    fit_labeled = fit_labels >= 0
    row_weight = np.where(fit_labeled, labeled_weight, 1.0)

    counts_per_source = np.zeros((m, k))
    np.add.at(counts_per_source, (votes.sources, votes.classes), 1.0)
    fire = counts_per_source.sum(axis=1) / max(n, 1)
    share = counts_per_source / np.maximum(counts_per_source.sum(axis=1, keepdims=True), 1.0)
    prior = _prior_counts(votes, fire, share, strength, accuracy)
    prior_abstain = strength * votes.n_records / k * (1.0 - fire)[:, None] + 1e-3

    onehot_t = onehot.T.tocsr()
    active = (fit_votes.class_scores(np.ones(len(fit_votes.rows))) > 0).astype(np.float64)
    q = majority_init(fit_votes)
    q[fit_labeled] = np.eye(k)[fit_labels[fit_labeled]]
    done = 0
    weights = np.zeros((m * k, k))
    log_abstain_total = np.zeros(k)
    log_prior = np.zeros(k)
    previous = np.full((m * k, k), np.inf)
    previous_prior = np.full(k, np.inf)
    for iteration in range(1, max_iter + 1):
        done = iteration
        weighted = q * row_weight[:, None]
        voted = np.asarray(onehot_t @ weighted).reshape(m, k, k) + prior
        total = weighted.sum(axis=0)
        if tied:
            log_vote, log_abstain = _tied_rates(voted, total, prior_abstain)
        else:
            abstained = np.maximum(total[None, :] - (voted - prior).sum(axis=1), 0.0) + prior_abstain
            denominator = voted.sum(axis=1) + abstained
            log_vote = np.log(voted / denominator[:, None, :])
            log_abstain = np.log(abstained / denominator)
        if abstain == "source":
            weights = (log_vote - log_abstain[:, None, :]).reshape(m * k, k)
            log_abstain_total = log_abstain.sum(axis=0)
            active_weights = np.zeros((k, k))
        else:
            weights = log_vote.reshape(m * k, k)
            log_abstain_total = np.zeros(k)
            active_weights = np.zeros((k, k))
            if abstain == "group":
                silent = np.maximum(total[None, :] - active.T @ weighted, 0.0) + 1.0  # class group c, y
                log_silent = np.log(silent / (total[None, :] + 2.0))
                active_weights = -log_silent
                log_abstain_total = log_silent.sum(axis=0)
        log_prior = np.log(total / total.sum())
        new_q = softmax(np.asarray(onehot @ weights) + active @ active_weights + log_abstain_total + log_prior)
        new_q[fit_labeled] = np.eye(k)[fit_labels[fit_labeled]]
        q = new_q
        # converged when no log-probability moved by more than tol (cheaper than comparing posteriors)
        change = max(float(np.abs(weights - previous).max()), float(np.abs(log_prior - previous_prior).max()))
        previous, previous_prior = weights, log_prior
        if change < tol:
            break
    full = votes.onehot() if not fit_rows.all() else onehot
    full_active = (votes.class_scores(np.ones(len(votes.rows))) > 0).astype(np.float64) if not fit_rows.all() else active
    posterior = softmax(np.asarray(full @ weights) + full_active @ active_weights + log_abstain_total + log_prior)
    summary = {
        "iterations": done,
        "fit_rows": int(fit_rows.sum()),
        "class_prior": [round(float(p), 4) for p in np.exp(log_prior)],
    }
    return posterior, summary


def fit_predict(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """Unsupervised Dawid–Skene: manual labels are ignored; rows without votes get no label."""
    posterior, summary = dawid_skene(votes, None, seed=options.seed)
    return Prediction(posterior, votes.covered(), summary)
