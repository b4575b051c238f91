"""The active learners' class interface (the reference's): one definition for every place that runs a learner.

A user's learner subclasses ``LearningClassifier`` (records: ``embeddings`` is an ``n × d`` array, ``labels`` a list
of label names) or ``LearningExtractor`` (tokens: one ``tokens × d`` array per record, one label list per record
padded with ``"OUTSIDE"``), decorating ``fit`` with ``@params_fit(embedding_name=…, train_test_split=…)`` and
``predict_proba`` with ``@params_inference(min_confidence=…, label_names=…)``; a record gets the top class when its
probability exceeds ``min_confidence`` (and the class is in ``label_names``).

Two places use it: the executor runs users' learners in its sandbox (it sends this file's TEXT ahead of
``executor/sandbox/learner_runtime.py``, so the sandbox never imports our packages), and the weak supervisor's
evaluation CLI runs its own default learner in-process. Hence: standard library only, no import of our packages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

OUTSIDE = "OUTSIDE"
DEFAULT_MIN_CONFIDENCE = 0.8
DEFAULT_TRAIN_TEST_SPLIT = 0.5


def params_fit(embedding_name: str = "", train_test_split: float = DEFAULT_TRAIN_TEST_SPLIT) -> Callable[[Any], Any]:
    """Which embedding the learner trains on and the share of the manually labeled records used for training."""

    def decorate(function: Any) -> Any:
        function.__refinery_fit__ = {"embedding_name": embedding_name, "train_test_split": train_test_split}
        return function

    return decorate


def params_inference(min_confidence: float = DEFAULT_MIN_CONFIDENCE, label_names: Any = None) -> Callable[[Any], Any]:
    """Predictions are kept where the top class's probability exceeds ``min_confidence`` (and is in ``label_names``)."""

    def decorate(function: Any) -> Any:
        function.__refinery_inference__ = {"min_confidence": min_confidence, "label_names": label_names}
        return function

    return decorate


class LearningClassifier:
    """Base class of record-level learners: implement ``fit(embeddings, labels)`` and ``predict_proba(embeddings)``."""

    model: Any = None

    def fit(self, embeddings: Any, labels: Any) -> None:
        raise NotImplementedError("define fit(self, embeddings, labels)")

    def predict_proba(self, embeddings: Any) -> Any:
        raise NotImplementedError("define predict_proba(self, embeddings)")


class LearningExtractor(LearningClassifier):
    """Base class of token-level learners: per record one ``tokens × d`` array and one label list (``OUTSIDE`` padded);
    ``predict_proba`` returns one ``tokens × classes`` array per record."""


def fit_params(cls: type) -> dict[str, Any]:
    """The ``@params_fit`` arguments of a learner class, defaults filled in."""
    found = dict(getattr(getattr(cls, "fit", None), "__refinery_fit__", {}) or {})
    found.setdefault("train_test_split", DEFAULT_TRAIN_TEST_SPLIT)
    return found


def inference_params(cls: type) -> dict[str, Any]:
    """The ``@params_inference`` arguments of a learner class, defaults filled in."""
    found = dict(getattr(getattr(cls, "predict_proba", None), "__refinery_inference__", {}) or {})
    found.setdefault("min_confidence", DEFAULT_MIN_CONFIDENCE)
    found.setdefault("label_names", None)
    return found


def source_text() -> str:
    """This module's text, as the executor sends it into the sandbox."""
    return Path(__file__).read_text(encoding="utf-8")
