"""Weak-supervision benchmark: our label models beside Snorkel's LabelModel and majority vote on the same matrices
(WRENCH youtube, sms, trec; WRENCH protocol), and a synthetic 1,000,000 × 50 × 5 fit, ours against Snorkel's.

Run: ``.venv/bin/python benchmarks/weak_supervision.py [--wrench DIR] [--skip-synthetic]``. The last line is JSON.
Test labels only score; nothing here was tuned on them.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services" / "weak_supervisor"))

from weak_supervisor.evaluate import evaluate  # noqa: E402
from weak_supervisor.label_models import EXPERT_MODELS, MODEL_NAMES, Votes, fit_predict  # noqa: E402
from weak_supervisor.wrench import load_wrench, score  # noqa: E402

METRIC = {"youtube": "accuracy", "sms": "f1", "trec": "accuracy"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def snorkel_row(dataset: Any, seed: int = 0) -> dict[str, Any]:
    """Snorkel's LabelModel with default settings, fit on the train split (as in WRENCH), scored on test."""
    from snorkel.labeling.model import LabelModel

    started = time.perf_counter()
    model = LabelModel(cardinality=dataset.n_classes, verbose=False)
    model.fit(dataset.train.weak_labels, seed=seed, progress_bar=False)
    proba = model.predict_proba(dataset.test.weak_labels)
    seconds = time.perf_counter() - started
    accuracy, f1 = score(proba, dataset.test.labels, dataset.n_classes)
    return {
        "dataset": dataset.name,
        "model": "snorkel",
        "manual": "none",
        "accuracy": round(accuracy, 2),
        "f1": round(f1, 2),
        "n_test": len(dataset.test.labels),
        "seconds": round(seconds, 3),
    }


def synthetic(n: int, m: int, k: int, coverage: float, seed: int) -> tuple[Votes, np.ndarray]:
    """Heuristics with coverage ``coverage`` and accuracies in [0.55, 0.9], independent given the truth."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    accuracy = rng.uniform(0.55, 0.9, m)
    rows, sources, classes = [], [], []
    for j in range(m):
        fired = np.flatnonzero(rng.random(n) < coverage)
        right = rng.random(len(fired)) < accuracy[j]
        vote = np.where(right, truth[fired], (truth[fired] + rng.integers(1, k, len(fired))) % k)
        rows.append(fired)
        sources.append(np.full(len(fired), j))
        classes.append(vote)
    votes = Votes.from_arrays(n, m, k, np.concatenate(rows), np.concatenate(sources), np.concatenate(classes))
    return votes, truth


def synthetic_benchmark(n: int = 1_000_000, m: int = 50, k: int = 5) -> dict[str, Any]:
    votes, truth = synthetic(n, m, k, coverage=0.1, seed=7)
    started = time.perf_counter()
    ours = fit_predict("generative", votes)
    ours_s = time.perf_counter() - started
    ours_peak = peak_rss_mb()
    covered = ours.labeled
    ours_acc = float((np.argmax(ours.proba, axis=1)[covered] == truth[covered]).mean())
    dense = np.full((n, m), -1, dtype=np.int64)
    dense[votes.rows, votes.sources] = votes.classes
    from snorkel.labeling.model import LabelModel

    started = time.perf_counter()
    model = LabelModel(cardinality=k, verbose=False)
    model.fit(dense, seed=0, progress_bar=False)
    snorkel_proba = model.predict_proba(dense)
    snorkel_s = time.perf_counter() - started
    snorkel_acc = float((np.argmax(snorkel_proba, axis=1)[covered] == truth[covered]).mean())
    return {
        "fit_1m_s": round(ours_s, 2),
        "snorkel_1m_s": round(snorkel_s, 2),
        "speedup_vs_snorkel": round(snorkel_s / ours_s, 2),
        "peak_rss_mb": round(ours_peak, 1),
        "synthetic_acc_ours": round(ours_acc * 100, 2),
        "synthetic_acc_snorkel": round(snorkel_acc * 100, 2),
        "synthetic_votes": int(len(votes.rows)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wrench", default=str(ROOT.parent / "shared" / "data" / "wrench"))
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    final: dict[str, Any] = {}
    if not args.skip_synthetic:
        final.update(synthetic_benchmark())
        print(json.dumps({"synthetic": final}), flush=True)
    print("| dataset | model | manual | metric | accuracy | f1 | seconds |\n|---|---|---|---|---|---|---|")
    for name in ("youtube", "sms", "trec"):
        dataset = load_wrench(Path(args.wrench) / name)
        rows = [snorkel_row(dataset)]
        for manual in ("none", "valid"):
            rows += [evaluate(dataset, model, manual) for model in (*MODEL_NAMES, *EXPERT_MODELS)]
        for row in rows:
            metric = row[METRIC[name]]
            label = row["model"] + (f" → {row['picked']}" if row.get("picked") else "")
            print(f"| {name} | {label} | {row['manual']} | {METRIC[name]} | {row['accuracy']} | {row['f1']} | {row['seconds']} |")
            final[f"{name}_{row['model']}_{row['manual']}"] = metric
    print(json.dumps(final))
    return 0


if __name__ == "__main__":
    sys.exit(main())
