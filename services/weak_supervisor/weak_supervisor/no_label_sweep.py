"""The no-label guarantee across sizes: ``auto`` without manual labels minus majority vote on every synthetic scenario
at several scales and seeds (docs/weak-supervision.md, "The no-label guarantee by size").

``python -m weak_supervisor.no_label_sweep [--scales 0.2,0.3,0.5,1] [--seeds 5] [--scenarios a,b]`` prints one line
per scenario (mean over seeds, worst seed in brackets, per scale) and the worst sets. Only the two unsupervised fits
run, so a full sweep takes under a minute.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .label_models import Votes, fit_predict
from .suite import _of
from .synthetic import SCENARIOS


def sweep(scales: list[float], seeds: int, scenarios: list[str]) -> list[tuple[str, float, int, float]]:
    """``(scenario, scale, seed, auto − majority)`` for every set, in points of accuracy on the unlabeled records."""
    out = []
    for name in scenarios:
        for scale in scales:
            for seed in range(seeds):
                task = SCENARIOS[name](seed, scale)
                votes = Votes.from_dense(task.weak, task.n_classes)
                rows = ~task.labeled
                auto = _of(fit_predict("auto", votes), task.truth, task.n_classes, rows)
                majority = _of(fit_predict("majority", votes), task.truth, task.n_classes, rows)
                out.append((name, scale, seed, auto - majority))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m weak_supervisor.no_label_sweep", description=__doc__)
    parser.add_argument("--scales", default="0.2,0.3,0.5,1", help="comma-separated record-count scales")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 per scenario and scale")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated scenario names")
    args = parser.parse_args(argv)
    names = [n for n in args.scenarios.split(",") if n]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    try:
        scales = [float(x) for x in args.scales.split(",") if x]
    except ValueError:
        parser.error("--scales must be comma-separated numbers")
    if not scales or not all(0.05 <= x <= 20 for x in scales) or not 1 <= args.seeds <= 50:
        parser.error("--scales must lie in 0.05..20 and --seeds in 1..50")
    rows = sweep(scales, args.seeds, names)
    for name in names:
        cells = []
        for scale in scales:
            diffs = [d for n, s, _, d in rows if n == name and s == scale]
            worst = int(np.argmin(diffs))
            cells.append(f"{scale:g}: {np.mean(diffs):5.2f} ({diffs[worst]:5.2f} seed {worst})")
        sys.stdout.write(f"{name:21s} " + "  ".join(cells) + "\n")
    worst_sets = sorted(rows, key=lambda row: row[3])[:5]
    sys.stdout.write("worst: " + "; ".join(f"{n} × {s:g} seed {seed}: {d:.2f}" for n, s, seed, d in worst_sets) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
