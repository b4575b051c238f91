"""WRENCH-format data sets and the WRENCH evaluation protocol (uniform rows, sha1 tie-break, accuracy / F1)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Split:
    """One split: the weak-label matrix (``-1`` = abstain) and the gold labels."""

    weak_labels: NDArray[np.int64]
    labels: NDArray[np.int64]


@dataclass(frozen=True)
class WrenchDataset:
    """A WRENCH folder: class names and the train, valid and test splits."""

    name: str
    classes: list[str]
    train: Split
    valid: Split
    test: Split

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_sources(self) -> int:
        return int(self.train.weak_labels.shape[1])


def _read_split(path: Path, n_classes: int) -> Split:
    rows = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, dict) or not rows:
        raise ValueError(f"{path}: expected a non-empty JSON object of rows")
    weak: list[list[int]] = []
    labels: list[int] = []
    for key, row in rows.items():
        try:
            weak.append([int(v) for v in row["weak_labels"]])
            labels.append(int(row["label"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: row {key!r} lacks an integer 'label' or a 'weak_labels' list") from exc
    widths = {len(w) for w in weak}
    if len(widths) != 1:
        raise ValueError(f"{path}: rows have different numbers of weak labels: {sorted(widths)}")
    matrix = np.asarray(weak, dtype=np.int64)
    gold = np.asarray(labels, dtype=np.int64)
    if matrix.size and (matrix.max() >= n_classes or matrix.min() < -1):
        raise ValueError(f"{path}: weak labels must lie in -1..{n_classes - 1}")
    return Split(matrix, gold)


def load_wrench(folder: str | Path) -> WrenchDataset:
    """Read ``label.json`` and ``train/valid/test.json`` of a WRENCH folder (ValueError naming what is wrong)."""
    root = Path(folder)
    label_file = root / "label.json"
    if not label_file.is_file():
        raise ValueError(f"{root}: no label.json (not a WRENCH folder)")
    names = json.loads(label_file.read_text(encoding="utf-8"))
    classes = [str(names[k]) for k in sorted(names, key=int)]
    splits = {}
    for split in ("train", "valid", "test"):
        path = root / f"{split}.json"
        if not path.is_file():
            raise ValueError(f"{root}: no {split}.json")
        splits[split] = _read_split(path, len(classes))
    widths = {s.weak_labels.shape[1] for s in splits.values()}
    if len(widths) != 1:
        raise ValueError(f"{root}: the splits have different numbers of labeling functions: {sorted(widths)}")
    return WrenchDataset(root.name, classes, splits["train"], splits["valid"], splits["test"])


def tie_break_predictions(proba: NDArray[np.float64], tolerance: float = 1e-5) -> NDArray[np.int64]:
    """Arg-max per row; rows whose best classes tie within ``tolerance`` take the sha1-chosen one (Snorkel/WRENCH)."""
    predictions = np.empty(proba.shape[0], dtype=np.int64)
    best = proba.max(axis=1, keepdims=True)
    tied_mask = proba >= best - tolerance
    for i in range(proba.shape[0]):
        tied = np.flatnonzero(tied_mask[i])
        if len(tied) == 1:
            predictions[i] = tied[0]
        else:
            predictions[i] = tied[int(hashlib.sha1(str(i).encode()).hexdigest(), 16) % len(tied)]
    return predictions


def score(proba: NDArray[np.float64], gold: NDArray[np.int64], n_classes: int) -> tuple[float, float]:
    """(accuracy, F1) in percent: F1 of class 1 for two classes, macro F1 otherwise."""
    predictions = tie_break_predictions(proba)
    accuracy = float((predictions == gold).mean() * 100)
    f1s = []
    for cls in [1] if n_classes == 2 else range(n_classes):
        tp = float(np.sum((predictions == cls) & (gold == cls)))
        fp = float(np.sum((predictions == cls) & (gold != cls)))
        fn = float(np.sum((predictions != cls) & (gold == cls)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return accuracy, float(np.mean(f1s) * 100)
