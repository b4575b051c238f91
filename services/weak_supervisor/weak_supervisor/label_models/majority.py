"""Majority vote: the class most heuristics voted for (a tie is left to the caller: the service writes no label)."""

from __future__ import annotations

from .base import Manual, ModelOptions, Prediction, Votes, majority_init


def fit_predict(votes: Votes, manual: Manual, options: ModelOptions) -> Prediction:
    """Vote shares as probabilities for every row with a vote."""
    return Prediction(majority_init(votes), votes.covered(), {})
