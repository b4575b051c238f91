"""The statistics' distinct-entry helpers: one packed integer key where it fits, numpy's row-wise unique where not."""

from __future__ import annotations

import numpy as np

from weak_supervisor.statistics import _distinct, _groups


def rowwise(*columns):  # type: ignore[no-untyped-def]
    return np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True, return_counts=True)


def test_packed_and_rowwise_unique_agree() -> None:
    rng = np.random.default_rng(3)
    small = [rng.integers(0, 7, 500), rng.integers(0, 3, 500), rng.integers(0, 50, 500)]
    huge = [np.asarray([2**40, 5, 2**40, 5], dtype=np.int64)] * 2 + [np.asarray([1, 2, 1, 3], dtype=np.int64)]
    for columns in (small, huge):  # the second does not fit one key: the fallback
        unique, inverse, counts = rowwise(*columns)
        got = _distinct(*columns)
        assert sorted(map(tuple, got.tolist())) == sorted(map(tuple, unique.tolist()))
        g_inverse, g_counts = _groups(*columns)
        # the same partition of the entries, with the same group sizes
        assert sorted(g_counts.tolist()) == sorted(counts.tolist())
        assert (g_counts[g_inverse] == counts[inverse.ravel()]).all()
        pairs = set(zip(g_inverse.tolist(), inverse.ravel().tolist(), strict=True))
        assert len(pairs) == len(counts)
    assert _distinct(np.zeros(0, np.int64), np.zeros(0, np.int64)).shape[0] == 0
