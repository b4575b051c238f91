"""The evaluation suite: every label model, ``auto`` with and without manual labels, and Snorkel's ``LabelModel`` (when
installed) on the synthetic scenarios and the WRENCH dev sets' valid splits — the evidence designs are decided on.

``python -m weak_supervisor.evaluate --suite [--seeds 3] [--scale 1] [--wrench DIR]`` prints one JSON line per set
and a markdown table. Snorkel's ``LabelModel`` is imported when installed (``requirements/bench.txt``); when it is not,
the table has no Snorkel column and the run says so. Synthetic sets: fit on every record, score the records the user
did not label (accuracy). WRENCH sets: fit on train + valid + test, score the valid split (accuracy; sms: F1 of
spam); with labels, 5-fold inside valid (4/5 as manual labels, the fifth scored), compared with ``auto`` without
labels on the same fifths ("auto (same folds)": the WRENCH tie-break depends on the rows scored).
Test labels are never scored here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .label_models import Manual, Prediction, Votes, fit_predict
from .synthetic import SCENARIOS
from .wrench import load_wrench, score

UNSUPERVISED = ("majority", "generative", "dawid_skene", "refinery", "guarded", "auto")
WITH_LABELS = ("semi", "semi_em", "refinery", "auto")
WRENCH_METRIC = {"sms": 1}  # index into score(): 0 accuracy, 1 F1


def _scored(proba: NDArray[np.float64], labeled: NDArray[np.bool_], truth: NDArray[np.int64], k: int, rows: Any, m: int) -> float:
    p = proba.copy()
    p[~labeled] = 1.0 / k
    return float(score(p[rows], truth[rows], k)[m])


def _of(prediction: Prediction, truth: NDArray[np.int64], k: int, rows: Any, m: int = 0) -> float:
    return _scored(prediction.proba, prediction.labeled, truth, k, rows, m)


def snorkel_available() -> str | None:
    """Snorkel's version when ``snorkel.labeling.model.LabelModel`` imports, else None."""
    try:
        import snorkel
        from snorkel.labeling.model import LabelModel  # noqa: F401
    except ImportError:
        return None
    return str(getattr(snorkel, "__version__", "unknown"))


def snorkel_proba(weak: NDArray[np.int64], k: int, seed: int = 0) -> NDArray[np.float64] | None:
    """Snorkel's LabelModel with its defaults, fit on the whole matrix; None when snorkel is not installed."""
    if snorkel_available() is None:
        return None
    from snorkel.labeling.model import LabelModel

    model = LabelModel(cardinality=k, verbose=False)
    model.fit(weak, seed=seed, progress_bar=False)
    return np.asarray(model.predict_proba(weak), dtype=np.float64)


def _row(
    weak: NDArray[np.int64], truth: NDArray[np.int64], k: int, rows: NDArray[np.bool_], m: int, seed: int
) -> dict[str, float]:
    votes = Votes.from_dense(weak, k)
    out = {model: _of(fit_predict(model, votes), truth, k, rows, m) for model in UNSUPERVISED}
    snorkel = snorkel_proba(weak, k, seed)
    if snorkel is not None:
        out["snorkel"] = _scored(snorkel, votes.covered(), truth, k, rows, m)
    return out


def synthetic_rows(seeds: int, scale: float = 1.0) -> list[dict[str, Any]]:
    """Per scenario, the mean over ``seeds`` of every column and (``<column>_worst``) its worst seed."""
    out = []
    for name, make in SCENARIOS.items():
        columns: dict[str, list[float]] = {}
        for seed in range(seeds):
            task = make(seed, scale)
            unlabeled = ~task.labeled
            row = _row(task.weak, task.truth, task.n_classes, unlabeled, 0, seed)
            votes = Votes.from_dense(task.weak, task.n_classes)
            manual = Manual.from_labels(np.where(task.labeled, task.truth, -1))
            for model in WITH_LABELS:
                row[f"{model}+labels"] = _of(fit_predict(model, votes, manual), task.truth, task.n_classes, unlabeled)
            row["auto_minus_majority"] = row["auto"] - row["majority"]
            row["labels_minus_none"] = row["auto+labels"] - row["auto"]
            for key, value in row.items():
                columns.setdefault(key, []).append(value)
        result: dict[str, Any] = {"set": name, "seeds": seeds}
        for key, values in columns.items():
            result[key] = round(float(np.mean(values)), 2)
            result[f"{key}_worst"] = round(float(min(values)), 2)
        out.append(result)
    return out


