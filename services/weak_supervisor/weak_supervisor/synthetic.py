"""A suite of synthetic vote matrices with known truth, for deciding label-model designs on more than three data sets.

Each scenario stresses one way a label model can go wrong: many classes, many low-coverage heuristics, correlated
groups (near-copies that a conditionally-independent model counts several times), adversarial and near-random
heuristics, class imbalance, one broad low-precision rule (as in WRENCH trec), and manual labels drawn from a
different part of the data than the rest (a shifted labeled subset). Everything is drawn from a seeded generator, so a
scenario and seed always give the same matrix.

Heuristics are unipolar, as in real projects (each votes one class or abstains): heuristic ``j`` votes its class
``c_j`` on a record of true class ``y`` with probability ``fire[j, y]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class SyntheticTask:
    """A dense vote matrix (``-1`` = abstain), the truth, and which records a user labeled (``labeled``)."""

    name: str
    n_classes: int
    weak: IntArray
    truth: IntArray
    labeled: NDArray[np.bool_]


def _prior(k: int, imbalance: float) -> NDArray[np.float64]:
    """Class prior with the largest class ``imbalance`` times the smallest (geometric)."""
    weights = imbalance ** (-np.arange(k) / max(k - 1, 1))
    return np.asarray(weights / weights.sum(), dtype=np.float64)


class _Builder:
    def __init__(self, n: int, k: int, prior: NDArray[np.float64], rng: np.random.Generator) -> None:
        self.n, self.k, self.rng = n, k, rng
        self.truth = rng.choice(k, size=n, p=prior).astype(np.int64)
        self.columns: list[IntArray] = []

    def unipolar(self, c: int, recall: float, false_rate: float) -> IntArray:
        """Votes ``c`` on a record of class ``c`` with probability ``recall``, on others with ``false_rate``."""
        p = np.where(self.truth == c, recall, false_rate)
        column = np.where(self.rng.random(self.n) < p, c, -1).astype(np.int64)
        self.columns.append(column)
        return column

    def good(self, count: int, recall: tuple[float, float], false_rate: tuple[float, float]) -> None:
        for _ in range(count):
            self.unipolar(
                int(self.rng.integers(self.k)),
                float(self.rng.uniform(*recall)),
                float(self.rng.uniform(*false_rate)),
            )

    def copies(self, parent: IntArray, count: int, keep: float) -> None:
        """Near-copies of ``parent``: each vote of the parent is kept with probability ``keep``."""
        for _ in range(count):
            self.columns.append(np.where(self.rng.random(self.n) < keep, parent, -1).astype(np.int64))

    def adversarial(self, count: int, rate: float) -> None:
        """Votes class ``c`` on records of class ``c + 1`` (and rarely on ``c``): systematically wrong."""
        for _ in range(count):
            c = int(self.rng.integers(self.k))
            p = np.where(self.truth == (c + 1) % self.k, rate, rate * 0.1)
            self.columns.append(np.where(self.rng.random(self.n) < p, c, -1).astype(np.int64))

    def random(self, count: int, rate: float) -> None:
        """Fires at random, whatever the class."""
        for _ in range(count):
            c = int(self.rng.integers(self.k))
            self.columns.append(np.where(self.rng.random(self.n) < rate, c, -1).astype(np.int64))

    def task(self, name: str, labeled: NDArray[np.bool_]) -> SyntheticTask:
        weak = np.stack(self.columns, axis=1) if self.columns else np.full((self.n, 0), -1, dtype=np.int64)
        return SyntheticTask(name, self.k, weak, self.truth, labeled)


def _size(n: int, scale: float) -> int:
    """A scenario's record count times ``scale`` (tests use 1, the CLI more), at least 200."""
    return max(200, round(n * scale))


def _random_labels(n: int, share: float, rng: np.random.Generator) -> NDArray[np.bool_]:
    return np.asarray(rng.random(n) < share, dtype=bool)


