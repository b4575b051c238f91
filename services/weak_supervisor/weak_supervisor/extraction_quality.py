"""Honest quality figures of an extraction run: token-level and span-level precision / recall / F1 on manually
labeled records the model was not fitted on (k-fold), with the number of labeled records and an interval.

``spans`` (the reference's aggregation) learns from the manual labels — each heuristic's token precision weighs its
spans — so each fold estimates the precisions from the other folds' manual spans only and aggregates the held-out
records' heuristic spans with them (as the run does with every label; the run's ``precision_overrides`` apply as in
the run). ``hmm`` never reads the manual labels (it fits the heuristics' emission tables without them), so the spans
the run wrote are scored as they are on every labeled record: no label was fitted on.

A labeled record is a record with at least one manual span of the task. Token level: every token of a manual or a
predicted span counts once per record, a predicted token is right when its label is the manual one (a token the run
leaves out of every span, but a manual span covers, is a miss; one the run puts in a span that no manual span covers
is a false positive). Span level: a predicted span is right when a manual span has exactly its label, start and end.
The interval is a percentile bootstrap of the token-level F1 over the labeled records (1,000 resamples): records, not
tokens, are the independent units.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .extraction import AggregatedSpan, aggregate_spans, token_precision
from .label_models.base import DEFAULT_PRECISION
from .quality import MIN_LABELED, _folds, _label_figures, _unavailable
from .spans import Spans

BOOTSTRAP = 1000


def _select(spans: Spans, keep: NDArray[np.bool_]) -> Spans:
    return Spans(
        spans.rows[keep], spans.sources[keep], spans.labels[keep], spans.starts[keep], spans.ends[keep], spans.confidence[keep]
    )


def _token_labels(rows: list[int], labels: list[int], starts: list[int], ends: list[int]) -> dict[tuple[int, int], int]:
    """(row, token) → label; where spans overlap the first one keeps the token."""
    out: dict[tuple[int, int], int] = {}
    for row, label, start, end in zip(rows, labels, starts, ends, strict=True):
        for token in range(start, end):
            out.setdefault((row, token), label)
    return out


def _f1(tp: float, predicted: float, gold: float) -> float | None:
    return round(2 * tp / (predicted + gold), 4) if predicted + gold else None


def _micro(tp: int, predicted: int, gold: int) -> dict[str, float | None]:
    return {
        "precision": round(tp / predicted, 4) if predicted else None,
        "recall": round(tp / gold, 4) if gold else None,
        "f1": _f1(tp, predicted, gold),
    }


def predicted_spans_out_of_fold(
    spans: Spans, manual: Spans, n_sources: int, n_labels: int, overrides: dict[int, float], seed: int
) -> tuple[list[AggregatedSpan], int]:
    """The ``spans`` model's spans on every labeled record, each from precisions estimated without its fold."""
    rows = np.unique(manual.rows)
    fold_of, k = _folds(rows, seed)
    fold_of_row = dict(zip(rows.tolist(), fold_of.tolist(), strict=True))
    manual_fold = np.asarray([fold_of_row[int(r)] for r in manual.rows], dtype=np.int64)
    spans = _select(spans, np.isin(spans.rows, rows))  # only labeled records are scored (and teach precisions)
    heuristic_fold = np.asarray([fold_of_row[int(r)] for r in spans.rows], dtype=np.int64)
    found: list[AggregatedSpan] = []
    for fold in range(k):
        training = _select(manual, manual_fold != fold)
        precision = token_precision(spans, training, n_sources, n_labels)
        if len(training) == 0:
            precision[:] = DEFAULT_PRECISION
        found.extend(aggregate_spans(_select(spans, heuristic_fold == fold), precision, overrides))
    return found, k