def wrench_rows(folder: Path) -> list[dict[str, Any]]:
    """Every WRENCH dev set found under ``folder``, scored on its valid split."""
    out = []
    for name in ("youtube", "sms", "trec"):
        if not (folder / name / "valid.json").is_file():
            continue
        data = load_wrench(folder / name)
        weak = np.vstack([data.train.weak_labels, data.valid.weak_labels, data.test.weak_labels])
        truth = np.concatenate([data.train.labels, data.valid.labels, np.full(len(data.test.labels), -1)])
        n_train, n_valid = len(data.train.labels), len(data.valid.labels)
        valid = np.zeros(len(weak), dtype=bool)
        valid[n_train : n_train + n_valid] = True
        m = WRENCH_METRIC.get(name, 0)
        truth_scored = np.where(truth >= 0, truth, 0)  # test rows are never scored: valid rows only
        row: dict[str, Any] = {"set": f"wrench {name} (valid)"}
        row.update(_row(weak, truth_scored, data.n_classes, valid, m, 0))
        votes = Votes.from_dense(weak, data.n_classes)
        rows = np.flatnonzero(valid)
        fold_of = np.random.default_rng(0).permutation(len(rows)) % 5
        alone = fit_predict("auto", votes)
        baseline = []  # auto without labels on the same held-out fifths (the tie-break depends on the scored rows)
        for fold in range(5):
            held = np.zeros(len(weak), dtype=bool)
            held[rows[fold_of == fold]] = True
            baseline.append(_of(alone, truth_scored, data.n_classes, held, m))
        row["auto (same folds)"] = float(np.mean(baseline))
        for model in WITH_LABELS:
            scores = []
            for fold in range(5):
                labels = np.full(len(weak), -1, dtype=np.int64)
                train = rows[fold_of != fold]
                labels[train] = truth[train]
                held = np.zeros(len(weak), dtype=bool)
                held[rows[fold_of == fold]] = True
                prediction = fit_predict(model, votes, Manual.from_labels(labels))
                scores.append(_of(prediction, truth_scored, data.n_classes, held, m))
            row[f"{model}+labels"] = float(np.mean(scores))
        row["auto_minus_majority"] = row["auto"] - row["majority"]
        row["labels_minus_none"] = row["auto+labels"] - row["auto (same folds)"]
        out.append({key: round(v, 2) if isinstance(v, float) else v for key, v in row.items()})
    return out


def _cell(row: dict[str, Any], column: str) -> str:
    """``mean (worst)`` over seeds where the row has several, else the value."""
    if column not in row:
        return "—"
    worst = row.get(f"{column}_worst")
    return str(row[column]) if worst is None or row.get("seeds", 1) == 1 else f"{row[column]} ({worst})"


def table(rows: list[dict[str, Any]]) -> str:
    """A markdown table of the rows (columns in a fixed order; synthetic cells: mean over seeds (worst seed))."""
    columns = [
        *UNSUPERVISED,
        "snorkel",
        "auto (same folds)",
        *(f"{m}+labels" for m in WITH_LABELS),
        "auto_minus_majority",
        "labels_minus_none",
    ]
    columns = [c for c in columns if any(c in row for row in rows)]
    lines = ["| set | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for row in rows:
        lines.append(f"| {row['set']} | " + " | ".join(_cell(row, c) for c in columns) + " |")
    return "\n".join(lines)


def run(seeds: int, wrench: Path | None, scale: float = 1.0) -> tuple[list[dict[str, Any]], float]:
    started = time.perf_counter()
    rows = synthetic_rows(seeds, scale) + (wrench_rows(wrench) if wrench else [])
    return rows, time.perf_counter() - started
