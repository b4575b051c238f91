"""Span aggregation for extraction tasks: the reference's algorithm (merge overlapping spans of one label keeping the
largest weight, then greedy non-maximum suppression by weight; confidence = the reference's sigmoid of the weight)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .label_models.base import DEFAULT_PRECISION, FloatArray
from .label_models.refinery import sigmoid_confidence
from .spans import Spans
from .statistics import extraction_counts

__all__ = ["AggregatedSpan", "Spans", "aggregate_spans", "token_precision"]


@dataclass(frozen=True)
class AggregatedSpan:
    row: int
    label: int
    start: int
    end: int
    confidence: float


def aggregate_spans(
    spans: Spans, precision: FloatArray | None = None, overrides: dict[int, float] | None = None
) -> list[AggregatedSpan]:
    """The reference's extraction weak supervision; weights are ``precision(source, label) × confidence``."""
    if precision is None:
        n_sources = int(spans.sources.max()) + 1 if len(spans) else 0
        n_labels = int(spans.labels.max()) + 1 if len(spans) else 0
        precision = np.full((n_sources, n_labels), DEFAULT_PRECISION)
    precision = precision.copy()
    for source, value in (overrides or {}).items():
        precision[source, :] = value
    weights = precision[spans.sources, spans.labels] * spans.confidence
    by_row_label: dict[tuple[int, int], list[tuple[int, int, float]]] = defaultdict(list)
    for i in range(len(spans)):
        by_row_label[(int(spans.rows[i]), int(spans.labels[i]))].append(
            (int(spans.starts[i]), int(spans.ends[i]), float(weights[i]))
        )
    candidates: dict[int, list[tuple[float, int, int, int]]] = defaultdict(list)
    for (row, label), items in by_row_label.items():
        items.sort()
        start, end, weight = items[0]
        for s, e, w in items[1:]:
            if s < end:  # overlapping spans of one label merge; the merged span keeps the largest weight
                end = max(end, e)
                weight = max(weight, w)
            else:
                candidates[row].append((weight, start, end, label))
                start, end, weight = s, e, w
        candidates[row].append((weight, start, end, label))
    result: list[AggregatedSpan] = []
    for row, found in candidates.items():
        kept: list[tuple[int, int]] = []
        for weight, start, end, label in sorted(found, key=lambda t: (-t[0], t[1], t[3])):
            if any(start < e and s < end for s, e in kept):
                continue  # suppressed by a heavier overlapping span
            kept.append((start, end))
            result.append(AggregatedSpan(row, label, start, end, float(sigmoid_confidence(np.asarray(weight)))))
    result.sort(key=lambda a: (a.row, a.start))
    return result


def token_precision(heuristic: Spans, manual: Spans, n_sources: int, n_labels: int) -> FloatArray:
    """``m × K`` token-level precision of each source and label on manually labeled records (0.8 without evidence)."""
    counts = extraction_counts(heuristic, manual, n_sources, n_labels)
    tp, fp = counts["true_positives"], counts["false_positives"]
    total = tp + fp
    return np.where(total > 0, tp / np.maximum(total, 1), DEFAULT_PRECISION)
