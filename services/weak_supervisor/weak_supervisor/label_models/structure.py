"""What the vote matrix alone says about whether a richer model than majority vote can be trusted.

* Near-duplicate heuristics (``duplicate_weights``): heuristics voting the same class whose hit sets overlap by a
  Jaccard index of at least :data:`DUPLICATE_JACCARD` form one group; on a record, the votes of one group count once
  in total (each ``1 / votes of its group on the record``), so a conditionally-independent model does not count the
  same evidence several times.
* Stability (``split_half``): the generative model's rates are estimated on two random halves of the records and
  both fits predict every record; the share of majority-vote ties both halves break the same way, and of confident
  overrides both make, says whether the fitted parameters are a property of the data or of the sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .base import FloatArray, IntArray, Votes

DUPLICATE_JACCARD = 0.7  # hit sets overlapping this much make two heuristics of one class near-copies
SPLIT_SEED_OFFSET = 7_919  # the halves' generator must not replay the generator that drew the data


def duplicate_groups(votes: Votes) -> IntArray:
    """Group id per heuristic (single-linkage over near-copy pairs of the same voted class)."""
    m = votes.n_sources
    parent = np.arange(m)
    if m < 2 or len(votes.rows) == 0:
        return parent
    fired = sp.csr_matrix((np.ones(len(votes.rows)), (votes.rows, votes.sources)), shape=(votes.n_records, m))
    fired.data[:] = 1.0
    hits = np.asarray(fired.sum(axis=0)).ravel()
    both = (fired.T @ fired).tocoo()
    counts = np.zeros((m, votes.n_classes))
    np.add.at(counts, (votes.sources, votes.classes), 1.0)
    main_class = counts.argmax(axis=1)
    pairs = both.row < both.col
    i, j, inter = both.row[pairs], both.col[pairs], both.data[pairs]
    jaccard = inter / np.maximum(hits[i] + hits[j] - inter, 1.0)
    close = (jaccard >= DUPLICATE_JACCARD) & (main_class[i] == main_class[j])

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for a, b in zip(i[close].tolist(), j[close].tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.asarray([root(x) for x in range(m)], dtype=np.int64)


def duplicate_weights(votes: Votes, groups: IntArray | None = None) -> FloatArray:
    """Per vote: ``1 / (votes of its heuristic's group on its record)`` (1.0 for a heuristic without near-copies)."""
    groups = duplicate_groups(votes) if groups is None else groups
    key = votes.rows * votes.n_sources + groups[votes.sources]
    _, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
    return np.asarray(1.0 / count[inverse], dtype=np.float64)


def group_summary(groups: IntArray) -> dict[str, Any]:
    sizes = np.bincount(groups, minlength=len(groups))
    return {"duplicate_groups": int((sizes > 1).sum()), "heuristics_in_groups": int(sizes[sizes > 1].sum())}
