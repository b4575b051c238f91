"""Label models: turn sparse heuristic votes (and optional manual labels) into labels with a confidence.

``fit_predict(name, votes, manual, options)`` is what the service and the evaluation CLI both call.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from . import auto, bayes, generative, guarded, majority, refinery, semi
from .base import Manual, ModelOptions, Prediction, Votes
from .multilabel import fit_predict_multilabel

FitPredict = Callable[[Votes, Manual, ModelOptions], Prediction]

# ``auto``'s challengers of its champion ``guarded`` (a tie goes to the earlier one). ``semi_em``, ``dawid_skene`` and
# ``guarded`` are not offered through the API by name, but ``auto`` uses them and the evaluation CLI can name them.
CANDIDATES: dict[str, FitPredict] = {
    "semi": bayes.fit_predict_semi,
    "generative": bayes.fit_predict_unsupervised,
    "semi_em": semi.fit_predict,
    "dawid_skene": generative.fit_predict,
    "refinery": refinery.fit_predict,
    "majority": majority.fit_predict,
}
MODELS: dict[str, FitPredict] = {
    **CANDIDATES,
    "guarded": guarded.fit_predict,
    "auto": partial(auto.fit_predict, candidates=CANDIDATES),
}
MODEL_NAMES = ("auto", "refinery", "majority", "generative", "semi")  # the service's models
EXPERT_MODELS = ("semi_em", "dawid_skene", "guarded")


def fit_predict(name: str, votes: Votes, manual: Manual | None = None, options: ModelOptions | None = None) -> Prediction:
    """Run label model ``name`` (one of :data:`MODEL_NAMES`); ValueError for an unknown name."""
    if name not in MODELS:
        raise ValueError(f"unknown label model {name!r}; choose one of {', '.join(MODEL_NAMES + EXPERT_MODELS)}")
    prediction = MODELS[name](votes, manual if manual is not None else Manual.empty(), options or ModelOptions())
    prediction.details.setdefault("model", name)
    return prediction


__all__ = [
    "EXPERT_MODELS",
    "MODEL_NAMES",
    "Manual",
    "ModelOptions",
    "Prediction",
    "Votes",
    "fit_predict",
    "fit_predict_multilabel",
]
