"""Spans of extraction tasks as parallel arrays: what heuristics and manual labels give, what aggregation and the
statistics read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .label_models.base import FloatArray, IntArray


@dataclass(frozen=True)
class Spans:
    """Spans as parallel arrays: row, source (or -1 for manual), label, token range ``[start, end)``, confidence."""

    rows: IntArray
    sources: IntArray
    labels: IntArray
    starts: IntArray
    ends: IntArray
    confidence: FloatArray

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def from_lists(
        cls,
        rows: list[int],
        sources: list[int],
        labels: list[int],
        starts: list[int],
        ends: list[int],
        confidence: list[float] | None = None,
    ) -> Spans:
        conf = confidence if confidence is not None else [1.0] * len(rows)

        def ints(values: list[int]) -> IntArray:
            return np.asarray(values, dtype=np.int64)

        return cls(ints(rows), ints(sources), ints(labels), ints(starts), ints(ends), np.asarray(conf, dtype=np.float64))
