"""Active learners INSIDE the sandbox: the fit / predict protocol around the user's learner class.

The class interface (``LearningClassifier``, ``params_fit``, …) is ``shared_model/learner_interface.py``. The executor
sends that file's text and then this file's in the setup frame, and ``worker.py`` executes both in one namespace (so
every backend runs them without a file of ours in the sandbox). Standard library only at import; numpy when data
arrives. Nothing here may import our packages at run time.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # in the sandbox these names are already defined: the interface's text runs first in this namespace
    from shared_model.learner_interface import (
        LearningClassifier,
        LearningExtractor,
        fit_params,
        inference_params,
        params_fit,
        params_inference,
    )

_RUNTIME_FILE = "<refinery-learner>"


def _user_traceback(exc: BaseException, filename: str) -> str:
    """The user's frames only, and the exception without paths of the installation (the worker hands its
    ``scrub_paths`` into this module's namespace)."""
    scrub: Callable[[str], str] = globals().get("scrub_paths", str)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []
    return "".join(lines + [scrub(line) for line in traceback.format_exception_only(type(exc), exc)])


def _find_class(namespace: dict[str, Any]) -> tuple[type | None, str | None]:
    """The user's learner class: ATLClassifier / ATLExtractor, else the only subclass defined in the code."""
    for name in ("ATLClassifier", "ATLExtractor"):
        found = namespace.get(name)
        if isinstance(found, type) and issubclass(found, LearningClassifier):
            return found, None
    candidates = [
        value
        for value in namespace.values()
        if isinstance(value, type)
        and issubclass(value, LearningClassifier)
        and value not in (LearningClassifier, LearningExtractor)
    ]
    if len(candidates) == 1:
        return candidates[0], None
    return None, "the code must define a class ATLClassifier(LearningClassifier) or ATLExtractor(LearningExtractor)"


def _number(value: Any, name: str, low: float, high: float, low_open: bool) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value > low if low_open else value >= low) and value <= high:
        return None
    bound = "(" if low_open else "["
    return f"{name} must be a number in {bound}{low:g}, {high:g}], got {value!r}"


class _Learner:
    def __init__(self, code: str, filename: str) -> None:
        self.filename = filename
        self.error: str | None = None
        self.kind = ""
        self.fit_params: dict[str, Any] = {}
        self.inference_params: dict[str, Any] = {}
        self.instance: Any = None
        self.classes: list[str] = []
        namespace: dict[str, Any] = {
            "__name__": "__user__",
            "LearningClassifier": LearningClassifier,
            "LearningExtractor": LearningExtractor,
            "params_fit": params_fit,
            "params_inference": params_inference,
        }
        try:
            exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - running the user's code is the point
        except BaseException as exc:  # noqa: BLE001
            self.error = _user_traceback(exc, filename)
            return
        cls, problem = _find_class(namespace)
        if cls is None:
            self.error = problem
            return
        self.cls = cls
        self.kind = "extractor" if issubclass(cls, LearningExtractor) else "classifier"
        self.fit_params = fit_params(cls)
        self.inference_params = inference_params(cls)
        self.error = self._check_params()

    def _check_params(self) -> str | None:
        name = self.fit_params.get("embedding_name")
        if not isinstance(name, str) or not name:
            return 'decorate fit with @params_fit(embedding_name="<an embedding of the project>", train_test_split=0.5)'
        problem = _number(self.fit_params["train_test_split"], "train_test_split", 0.0, 1.0, True)
        problem = problem or _number(self.inference_params["min_confidence"], "min_confidence", 0.0, 1.0, False)
        if problem:
            return problem
        names = self.inference_params["label_names"]
        if names is not None:
            if isinstance(names, str) or not all(isinstance(n, str) for n in names):
                return f"label_names must be None or a list of label names, got {names!r}"
            self.inference_params["label_names"] = list(names)
        return None

    def ready(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "kind": self.kind,
            "fit": self.fit_params if self.error is None else {},
            "inference": self.inference_params if self.error is None else {},
        }

    def fit(self, embeddings: Any, labels: list[Any]) -> dict[str, Any]:
        try:
            self.instance = self.cls()
            self.instance.fit(embeddings, labels)
        except BaseException as exc:  # noqa: BLE001
            return {"error": _user_traceback(exc, self.filename)}
        model = getattr(self.instance, "model", None)
        fitted = getattr(model, "classes_", None)
        flat = [label for seq in labels for label in seq] if self.kind == "extractor" else list(labels)
        self.classes = [str(c) for c in fitted] if fitted is not None else sorted({str(c) for c in flat})
        return {"error": None, "classes": self.classes}

    def predict(self, embeddings: Any) -> dict[str, Any]:
        """Top class index and probability per record (classifier) or per token of each record (extractor)."""
        import numpy as np

        try:
            proba = self.instance.predict_proba(embeddings)
        except BaseException as exc:  # noqa: BLE001
            return {"error": _user_traceback(exc, self.filename)}
        k = len(self.classes)
        try:
            if self.kind == "classifier":
                return {"error": None, "top": _top(np.asarray(proba, dtype=np.float64), len(embeddings), k)}
            if len(proba) != len(embeddings):
                raise ValueError(f"predict_proba returned {len(proba)} sequences for {len(embeddings)} records")
            tops = [_top(np.asarray(p, dtype=np.float64), len(e), k) for p, e in zip(proba, embeddings, strict=True)]
        except (ValueError, TypeError) as exc:
            return {"error": f"predict_proba returned an unusable result: {exc}"}
        return {"error": None, "top": tops}


def _top(proba: Any, n: int, k: int) -> list[list[float]]:
    if proba.shape != (n, k):
        raise ValueError(f"expected probabilities of shape ({n}, {k}) (rows × classes), got {tuple(proba.shape)}")
    best = proba.argmax(axis=1)
    return [[int(i), float(proba[row, i])] for row, i in enumerate(best)]


def serve(channel: Any, setup: dict[str, Any], capture: Any) -> None:
    """Answer the executor: the ready frame, then one answer per ``fit`` / ``predict`` frame until the input ends."""
    learner = _Learner(setup["code"], f"<{setup.get('label') or 'active learner'}>")
    channel.write({"ready": learner.ready(), "stdout": capture.take()})
    while True:
        message = channel.read()
        if message is None:
            return
        if learner.error is not None:
            channel.write({"error": learner.error})
            continue
        if "fit" in message:
            answer = learner.fit(message["fit"]["embeddings"], message["fit"]["labels"])
        elif "predict" in message:
            answer = learner.predict(message["predict"]["embeddings"])
        else:
            answer = {"error": "unknown request"}
        answer["stdout"] = capture.take()
        channel.write(answer)


__all__ = ["serve"]