def score_spans(predicted: list[AggregatedSpan], manual: Spans, label_keys: list[str], seed: int = 0) -> dict[str, Any]:
    """Token- and span-level figures of ``predicted`` against ``manual`` on the records ``manual`` labels."""
    rows = np.unique(manual.rows)
    labeled = set(rows.tolist())
    mine = [s for s in predicted if s.row in labeled]
    gold_tokens = _token_labels(manual.rows.tolist(), manual.labels.tolist(), manual.starts.tolist(), manual.ends.tolist())
    said_tokens = _token_labels([s.row for s in mine], [s.label for s in mine], [s.start for s in mine], [s.end for s in mine])
    k = len(label_keys)
    tp, said, gold = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
    index = {int(r): i for i, r in enumerate(rows)}
    per_record = np.zeros((len(rows), 3))  # tp, predicted, gold tokens per labeled record
    for (row, _), label in said_tokens.items():
        said[label] += 1
        per_record[index[row], 1] += 1
    for key, label in gold_tokens.items():
        gold[label] += 1
        per_record[index[key[0]], 2] += 1
        if said_tokens.get(key) == label:
            tp[label] += 1
            per_record[index[key[0]], 0] += 1
    per_label = {}
    for c in range(k):
        figures = _label_figures(int(tp[c]), int(said[c]), int(gold[c]))
        figures["f1"] = _f1(int(tp[c]), int(said[c]), int(gold[c]))
        per_label[label_keys[c]] = figures
    gold_spans = set(zip(manual.rows.tolist(), manual.labels.tolist(), manual.starts.tolist(), manual.ends.tolist(), strict=True))
    said_spans = {(s.row, s.label, s.start, s.end) for s in mine}
    rng = np.random.default_rng([seed, 53])
    draws = rng.integers(0, len(rows), size=(BOOTSTRAP, len(rows)))
    sums = per_record[draws].sum(axis=1)
    denominator = sums[:, 1] + sums[:, 2]
    f1s = np.where(denominator > 0, 2 * sums[:, 0] / np.maximum(denominator, 1e-300), 0.0)
    token = _micro(int(tp.sum()), int(said.sum()), int(gold.sum()))
    span = _micro(len(gold_spans & said_spans), len(said_spans), len(gold_spans))
    return {
        "level": "token",
        **token,
        "f1_interval_95": [round(float(np.quantile(f1s, 0.025)), 4), round(float(np.quantile(f1s, 0.975)), 4)],
        "span_precision": span["precision"],
        "span_recall": span["recall"],
        "span_f1": span["f1"],
        "tokens": int(gold.sum()),
        "per_label": per_label,
    }


def extraction_quality(
    model: str,
    spans: Spans,
    manual: Spans,
    n_sources: int,
    label_keys: list[str],
    *,
    overrides: dict[int, float] | None = None,
    run_spans: list[AggregatedSpan] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Cross-validated figures of an extraction run (model ``spans``), or the run's own spans scored (``hmm``, which
    reads no manual label: pass ``run_spans``); see the module docstring."""
    started = time.perf_counter()
    n = len(np.unique(manual.rows))
    if n < MIN_LABELED:
        return _unavailable(f"{n} labeled records (< {MIN_LABELED}): too few to estimate quality", n)
    if model == "hmm":
        assert run_spans is not None
        figures = score_spans(run_spans, manual, label_keys, seed)
        method = "the run's spans on every labeled record (the hmm model reads no manual label: nothing was fitted on them)"
        folds = None
    else:
        found, folds = predicted_spans_out_of_fold(spans, manual, n_sources, len(label_keys), overrides or {}, seed)
        figures = score_spans(found, manual, label_keys, seed)
        method = (
            f"{folds}-fold cross-validation on the manually labeled records (each fold's heuristic precisions estimated"
            " without them); token-level figures, span-level exact matches"
        )
    return {
        "available": True,
        "method": method,
        "folds": folds,
        "manual_labels": n,
        **figures,
        "seconds": round(time.perf_counter() - started, 3),
    }


__all__ = ["extraction_quality", "predicted_spans_out_of_fold", "score_spans"]
