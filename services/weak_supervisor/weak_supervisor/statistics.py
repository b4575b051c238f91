"""Heuristic statistics per (heuristic, label), with the reference's definitions minus its defects: classification
counts real false negatives (a manual label the heuristic did not give), and extraction overlaps and conflicts are
exact (every span, not a sample)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .label_models.base import Manual, Votes
from .spans import Spans

Counts = dict[str, NDArray[np.int64]]
FIELDS = (
    "true_positives",
    "false_positives",
    "false_negatives",
    "record_coverage",
    "total_hits",
    "source_conflicts",
    "source_overlaps",
)


def _zeros(m: int, k: int) -> NDArray[np.int64]:
    return np.zeros((m, k), dtype=np.int64)


def _packed(columns: tuple[NDArray[np.int64], ...]) -> tuple[NDArray[np.int64], list[int]] | None:
    """The columns as one int64 key per entry (mixed radix, first column most significant) and the radices; None
    when a value is negative or the key would not fit."""
    bounds = [int(c.max()) + 1 if len(c) else 1 for c in columns]
    if any(len(c) and int(c.min()) < 0 for c in columns) or np.prod(bounds, dtype=object) >= 2**62:
        return None
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column, bound in zip(columns, bounds, strict=True):
        key = key * bound + column
    return key, bounds


def _distinct(*columns: NDArray[np.int64]) -> NDArray[np.int64]:
    """``np.unique(np.stack(columns, axis=1), axis=0)``, through one integer key where it fits (many times faster)."""
    packed = _packed(columns)
    if packed is None:
        return np.asarray(np.unique(np.stack(columns, axis=1), axis=0), dtype=np.int64)
    key, bounds = packed
    key = np.sort(key)  # sort and drop repeats: faster than np.unique's hashing on these keys
    rest = key[np.concatenate(([True], key[1:] != key[:-1]))] if len(key) else key
    out: list[NDArray[np.int64]] = []
    for bound in reversed(bounds):
        rest, digit = np.divmod(rest, bound)
        out.append(digit)
    return np.stack(out[::-1], axis=1) if out else np.zeros((0, 0), dtype=np.int64)


def _groups(*columns: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per entry, the index of its distinct (columns) combination, and the count of each combination."""
    packed = _packed(columns)
    if packed is None:
        _, inverse, counts = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True, return_counts=True)
    else:
        _, inverse, counts = np.unique(packed[0], return_inverse=True, return_counts=True)
    return inverse.ravel(), counts


def _record_flags(
    rows: NDArray[np.int64], sources: NDArray[np.int64], labels: NDArray[np.int64], flag: NDArray[np.bool_], m: int, k: int
) -> NDArray[np.int64]:
    """Number of distinct records per (source, label) among entries with ``flag``."""
    out = _zeros(m, k)
    if not flag.any():
        return out
    keys = _distinct(sources[flag], labels[flag], rows[flag])
    np.add.at(out, (keys[:, 0], keys[:, 1]), 1)
    return out


