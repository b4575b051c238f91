"""Evaluate label models on a WRENCH-format folder with the WRENCH protocol.

``python -m weak_supervisor.evaluate DIR [--model auto|refinery|majority|generative|semi|all] [--manual none|valid]``
(also ``--model semi_em|dawid_skene|guarded``, the models that ``auto`` considers; ``all`` is the five service models).
``python -m weak_supervisor.evaluate --suite [--seeds 3] [--scale 1] [--wrench DIR]`` runs the evaluation suite
instead (synthetic scenarios and the WRENCH valid splits, every model and Snorkel's LabelModel; ``suite.py``).

All rows (train, valid, test) are records of one task, as in the service; with ``--manual valid`` the valid split's
labels are the user's manual labels. Test labels are only used to score. One JSON line per model.

``--active-learner`` (needs ``--manual valid``) adds an active-learning heuristic as one more labeling-function
column: logistic regression on all-MiniLM-L6-v2 vectors of the texts, trained on the manual labels only (see
``active_learner.py``). Its regularisation and, with ``--learner-min-confidence auto``, its ``min_confidence`` are
chosen by cross-validation inside the manual labels; test labels never influence a setting. ``--cache DIR`` keeps the
text vectors between runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .active_learner import CONFIDENCE_GRID, choose_c, default_learner, embed_texts, learner_column, learner_proba
from .active_learner import stratified_folds as folds_of
from .active_learner import wrench_texts as read_texts
from .label_models import EXPERT_MODELS, MODEL_NAMES, Manual, ModelOptions, Votes, fit_predict
from .wrench import WrenchDataset, load_wrench, score


@dataclass
class Learner:
    """The active learner's column for one evaluation (built once, shared by every model of a run)."""

    votes: np.ndarray
    details: dict[str, Any]


def evaluate(dataset: WrenchDataset, model: str, manual: str, seed: int = 0, learner: Learner | None = None) -> dict[str, Any]:
    """Fit ``model`` on all rows and score the test split; returns the documented JSON object."""
    weak = np.vstack([dataset.train.weak_labels, dataset.valid.weak_labels, dataset.test.weak_labels])
    n_train, n_valid = len(dataset.train.labels), len(dataset.valid.labels)
    labels = np.full(len(weak), -1, dtype=np.int64)
    if manual == "valid":
        labels[n_train : n_train + n_valid] = dataset.valid.labels
    if learner is not None:
        weak = np.hstack([weak, learner.votes[:, None]])
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
    if learner is not None:
        result["active_learner"] = learner.details
    return result


def _fold_score(
    weak: np.ndarray, column: np.ndarray, labels: np.ndarray, fold: np.ndarray, n_classes: int, model: str, seed: int
) -> float:
    """Accuracy + F1 on the held-out manual rows ``fold`` of the label model fitted with the learner's column."""
    manual = labels.copy()
    manual[fold] = -1
    votes = Votes.from_dense(np.hstack([weak, column[:, None]]), n_classes)
    prediction = fit_predict(model, votes, Manual.from_labels(manual), ModelOptions(seed=seed))
    proba = prediction.proba[fold].copy()
    proba[~prediction.labeled[fold]] = 1.0 / n_classes
    accuracy, f1 = score(proba, labels[fold], n_classes)
    return accuracy + f1