def independent(seed: int, scale: float = 1.0) -> SyntheticTask:
    """The easy case: 3 balanced classes, 20 independent heuristics of mixed quality."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(4000, scale), 3, _prior(3, 1.0), rng)
    b.good(20, (0.2, 0.6), (0.01, 0.15))
    return b.task("independent", _random_labels(b.n, 0.05, rng))


def many_classes(seed: int, scale: float = 1.0) -> SyntheticTask:
    """12 classes, 60 heuristics, mildly imbalanced."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(6000, scale), 12, _prior(12, 3.0), rng)
    b.good(60, (0.2, 0.6), (0.003, 0.03))
    return b.task("many_classes", _random_labels(b.n, 0.05, rng))


def low_coverage(seed: int, scale: float = 1.0) -> SyntheticTask:
    """200 heuristics that each fire on 1-3 % of their class's records."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(8000, scale), 4, _prior(4, 1.5), rng)
    b.good(200, (0.01, 0.05), (0.0005, 0.005))
    return b.task("low_coverage", _random_labels(b.n, 0.03, rng))


def correlated(seed: int, scale: float = 1.0) -> SyntheticTask:
    """6 good independent heuristics and a group of 8 near-copies of one mediocre heuristic."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(4000, scale), 3, _prior(3, 1.0), rng)
    b.good(6, (0.3, 0.6), (0.01, 0.06))
    parent = b.unipolar(int(rng.integers(3)), 0.6, 0.25)
    b.copies(parent, 8, 0.9)
    return b.task("correlated", _random_labels(b.n, 0.05, rng))


def adversarial(seed: int, scale: float = 1.0) -> SyntheticTask:
    """10 good heuristics, 3 systematically wrong ones and 6 that fire at random."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(4000, scale), 3, _prior(3, 1.0), rng)
    b.good(10, (0.2, 0.5), (0.01, 0.08))
    b.adversarial(3, 0.4)
    b.random(6, 0.15)
    return b.task("adversarial", _random_labels(b.n, 0.05, rng))


def imbalanced(seed: int, scale: float = 1.0) -> SyntheticTask:
    """Two classes at 92 % / 8 %: the rare class's heuristics are few and noisy."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(6000, scale), 2, np.array([0.92, 0.08]), rng)
    for _ in range(8):
        b.unipolar(0, float(rng.uniform(0.2, 0.5)), float(rng.uniform(0.02, 0.1)))
    for _ in range(4):
        b.unipolar(1, float(rng.uniform(0.3, 0.6)), float(rng.uniform(0.01, 0.04)))
    return b.task("imbalanced", _random_labels(b.n, 0.05, rng))


def broad_rule(seed: int, scale: float = 1.0) -> SyntheticTask:
    """One rule fires on most records with low precision (as trec's "what is" rule); specific rules beside it."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(5000, scale), 5, _prior(5, 2.0), rng)
    b.unipolar(0, 0.8, 0.6)
    b.good(25, (0.15, 0.45), (0.005, 0.05))
    return b.task("broad_rule", _random_labels(b.n, 0.05, rng))


def shifted_labels(seed: int, scale: float = 1.0) -> SyntheticTask:
    """Labels a user gave while browsing one heuristic's hits: the labeled records are mostly those a few heuristics
    voted on, with another class mix than the rest."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(5000, scale), 3, _prior(3, 1.0), rng)
    b.good(15, (0.2, 0.6), (0.01, 0.12))
    first = b.columns[0] >= 0
    labeled = (first & (rng.random(b.n) < 0.5)) | (rng.random(b.n) < 0.01)
    return b.task("shifted_labels", labeled)


