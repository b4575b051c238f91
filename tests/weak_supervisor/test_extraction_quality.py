"""Quality figures of extraction runs: token- and span-level precision / recall / F1 on manually labeled records the
model was not fitted on (k-fold), with the number of labeled records and a bootstrap interval."""

from __future__ import annotations

import numpy as np
import pytest

from shared_model.models import TaskType
from weak_supervisor.extraction import aggregate_spans, token_precision
from weak_supervisor.extraction_quality import extraction_quality, score_spans
from weak_supervisor.quality import MIN_LABELED
from weak_supervisor.runs import run_weak_supervision
from weak_supervisor.spans import Spans

from .fixtures import build_task


def memorisable(n: int = 40, seed: int = 2) -> tuple[Spans, Spans]:
    """On record ``j`` two heuristics of its own mark tokens 2–4, one as label 0 and one as label 1, and the manual
    span is a coin flip between them: a heuristic's precision on its own record tells the answer (in-sample), nothing
    tells it on a record whose label was held out."""
    truth = np.random.default_rng(seed).integers(0, 2, n)
    rows, sources, labels = [], [], []
    for j in range(n):
        rows += [j, j]
        sources += [2 * j, 2 * j + 1]
        labels += [0, 1]
    heuristic = Spans.from_lists(rows, sources, labels, [2] * (2 * n), [5] * (2 * n))
    manual = Spans.from_lists(list(range(n)), [-1] * n, truth.tolist(), [2] * n, [5] * n)
    return heuristic, manual


def test_figures_are_held_out_not_in_sample() -> None:
    heuristic, manual = memorisable()
    n_sources = 2 * 40
    in_sample = aggregate_spans(heuristic, token_precision(heuristic, manual, n_sources, 2))
    assert score_spans(in_sample, manual, ["a", "b"])["f1"] == 1.0  # what a training-set figure would claim
    quality = extraction_quality("spans", heuristic, manual, n_sources, ["a", "b"])
    assert quality["available"] and quality["manual_labels"] == 40 and quality["folds"] == 5
    assert quality["level"] == "token" and quality["f1"] <= 0.7  # coin flips stay coin flips
    low, high = quality["f1_interval_95"]
    assert low <= quality["f1"] <= high < 1.0
    assert quality["tokens"] == 120 and quality["span_f1"] == quality["f1"]  # every span is 3 tokens, all or none


def test_perfect_heuristic_partial_spans_and_misses() -> None:
    rows = list(range(12))
    manual = Spans.from_lists(rows, [-1] * 12, [0] * 6 + [1] * 6, [0] * 12, [4] * 12)
    perfect = Spans.from_lists(rows, [0] * 12, [0] * 6 + [1] * 6, [0] * 12, [4] * 12)
    quality = extraction_quality("spans", perfect, manual, 1, ["PER", "LOC"])
    assert quality["f1"] == quality["span_f1"] == 1.0 and quality["f1_interval_95"] == [1.0, 1.0]
    assert quality["per_label"]["LOC"] == {"precision": 1.0, "recall": 1.0, "support": 24, "predicted": 24, "f1": 1.0}
    # half of each span found, on 6 records only: token precision 1, recall 1/4; no exact span
    half = Spans.from_lists(rows[:6], [0] * 6, [0] * 6, [0] * 6, [2] * 6)
    quality = extraction_quality("spans", half, manual, 1, ["PER", "LOC"])
    assert quality["precision"] == 1.0 and quality["recall"] == 0.25 and quality["f1"] == 0.4
    assert quality["span_f1"] is None or quality["span_f1"] == 0.0
    assert quality["per_label"]["LOC"]["recall"] == 0.0 and quality["per_label"]["LOC"]["predicted"] == 0


def test_too_few_labeled_records_give_no_figure() -> None:
    heuristic, manual = memorisable(n=MIN_LABELED - 1)
    quality = extraction_quality("spans", heuristic, manual, 2 * (MIN_LABELED - 1), ["a", "b"])
    assert quality == {
        "available": False,
        "reason": f"{MIN_LABELED - 1} labeled records (< {MIN_LABELED}): too few to estimate quality",
        "manual_labels": MIN_LABELED - 1,
    }


@pytest.mark.usefixtures("clean_db")
def test_an_extraction_run_reports_cross_validated_quality_in_its_summary() -> None:
    heuristic, manual = memorisable(n=20)
    names = ["PER", "LOC"]
    heuristics: dict[str, list[tuple[int, str, int, int]]] = {}
    for row, source, label in zip(heuristic.rows, heuristic.sources, heuristic.labels, strict=True):
        heuristics.setdefault(f"h{source:02d}", []).append((int(row), names[label], 2, 5))
    manual_spans = [(int(r), names[label], 2, 5) for r, label in zip(manual.rows, manual.labels, strict=True)]
    built = build_task(TaskType.INFORMATION_EXTRACTION, names, 20, heuristics, manual_spans)  # type: ignore[arg-type]
    quality = run_weak_supervision(built.task_id, {})["quality"]
    assert quality["available"] and quality["manual_labels"] == 20 and quality["folds"] == 5
    assert quality["f1"] <= 0.75 and set(quality["per_label"]) == {str(built.labels[n]) for n in names}
    assert quality["per_label"][str(built.labels["PER"])]["support"] == 3 * int((manual.labels == 0).sum())
    hmm = run_weak_supervision(built.task_id, {"extraction_model": "hmm"})["quality"]
    assert hmm["available"] and hmm["folds"] is None and "reads no manual label" in hmm["method"]
    assert hmm["manual_labels"] == 20 and 0.0 <= hmm["f1"] <= 1.0