def _quantity(
    rows: NDArray[np.int64], sources: NDArray[np.int64], labels: NDArray[np.int64], keys: NDArray[np.int64], m: int, k: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(conflicts, overlaps): records where another source gave a different / the same label on the same ``keys``."""
    if len(keys) == 0:
        return _zeros(m, k), _zeros(m, k)
    # distinct (key, source, label) entries
    key, src, lab, row = _distinct(keys, sources, labels, rows).T
    key_idx, key_n = _groups(key)
    kl_idx, kl_n = _groups(key, lab)
    ks_idx, ks_n = _groups(key, src)
    same = kl_n[kl_idx] - 1 > 0
    different = key_n[key_idx] - kl_n[kl_idx] - (ks_n[ks_idx] - 1) > 0
    return _record_flags(row, src, lab, different, m, k), _record_flags(row, src, lab, same, m, k)


def classification_statistics(votes: Votes, manual: Manual) -> Counts:
    """Counts ``m × K`` for a (multi-class or multi-label) classification task."""
    m, k, n = votes.n_sources, votes.n_classes, votes.n_records
    pairs = _distinct(votes.rows, votes.sources, votes.classes) if len(votes.rows) else np.zeros((0, 3), dtype=np.int64)
    r, s, c = pairs.T if len(pairs) else (np.zeros(0, np.int64),) * 3
    gold = np.zeros((n, k), dtype=bool)
    gold[manual.rows, manual.classes] = True
    labeled: NDArray[np.bool_] = np.asarray(gold.any(axis=1))
    on_labeled = labeled[r]
    correct = on_labeled & gold[r, c]
    tp = _zeros(m, k)
    fp = _zeros(m, k)
    np.add.at(tp, (s[correct], c[correct]), 1)
    wrong = on_labeled & ~gold[r, c]
    np.add.at(fp, (s[wrong], c[wrong]), 1)
    manual_per_label = gold.sum(axis=0).astype(np.int64)
    fn = manual_per_label[None, :] - tp
    coverage = _zeros(m, k)
    np.add.at(coverage, (s, c), 1)
    conflicts, overlaps = _quantity(r, s, c, r, m, k)
    return {
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "record_coverage": coverage,
        "total_hits": coverage.copy(),
        "source_conflicts": conflicts,
        "source_overlaps": overlaps,
    }


def _tokens(spans: Spans) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Expand spans to (row, token, source, label) per covered token."""
    lengths = np.maximum(spans.ends - spans.starts, 0)
    idx = np.repeat(np.arange(len(spans)), lengths)
    offsets = np.arange(len(idx)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return spans.rows[idx], spans.starts[idx] + offsets, spans.sources[idx], spans.labels[idx]


def extraction_counts(heuristic: Spans, manual: Spans, m: int, k: int) -> Counts:
    """Token-level TP/FP/FN of each source against the manual spans, on manually labeled records only."""
    tp, fp, fn = _zeros(m, k), _zeros(m, k), _zeros(m, k)
    mr, mt, _, ml = _tokens(manual)
    labeled_rows = set(np.unique(manual.rows).tolist())
    manual_label = {(int(a), int(b)): int(c) for a, b, c in zip(mr, mt, ml, strict=True)}
    hr, ht, hs, hl = _tokens(heuristic)
    for source in range(m):
        sel = hs == source
        mine: dict[tuple[int, int], int] = {}
        for a, b, c in zip(hr[sel], ht[sel], hl[sel], strict=True):
            if int(a) in labeled_rows:
                mine[(int(a), int(b))] = int(c)
        for key, label in mine.items():
            gold = manual_label.get(key)
            if gold == label:
                tp[source, label] += 1
            else:
                fp[source, label] += 1
                if gold is not None:
                    fn[source, gold] += 1
        for key, gold in manual_label.items():
            if key not in mine:
                fn[source, gold] += 1
    return {"true_positives": tp, "false_positives": fp, "false_negatives": fn}


def extraction_statistics(heuristic: Spans, manual: Spans, m: int, k: int) -> Counts:
    """Counts ``m × K`` for an extraction task; overlaps/conflicts: records where another source's span shares a
    token with one of this source's spans with the same / a different label."""
    counts = extraction_counts(heuristic, manual, m, k)
    coverage = _record_flags(heuristic.rows, heuristic.sources, heuristic.labels, np.ones(len(heuristic), bool), m, k)
    hits = _zeros(m, k)
    np.add.at(hits, (heuristic.sources, heuristic.labels), 1)
    hr, ht, hs, hl = _tokens(heuristic)
    token_key = hr * (int(ht.max()) + 1 if len(ht) else 1) + ht
    conflicts, overlaps = _quantity(hr, hs, hl, token_key, m, k)
    counts.update({"record_coverage": coverage, "total_hits": hits, "source_conflicts": conflicts, "source_overlaps": overlaps})
    return counts


def estimates(tp: int, fp: int, fn: int) -> tuple[float | None, float | None]:
    """(est. precision, est. recall); None where undefined."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return precision, recall


def exclude_training_rows(
    counts: Counts,
    source: int,
    training_rows: NDArray[np.int64],
    *,
    votes: Votes | None = None,
    manual: Manual | None = None,
    spans: Spans | None = None,
    manual_spans: Spans | None = None,
) -> None:
    """Recount TP / FP / FN of ``source`` without the records it was trained on (an active learner's training set):
    its precision and recall are then measured on records it never saw. Coverage, hits, overlaps and conflicts keep
    every record the heuristic labels."""
    m = counts["true_positives"].shape[0]
    k = counts["true_positives"].shape[1]
    if spans is not None and manual_spans is not None:
        h = (spans.sources == source) & ~np.isin(spans.rows, training_rows)
        g = ~np.isin(manual_spans.rows, training_rows)
        mine = Spans(spans.rows[h], spans.sources[h], spans.labels[h], spans.starts[h], spans.ends[h], spans.confidence[h])
        gold = Spans(
            manual_spans.rows[g],
            manual_spans.sources[g],
            manual_spans.labels[g],
            manual_spans.starts[g],
            manual_spans.ends[g],
            manual_spans.confidence[g],
        )
        recount = extraction_counts(mine, gold, m, k)
    else:
        assert votes is not None and manual is not None
        keep = (votes.sources == source) & ~np.isin(votes.rows, training_rows)
        kept = Votes(
            votes.n_records,
            votes.n_sources,
            votes.n_classes,
            votes.rows[keep],
            votes.sources[keep],
            votes.classes[keep],
            votes.confidence[keep],
        )
        g = ~np.isin(manual.rows, training_rows)
        recount = classification_statistics(kept, Manual(manual.rows[g], manual.classes[g]))
    for name in ("true_positives", "false_positives", "false_negatives"):
        counts[name][source] = recount[name][source]