def correlated_good(seed: int, scale: float = 1.0) -> SyntheticTask:
    """The opposite of ``correlated``: 8 near-copies of one *good* heuristic beside 6 mediocre ones (counting the
    copies once must not lose what they know)."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(4000, scale), 3, _prior(3, 1.0), rng)
    b.good(6, (0.2, 0.5), (0.05, 0.15))
    parent = b.unipolar(int(rng.integers(3)), 0.8, 0.03)
    b.copies(parent, 8, 0.9)
    return b.task("correlated_good", _random_labels(b.n, 0.05, rng))


def hard_mix(seed: int, scale: float = 1.0) -> SyntheticTask:
    """Everything at once: 15 classes at a 5:1 imbalance, 240 low-coverage heuristics, 3 groups of 5 near-copies,
    4 adversarial and 10 random heuristics."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(10000, scale), 15, _prior(15, 5.0), rng)
    b.good(240, (0.02, 0.1), (0.0005, 0.004))
    for _ in range(3):
        parent = b.unipolar(int(rng.integers(15)), float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.005, 0.03)))
        b.copies(parent, 5, 0.85)
    b.adversarial(4, 0.1)
    b.random(10, 0.01)
    return b.task("hard_mix", _random_labels(b.n, 0.03, rng))


def small(seed: int, scale: float = 1.0) -> SyntheticTask:
    """300 records, 3 classes, 10 heuristics: too few records for rates to be stable."""
    rng = np.random.default_rng(seed)
    b = _Builder(max(200, round(300 * min(scale, 1.0))), 3, _prior(3, 1.5), rng)
    b.good(10, (0.2, 0.5), (0.02, 0.15))
    return b.task("small", _random_labels(b.n, 0.1, rng))


def class_shifted_labels(seed: int, scale: float = 1.0) -> SyntheticTask:
    """The user labeled mostly records of one class (e.g. browsing a class's search results): the labeled class mix
    is not the records' mix."""
    rng = np.random.default_rng(seed)
    b = _Builder(_size(5000, scale), 4, _prior(4, 1.5), rng)
    b.good(20, (0.2, 0.5), (0.01, 0.1))
    labeled = rng.random(b.n) < np.where(b.truth == 3, 0.25, 0.01)
    return b.task("class_shifted_labels", labeled)


def shifted_collection(seed: int, scale: float = 1.0) -> SyntheticTask:
    """Records of two collections; the user labeled only the first (80 %). A broad heuristic is precise on the first
    and near-random on the second, and 3 heuristics fire only on the second: what the labels teach about the broad
    heuristic is wrong for a fifth of the records, and their vote patterns show it (as trec's test collection)."""
    rng = np.random.default_rng(seed)
    n = _size(5000, scale)
    b = _Builder(n, 3, _prior(3, 1.0), rng)
    second = rng.random(n) < 0.2
    b.good(12, (0.2, 0.5), (0.02, 0.12))
    c = int(rng.integers(3))
    p = np.where(second, 0.45, np.where(b.truth == c, 0.6, 0.02))
    b.columns.append(np.where(rng.random(n) < p, c, -1).astype(np.int64))
    for _ in range(3):
        own = int(rng.integers(3))
        q = np.where(second, np.where(b.truth == own, 0.5, 0.08), 0.0)
        b.columns.append(np.where(rng.random(n) < q, own, -1).astype(np.int64))
    return b.task("shifted_collection", ~second & (rng.random(n) < 0.06))


SCENARIOS: dict[str, Callable[..., SyntheticTask]] = {
    "independent": independent,
    "many_classes": many_classes,
    "low_coverage": low_coverage,
    "correlated": correlated,
    "adversarial": adversarial,
    "imbalanced": imbalanced,
    "broad_rule": broad_rule,
    "shifted_labels": shifted_labels,
    "correlated_good": correlated_good,
    "hard_mix": hard_mix,
    "small": small,
    "class_shifted_labels": class_shifted_labels,
    "shifted_collection": shifted_collection,
}


def suite(seeds: int = 3, scale: float = 1.0) -> list[SyntheticTask]:
    """Every scenario for seeds ``0 .. seeds-1``."""
    return [make(seed, scale) for make in SCENARIOS.values() for seed in range(seeds)]


__all__ = ["SCENARIOS", "SyntheticTask", "suite"]