def build_learner(
    dataset: WrenchDataset, folder: str, model: str, min_confidence: float | None, cache: Path | None, seed: int = 0
) -> Learner:
    """The learner's column over train + valid + test, trained on the valid labels (the manual labels) only."""
    started = time.perf_counter()
    texts = read_texts(folder)
    embeddings = embed_texts(texts, cache)
    weak = np.vstack([dataset.train.weak_labels, dataset.valid.weak_labels, dataset.test.weak_labels])
    n_train, n_valid = len(dataset.train.labels), len(dataset.valid.labels)
    if embeddings.shape[0] != len(weak):
        raise ValueError(f"{len(texts)} texts for {len(weak)} rows")
    labels = np.full(len(weak), -1, dtype=np.int64)
    labels[n_train : n_train + n_valid] = dataset.valid.labels
    embedded_s = time.perf_counter() - started
    c = choose_c(embeddings, labels, dataset.n_classes, seed)
    learner_class = default_learner(c)
    chosen = min_confidence
    scores: dict[str, float] = {}
    if chosen is None:  # cross-validation inside the manual labels: each fold plays the test split once
        valid_rows = np.flatnonzero(labels >= 0)
        totals = dict.fromkeys(CONFIDENCE_GRID, 0.0)
        folds = folds_of(labels[valid_rows], 5, seed)
        for fold in folds:
            held_out = valid_rows[fold]
            manual = labels.copy()
            manual[held_out] = -1
            proba, training, predicted = learner_proba(learner_class, embeddings, manual, dataset.n_classes, seed=seed)
            for threshold in CONFIDENCE_GRID:
                column = learner_column(proba, predicted, training, threshold).votes
                totals[threshold] += _fold_score(weak, column, labels, held_out, dataset.n_classes, model, seed)
        best = max(totals.values())
        chosen = max(t for t, total in totals.items() if total >= best - 1e-9)  # ties: the more confident one
        scores = {str(t): round(v / len(folds), 2) for t, v in totals.items()}
    proba, training, predicted = learner_proba(learner_class, embeddings, labels, dataset.n_classes, seed=seed)
    final = learner_column(proba, predicted, training, chosen)
    details: dict[str, Any] = {
        "learner": "LogisticRegression on all-MiniLM-L6-v2",
        "C": c,
        "min_confidence": chosen,
        "coverage": round(float((final.votes >= 0).mean()), 3),
        "trained_on": int(len(training)),
        "embed_s": round(embedded_s, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if scores:
        details["cv_accuracy_plus_f1"] = scores
    return Learner(final.votes, details)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m weak_supervisor.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="WRENCH folder with label.json, train.json, valid.json, test.json")
    parser.add_argument("--suite", action="store_true", help="run the evaluation suite (synthetic sets + WRENCH valid)")
    parser.add_argument("--seeds", type=int, default=3, help="--suite: seeds per synthetic scenario")
    parser.add_argument("--scale", type=float, default=1.0, help="--suite: synthetic record counts × this (tests: 0.5)")
    parser.add_argument("--wrench", default=None, help="--suite: folder holding youtube/, sms/, trec/ (WRENCH format)")
    parser.add_argument("--model", default="auto", choices=[*MODEL_NAMES, *EXPERT_MODELS, "all"])
    parser.add_argument("--manual", default="none", choices=["none", "valid"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--active-learner", action="store_true", help="add an active learner on the texts (needs --manual valid)")
    parser.add_argument(
        "--learner-min-confidence", default="auto", help="the learner's min_confidence, or auto (cross-validated)"
    )
    parser.add_argument("--cache", default=None, help="folder caching the text embeddings (default: none)")
    args = parser.parse_args(argv)
    if args.suite:
        return _suite(args.seeds, Path(args.wrench) if args.wrench else None, args.scale)
    if not args.folder:
        parser.error("name a WRENCH folder, or pass --suite")
    min_confidence: float | None = None
    if args.active_learner:
        if args.manual != "valid":
            parser.error("--active-learner trains on the manual labels: use it with --manual valid")
        if args.learner_min_confidence != "auto":
            try:
                min_confidence = float(args.learner_min_confidence)
            except ValueError:
                parser.error("--learner-min-confidence must be auto or a number in [0, 1)")
            if not 0.0 <= min_confidence < 1.0:
                parser.error("--learner-min-confidence must be auto or a number in [0, 1)")
    try:
        dataset = load_wrench(args.folder)
        learner = None
        if args.active_learner:
            selection_model = "auto" if args.model == "all" else args.model
            cache = Path(args.cache) if args.cache else None
            learner = build_learner(dataset, args.folder, selection_model, min_confidence, cache, args.seed)
    except (ValueError, OSError, RuntimeError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for model in MODEL_NAMES if args.model == "all" else (args.model,):
        print(json.dumps(evaluate(dataset, model, args.manual, args.seed, learner)), flush=True)
    return 0


def _suite(seeds: int, wrench: Path | None, scale: float = 1.0) -> int:
    from .suite import run, snorkel_available, table

    if seeds < 1:
        print("error: --seeds must be at least 1", file=sys.stderr)
        return 2
    if wrench is not None and not wrench.is_dir():
        print(f"error: {wrench} is not a folder", file=sys.stderr)
        return 2
    if not 0.05 <= scale <= 20:
        print("error: --scale must lie in 0.05..20", file=sys.stderr)
        return 2
    version = snorkel_available()
    print(
        f"snorkel {version}: LabelModel measured in this run"
        if version
        else "snorkel is not installed: no LabelModel column (install it with requirements/bench.txt, without torch)",
        file=sys.stderr,
        flush=True,
    )
    rows, seconds = run(seeds, wrench, scale)
    for row in rows:
        print(json.dumps(row), flush=True)
    print(table(rows))
    worst_safe = min(row.get("auto_minus_majority_worst", row["auto_minus_majority"]) for row in rows)
    worst_labels = min(row.get("labels_minus_none_worst", row["labels_minus_none"]) for row in rows)
    print(
        json.dumps(
            {
                "sets": len(rows),
                "worst_auto_minus_majority": worst_safe,
                "worst_labels_minus_none": worst_labels,
                "seconds": round(seconds, 1),
                "snorkel": version or "not installed",
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
