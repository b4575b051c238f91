"""The BIO HMM for extraction (``span_hmm``) against the reference's span aggregation on synthetic heuristics."""

from __future__ import annotations

import numpy as np

from weak_supervisor.extraction import AggregatedSpan, Spans, aggregate_spans
from weak_supervisor.span_hmm import fit_decode

Truth = list[tuple[int, int, int, int]]  # row, label, start, end


def synthetic(n: int = 200, length: int = 25, seed: int = 0) -> tuple[Spans, Truth]:
    """Two precise heuristics, one with a sloppy right boundary, one confusing labels, one firing at random."""
    rng = np.random.default_rng(seed)
    truth: Truth = []
    for row in range(n):
        t = 0
        while t < length - 3:
            if rng.random() < 0.12:
                size = int(rng.integers(1, 4))
                truth.append((row, int(rng.integers(0, 2)), t, t + size))
                t += size + 1
            else:
                t += 1
    cols: list[list[int]] = [[], [], [], [], []]

    def add(*values: int) -> None:
        for col, value in zip(cols, values, strict=True):
            col.append(value)

    for row, label, start, end in truth:
        if rng.random() < 0.7:
            add(row, 0, label, start, end)
        if rng.random() < 0.5:
            add(row, 1, label, start, end)
        if rng.random() < 0.8:
            add(row, 2, label, start, end + int(rng.integers(0, 2)))
        if rng.random() < 0.6:
            add(row, 3, label if rng.random() < 0.6 else 1 - label, start, end)
    for row in range(n):
        for _ in range(rng.poisson(0.8)):
            start = int(rng.integers(0, length - 2))
            add(row, 4, int(rng.integers(0, 2)), start, start + int(rng.integers(1, 3)))
    return Spans.from_lists(*cols), truth


def token_f1(found: list[AggregatedSpan], truth: Truth) -> float:
    predicted = {(a.row, t, a.label) for a in found for t in range(a.start, a.end)}
    gold = {(row, t, label) for row, label, start, end in truth for t in range(start, end)}
    return 2 * len(predicted & gold) / (len(predicted) + len(gold))


def test_hmm_learns_which_heuristics_to_trust_and_beats_the_reference_aggregation() -> None:
    spans, truth = synthetic()
    lengths = np.full(200, 25)
    found = fit_decode(spans, lengths, n_sources=5, n_labels=2)
    assert all(0 <= a.start < a.end <= 25 and 0.0 < a.confidence <= 1.0 and a.label in (0, 1) for a in found)
    assert token_f1(found, truth) > token_f1(aggregate_spans(spans), truth) + 0.1
    assert token_f1(found, truth) > 0.85


def test_hmm_handles_empty_records_and_spans_past_the_end() -> None:
    spans = Spans.from_lists(rows=[0, 0, 2, 2], sources=[0, 1, 0, 1], labels=[1, 1, 0, 0], starts=[1, 1, 0, 0], ends=[3, 3, 9, 9])
    found = fit_decode(spans, np.array([4, 0, 2]), n_sources=2, n_labels=2)
    assert [(a.row, a.label, a.start, a.end) for a in found] == [(0, 1, 1, 3), (2, 0, 0, 2)]


def test_batches_by_length_give_the_same_spans_and_bound_memory(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import weak_supervisor.span_hmm as span_hmm

    spans, _ = synthetic(n=120, seed=2)
    lengths = np.full(120, 25)
    lengths[7] = 3_000  # one long record must not make every row 3,000 tokens long
    whole = fit_decode(spans, lengths, n_sources=5, n_labels=2)
    monkeypatch.setattr(span_hmm, "BATCH_CELLS", 5 * 30 * 5)  # a handful of rows per batch
    assert len(span_hmm._batches(lengths, 5)) > 10
    batched = fit_decode(spans, lengths, n_sources=5, n_labels=2)
    assert [(a.row, a.label, a.start, a.end) for a in batched] == [(a.row, a.label, a.start, a.end) for a in whole]
    assert np.allclose([a.confidence for a in batched], [a.confidence for a in whole])
