"""Evaluate label models on a WRENCH-format folder with the WRENCH protocol.

``python -m weak_supervisor.evaluate DIR [--model auto|refinery|majority|generative|semi|all] [--manual none|valid]``
(also ``--model semi_em|dawid_skene``, the EM models that ``auto`` considers; ``all`` is the five service models).

All rows (train, valid, test) are records of one task, as in the service; with ``--manual valid`` the valid split's
labels are the user's manual labels. Test labels are only used to score. One JSON line per model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from .label_models import EXPERT_MODELS, MODEL_NAMES, Manual, ModelOptions, Votes, fit_predict
from .wrench import WrenchDataset, load_wrench, score


def evaluate(dataset: WrenchDataset, model: str, manual: str, seed: int = 0) -> dict[str, Any]:
    """Fit ``model`` on all rows and score the test split; returns the documented JSON object."""
    weak = np.vstack([dataset.train.weak_labels, dataset.valid.weak_labels, dataset.test.weak_labels])
    n_train, n_valid = len(dataset.train.labels), len(dataset.valid.labels)
    labels = np.full(len(weak), -1, dtype=np.int64)
    if manual == "valid":
        labels[n_train : n_train + n_valid] = dataset.valid.labels
    started = time.perf_counter()
    votes = Votes.from_dense(weak, dataset.n_classes)
    prediction = fit_predict(model, votes, Manual.from_labels(labels), ModelOptions(seed=seed))
    seconds = time.perf_counter() - started
    test = slice(n_train + n_valid, len(weak))
    proba = prediction.proba[test].copy()
    proba[~prediction.labeled[test]] = 1.0 / dataset.n_classes  # the protocol: no label → uniform
    accuracy, f1 = score(proba, dataset.test.labels, dataset.n_classes)
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "model": model,
        "manual": manual,
        "accuracy": round(accuracy, 2),
        "f1": round(f1, 2),
        "n_test": int(len(dataset.test.labels)),
        "seconds": round(seconds, 3),
    }
    if model == "auto":
        result["picked"] = prediction.details.get("picked")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m weak_supervisor.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="WRENCH folder with label.json, train.json, valid.json, test.json")
    parser.add_argument("--model", default="auto", choices=[*MODEL_NAMES, *EXPERT_MODELS, "all"])
    parser.add_argument("--manual", default="none", choices=["none", "valid"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        dataset = load_wrench(args.folder)
    except (ValueError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for model in MODEL_NAMES if args.model == "all" else (args.model,):
        print(json.dumps(evaluate(dataset, model, args.manual, args.seed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
