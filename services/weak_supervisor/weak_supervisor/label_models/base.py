"""Shared types of the label models: sparse votes, manual labels, options and predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
DEFAULT_PRECISION = 0.8  # the reference's precision of every heuristic when nothing is known


@dataclass(frozen=True)
class Votes:
    """Heuristic votes of one task as parallel arrays: record row, source (heuristic) index, class index, confidence."""

    n_records: int
    n_sources: int
    n_classes: int
    rows: IntArray
    sources: IntArray
    classes: IntArray
    confidence: FloatArray

    @classmethod
    def from_arrays(
        cls,
        n_records: int,
        n_sources: int,
        n_classes: int,
        rows: Any,
        sources: Any,
        classes: Any,
        confidence: Any | None = None,
    ) -> Votes:
        """Build and validate (ValueError naming the bad field)."""
        r = np.asarray(rows, dtype=np.int64)
        s = np.asarray(sources, dtype=np.int64)
        c = np.asarray(classes, dtype=np.int64)
        w = np.ones(len(r)) if confidence is None else np.asarray(confidence, dtype=np.float64)
        if not (len(r) == len(s) == len(c) == len(w)):
            raise ValueError("rows, sources, classes and confidence must have the same length")
        for name, arr, bound in (("rows", r, n_records), ("sources", s, n_sources), ("classes", c, n_classes)):
            if len(arr) and (arr.min() < 0 or arr.max() >= bound):
                raise ValueError(f"{name} must lie in 0..{bound - 1}")
        if len(w) and (np.isnan(w).any() or w.min() < 0):
            raise ValueError("confidence must be non-negative numbers")
        return cls(n_records, n_sources, n_classes, r, s, c, w)

    @classmethod
    def from_dense(cls, matrix: Any, n_classes: int) -> Votes:
        """From an ``n × m`` matrix of class indices with ``-1`` for abstain (WRENCH / Snorkel layout)."""
        dense = np.asarray(matrix, dtype=np.int64)
        rows, sources = np.nonzero(dense >= 0)
        return cls.from_arrays(dense.shape[0], dense.shape[1], n_classes, rows, sources, dense[rows, sources])

    def covered(self) -> NDArray[np.bool_]:
        """Rows with at least one vote."""
        mask = np.zeros(self.n_records, dtype=bool)
        mask[self.rows] = True
        return mask

    def onehot(self) -> sp.csr_matrix:
        """The ``n × (m·K)`` 0/1 indicator matrix: column ``source·K + class``."""
        data = np.ones(len(self.rows), dtype=np.float64)
        matrix = sp.csr_matrix(
            (data, (self.rows, self.sources * self.n_classes + self.classes)),
            shape=(self.n_records, self.n_sources * self.n_classes),
        )
        matrix.data[:] = 1.0  # a duplicated vote counts once
        return matrix

    def class_scores(self, weights: FloatArray) -> FloatArray:
        """``n × K`` sums of ``weights[vote]`` per row and voted class."""
        flat = np.bincount(self.rows * self.n_classes + self.classes, weights=weights, minlength=self.n_records * self.n_classes)
        return np.asarray(flat, dtype=np.float64).reshape(self.n_records, self.n_classes)

    def subset(self, keep_rows: NDArray[np.bool_]) -> tuple[Votes, IntArray]:
        """The votes of the kept rows, renumbered; also the kept rows' original indices."""
        index = np.flatnonzero(keep_rows)
        new_of_old = np.full(self.n_records, -1, dtype=np.int64)
        new_of_old[index] = np.arange(len(index))
        sel = keep_rows[self.rows]
        votes = Votes(
            len(index),
            self.n_sources,
            self.n_classes,
            new_of_old[self.rows[sel]],
            self.sources[sel],
            self.classes[sel],
            self.confidence[sel],
        )
        return votes, index


@dataclass(frozen=True)
class Manual:
    """Valid manual labels: parallel arrays of record row and class index (several per row for multi-label)."""

    rows: IntArray
    classes: IntArray

    @classmethod
    def empty(cls) -> Manual:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))

    @classmethod
    def from_labels(cls, labels: Any) -> Manual:
        """From a per-row label vector with ``-1`` for unlabeled rows."""
        y = np.asarray(labels, dtype=np.int64)
        rows = np.flatnonzero(y >= 0)
        return cls(rows, y[rows])

    def __len__(self) -> int:
        return len(self.rows)

    def dense(self, n_records: int) -> IntArray:
        """A per-row label vector (``-1`` = unlabeled; single-label tasks)."""
        y = np.full(n_records, -1, dtype=np.int64)
        y[self.rows] = self.classes
        return y

    def select(self, mask: NDArray[np.bool_]) -> Manual:
        return Manual(self.rows[mask], self.classes[mask])


@dataclass(frozen=True)
class ModelOptions:
    """Per-run options: precision overrides per source index (refinery weights) and the random seed."""

    precision_overrides: dict[int, float] = field(default_factory=dict)
    seed: int = 0


@dataclass
class Prediction:
    """Class probabilities per row; ``labeled`` marks rows the model gives a label to (others get none)."""

    proba: FloatArray
    labeled: NDArray[np.bool_]
    details: dict[str, Any] = field(default_factory=dict)
    confidence: FloatArray | None = None  # what is stored per label; default: the winner's probability

    def winners(self) -> tuple[IntArray, FloatArray]:
        """Arg-max class and its confidence per row."""
        best = np.argmax(self.proba, axis=1)
        conf = self.confidence if self.confidence is not None else self.proba[np.arange(len(best)), best]
        return best, conf


def softmax(scores: FloatArray) -> FloatArray:
    """Row-wise softmax, numerically stable."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def majority_init(votes: Votes) -> FloatArray:
    """Vote shares per row (uniform for rows without votes)."""
    counts = votes.class_scores(np.ones(len(votes.rows)))
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / votes.n_classes)
    return np.divide(counts, totals, out=uniform, where=totals > 0)
