"""``semi_em`` (a candidate of ``auto``).

Semi-supervised Dawid–Skene: EM over all rows with the valid manual labels clamped and up-weighted, so that the
labeled rows anchor the heuristics' confusion matrices and the class prior while the unlabeled agreement structure
still refines them. Labeled and unlabeled rows weigh the same in total (weight ``n_unlabeled / n_labeled``); votes
are the evidence (silences are not modelled once labels anchor the rates).
"""

from __future__ import annotations

from .base import Manual, ModelOptions, Prediction, Votes
from .generative import dawid_skene


def fit_predict(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """Without manual labels this is the unsupervised model; manual rows keep their manual label's class."""
    n_labeled = len(set(manual.rows.tolist()))
    # with labels the firing rates are anchored and silence adds little but bias (chosen by 5-fold CV on valid splits)
    abstain = "none" if n_labeled else "group"
    weight = max(1.0, (votes.n_records - n_labeled) / n_labeled) if n_labeled else 1.0
    posterior, summary = dawid_skene(
        votes, manual if n_labeled else None, labeled_weight=weight, seed=options.seed, abstain=abstain
    )
    summary["labeled_weight"] = round(weight, 3)
    return Prediction(posterior, votes.covered(), summary)
