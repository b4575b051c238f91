"""The service's work: a weak-supervision run for a task, and a task's heuristic statistics."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from shared_model import manual_vs_weak
from shared_model import weak_supervision_results as weak_results
from shared_model.db import new_session, session_scope
from shared_model.models import HeuristicStatistics, RunState, TaskType, WeakSupervisionRun
from shared_model.storage import WeakSupervisionArtifacts, get_storage

from . import span_hmm
from .extraction import AggregatedSpan, Spans, aggregate_spans, token_precision
from .extraction_quality import extraction_quality
from .label_models import EXPERT_MODELS, MODEL_NAMES, ModelOptions, fit_predict, fit_predict_multilabel
from .label_models.base import FloatArray
from .quality import multilabel_quality, single_label_quality
from .statistics import FIELDS, classification_statistics, estimates, exclude_training_rows, extraction_statistics
from .store import (
    BadRequest,
    TaskData,
    choose_sources,
    load_task,
    record_rows,
    task_sources,
    token_counts,
    training_record_ids,
    write_weak_labels,
)

Progress = Callable[[float, str], None]
log = logging.getLogger("weak_supervisor")
EXTRACTION_MODELS = ("spans", "hmm")  # the reference's span aggregation; a BIO-tag HMM (span_hmm.py)


def _no_progress(fraction: float, message: str) -> None:
    return None


def parse_options(parameters: dict[str, Any]) -> dict[str, Any]:
    """Validate run parameters (BadRequest naming the bad one)."""
    model = parameters.get("model") or "auto"
    if model not in MODEL_NAMES + EXPERT_MODELS:
        raise BadRequest(f"model must be one of {', '.join(MODEL_NAMES + EXPERT_MODELS)}, not {model!r}")
    min_confidence = float(parameters.get("min_confidence") or 0.0)
    if not 0.0 <= min_confidence <= 1.0:
        raise BadRequest("min_confidence must lie in [0, 1]")
    overrides: dict[uuid.UUID, float] = {}
    for key, value in (parameters.get("precision_overrides") or {}).items():
        try:
            overrides[uuid.UUID(str(key))] = float(value)
        except ValueError as exc:
            raise BadRequest(f"precision_overrides: {key!r} is not a heuristic id") from exc
        if not 0.0 <= overrides[uuid.UUID(str(key))] <= 1.0:
            raise BadRequest(f"precision_overrides: the precision of {key} must lie in [0, 1]")
    ids = parameters.get("heuristic_ids")
    try:
        source_ids = None if ids is None else [uuid.UUID(str(x)) for x in ids]
    except ValueError as exc:
        raise BadRequest("heuristic_ids must be heuristic ids") from exc
    if source_ids is not None and not source_ids:
        raise BadRequest("heuristic_ids is empty: choose at least one heuristic")
    extraction_model = parameters.get("extraction_model") or "spans"
    if extraction_model not in EXTRACTION_MODELS:
        raise BadRequest(f"extraction_model must be one of {', '.join(EXTRACTION_MODELS)}, not {extraction_model!r}")
    use_older_results = parameters.get("use_older_results") or False
    if not isinstance(use_older_results, bool):
        raise BadRequest(f"use_older_results must be true or false, not {use_older_results!r}")
    seed = parameters.get("seed") or 0
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise BadRequest(f"seed must be an integer from 0 to {2**32 - 1}, not {seed!r}")
    return {
        "model": model,
        "extraction_model": extraction_model,
        "min_confidence": min_confidence,
        "overrides": overrides,
        "source_ids": source_ids,
        "seed": seed,
        "use_older_results": use_older_results,
    }


@dataclass
class Probabilities:
    """A classification run's per-class probabilities and whether the model gives each row a label at all."""

    proba: FloatArray
    labeled: NDArray[np.bool_]


def _extraction_hmm(task: TaskData) -> tuple[list[AggregatedSpan], dict[str, Any]]:
    """The HMM over BIO tags, fitted on the records some heuristic marked (the others hold no span either way)."""
    assert task.spans is not None
    rows = np.unique(task.spans.rows)
    with session_scope() as session:
        n_tokens, estimated = token_counts(session, task, rows)
    new_row = np.searchsorted(rows, task.spans.rows)
    local = Spans(new_row, task.spans.sources, task.spans.labels, task.spans.starts, task.spans.ends, task.spans.confidence)
    found = span_hmm.fit_decode(local, n_tokens, len(task.source_ids), len(task.label_ids))
    spans = [AggregatedSpan(int(rows[s.row]), s.label, s.start, s.end, s.confidence) for s in found]
    details = {"model": "hmm", "records_fitted": int(len(rows)), "token_counts_estimated": estimated}
    return spans, details


def _predict(task: TaskData, options: dict[str, Any]) -> tuple[dict[str, Any], tuple[Any, ...], Probabilities | None]:
    """Fit and return (details, (rows, labels, confidence, starts, ends), probabilities of classification runs)."""
    overrides = {task.source_ids.index(s): p for s, p in options["overrides"].items() if s in task.source_ids}
    unknown = [str(s) for s in options["overrides"] if s not in task.source_ids]
    if unknown:
        raise BadRequest(f"precision_overrides name heuristics not used in this run: {', '.join(unknown)}")
    model_options = ModelOptions(precision_overrides=overrides, seed=options["seed"])
    if task.is_extraction:
        assert task.spans is not None and task.manual_spans is not None
        if options["extraction_model"] == "hmm":
            spans, details = _extraction_hmm(task)
        else:
            precision = token_precision(task.spans, task.manual_spans, len(task.source_ids), len(task.label_ids))
            if len(task.manual_spans) == 0:
                precision[:] = 0.8
            spans = aggregate_spans(task.spans, precision, overrides)
            details = {"model": "spans", "note": "the reference's span aggregation"}
        details["quality"] = extraction_quality(
            options["extraction_model"],
            task.spans,
            task.manual_spans,
            len(task.source_ids),
            [str(x) for x in task.label_ids],
            overrides=overrides,
            run_spans=spans,
            seed=options["seed"],
        )
        arrays = (
            np.asarray([s.row for s in spans], dtype=np.int64),
            np.asarray([s.label for s in spans], dtype=np.int64),
            np.asarray([s.confidence for s in spans]),
            np.asarray([s.start for s in spans], dtype=np.int64),
            np.asarray([s.end for s in spans], dtype=np.int64),
        )
        return details, arrays, None
    if task.task_type == TaskType.MULTILABEL_CLASSIFICATION:
        proba, details = fit_predict_multilabel(task.votes, task.manual, model_options)
        rows, labels = np.nonzero(proba >= details["threshold"])
        found = Probabilities(proba, task.votes.covered())
        quality = multilabel_quality(task.votes, task.manual, model_options, [str(x) for x in task.label_ids])
        details = {"model": "multilabel-noisy-or", **details, "quality": quality}
        return details, (rows, labels, proba[rows, labels], None, None), found
    prediction = fit_predict(options["model"], task.votes, task.manual, model_options)
    best, confidence = prediction.winners()
    top2 = np.sort(prediction.proba, axis=1)[:, -2:] if task.votes.n_classes > 1 else None
    untied = np.ones(task.votes.n_records, dtype=bool) if top2 is None else top2[:, 1] - top2[:, 0] > 1e-9
    rows = np.flatnonzero(prediction.labeled & untied)
    found = Probabilities(prediction.proba, prediction.labeled)
    keys = [str(x) for x in task.label_ids]
    prediction.details["quality"] = single_label_quality(
        options["model"], task.votes, task.manual, model_options, keys, picked=prediction.details.get("picked")
    )
    return prediction.details, (rows, best[rows], confidence[rows], None, None), found


def _mark_failed(run_id: uuid.UUID, exc: BaseException) -> None:
    with session_scope() as session:
        failed = session.get(WeakSupervisionRun, run_id)
        if failed is not None:
            failed.state = RunState.FAILED
            failed.error = str(exc)
            failed.finished_at = datetime.now(UTC)


def run_weak_supervision(
    task_id: uuid.UUID,
    parameters: dict[str, Any],
    *,
    run_id: uuid.UUID | None = None,
    job_id: uuid.UUID | None = None,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Fit the chosen model, replace the task's weak-supervision labels and record the run; returns the summary."""
    started = time.perf_counter()
    try:
        options = parse_options(parameters)
        with session_scope() as session:
            candidates = task_sources(session, task_id, options["source_ids"], selected_only=True)
            used, considered = choose_sources(session, candidates, use_older_results=options["use_older_results"])
            if candidates and not used:
                reasons = "; ".join(f"{c['name']}: {c['reason']}" for c in considered)
                raise BadRequest(f"none of the heuristics can be used ({reasons})")
            options["overrides"] = {s: p for s, p in options["overrides"].items() if s in used or s not in candidates}
            task = load_task(session, task_id, used)
            run = session.get(WeakSupervisionRun, run_id) if run_id else None
            if run is None:
                run = WeakSupervisionRun(
                    id=run_id or uuid.uuid4(), project_id=task.project_id, labeling_task_id=task_id, job_id=job_id
                )
                session.add(run)
            run.state = RunState.RUNNING
            run.started_at = datetime.now(UTC)
            run.options = {**parameters, "model": options["model"]}
            run_id = run.id
            weak_results.begin_version(session, task_id, run_id)  # its labels' version, current once it finishes
    except Exception as exc:  # a queued run must not stay QUEUED when its job fails before the fit
        if run_id is not None:
            _mark_failed(run_id, exc)
        raise
    artifacts: WeakSupervisionArtifacts | None = None
    try:
        artifacts = WeakSupervisionArtifacts(get_storage(), task.project_id, task_id)
        if not task.source_ids:
            raise BadRequest(f"labeling task {task_id} has no (selected) heuristics to combine")
        progress(0.2, f"fitting {options['model']} on {task.votes.n_records} records")
        details, (rows, labels, confidence, starts, ends), probabilities = _predict(task, options)
        keep = confidence >= options["min_confidence"]
        rows, labels, confidence = rows[keep], labels[keep], confidence[keep]
        if starts is not None and ends is not None:
            starts, ends = starts[keep], ends[keep]
        progress(0.7, f"writing {len(rows)} labels")
        if probabilities is not None:
            assigned = np.zeros(probabilities.proba.shape, dtype=bool)
            assigned[rows, labels] = True
            artifacts.write(run_id, task.record_ids, probabilities.proba, probabilities.labeled, assigned, task.label_ids)
        written = write_weak_labels(task, run_id, rows, labels, confidence, starts, ends)
        distribution = (
            np.bincount(labels, minlength=len(task.label_ids)) if len(labels) else np.zeros(len(task.label_ids), dtype=np.int64)
        )
        summary = {
            "model": options["model"],
            "quality": details.pop("quality", None),
            "model_details": details,
            "labels_written": written,
            "records": int(task.votes.n_records),
            "heuristics": [str(s) for s in task.source_ids],
            "heuristics_considered": considered,
            "coverage": round(len(np.unique(rows)) / task.votes.n_records, 4) if task.votes.n_records else 0.0,
            "label_distribution": {str(task.label_ids[i]): int(c) for i, c in enumerate(distribution)},
            "label_names": dict(zip(map(str, task.label_ids), task.label_names or [], strict=False)),
            "mean_confidence": round(float(confidence.mean()), 4) if len(confidence) else None,
            "min_confidence": options["min_confidence"],
            "manual_labels": int(len(np.unique(task.manual.rows))),
            "seconds": round(time.perf_counter() - started, 3),
            "probabilities": probabilities is not None,
        }
    except Exception as exc:
        _mark_failed(run_id, exc)
        if artifacts is not None:
            _best_effort(lambda: artifacts.storage.delete(artifacts.key(run_id)), f"removing run {run_id}'s probabilities")
        raise
    with session_scope() as session:
        done = session.get(WeakSupervisionRun, run_id, with_for_update=True)
        assert done is not None
        weak_results.switch_version(session, task_id, run_id)  # one row: the run's labels become what readers see
        done.state = RunState.FINISHED
        done.summary = summary
        done.finished_at = datetime.now(UTC)
        unfinished = set(
            session.scalars(
                select(WeakSupervisionRun.id).where(
                    WeakSupervisionRun.labeling_task_id == task_id,
                    WeakSupervisionRun.state.in_([RunState.QUEUED, RunState.RUNNING]),
                )
            )
        )
    kept = artifacts
    progress(0.9, "keeping the data browser's figures of the new labels")
    _best_effort(
        lambda: manual_vs_weak.refresh_after_switch(new_session, task_id, run_id),
        "computing the data browser's differ flags, confusion matrix and project card count of the new labels",
    )
    _best_effort(lambda: kept.keep_only(run_id, unfinished), "removing earlier runs' probabilities")
    _best_effort(lambda: weak_results.collect_garbage(new_session, task_id), "removing superseded labels")
    return {"run_id": str(run_id), **summary}


def _best_effort(action: Callable[[], object], what: str) -> None:
    """Clean-up that must not turn a run's outcome around: a storage failure is logged, not raised."""
    try:
        action()
    except Exception:  # noqa: BLE001
        log.warning("weak supervision: %s failed", what, exc_info=True)


def compute_statistics(task_id: uuid.UUID) -> list[dict[str, Any]]:
    """Recompute and store the statistics of every heuristic of a task; returns them."""
    with session_scope() as session:
        task = load_task(session, task_id, None, selected_only=False)
        m, k = len(task.source_ids), len(task.label_ids)
        if task.is_extraction:
            assert task.spans is not None and task.manual_spans is not None
            counts = extraction_statistics(task.spans, task.manual_spans, m, k)
        else:
            counts = classification_statistics(task.votes, task.manual)
        for source, record_ids in training_record_ids(session, task.source_ids).items():
            j = task.source_ids.index(source)
            _, training = record_rows(task.record_ids, np.asarray(record_ids, dtype=np.int64))  # records deleted since go
            exclude_training_rows(
                counts, j, training, votes=task.votes, manual=task.manual, spans=task.spans, manual_spans=task.manual_spans
            )
        if task.source_ids:
            session.execute(delete(HeuristicStatistics).where(HeuristicStatistics.source_id.in_(task.source_ids)))
        rows: list[dict[str, Any]] = []
        now = datetime.now(UTC)
        for j, source in enumerate(task.source_ids):
            for c, label in enumerate(task.label_ids):
                values = {name: int(counts[name][j, c]) for name in FIELDS}
                if values["record_coverage"] == 0 and values["true_positives"] == 0 and values["false_positives"] == 0:
                    continue  # a label this heuristic never gives
                rows.append({"project_id": task.project_id, "source_id": source, "label_id": label, "updated_at": now, **values})
        if rows:
            session.execute(insert(HeuristicStatistics), rows)
    return [statistics_view(r) for r in rows]


def statistics_view(row: dict[str, Any]) -> dict[str, Any]:
    """A stored statistics row with est. precision and recall."""
    precision, recall = estimates(row["true_positives"], row["false_positives"], row["false_negatives"])
    return {
        "source_id": str(row["source_id"]),
        "label_id": str(row["label_id"]),
        **{name: row[name] for name in FIELDS},
        "est_precision": precision,
        "est_recall": recall,
    }


def stored_statistics(task_id: uuid.UUID) -> list[dict[str, Any]]:
    """The stored statistics of a task's heuristics."""
    from shared_model.models import InformationSource

    with session_scope() as session:
        found = session.scalars(
            select(HeuristicStatistics)
            .join(InformationSource, InformationSource.id == HeuristicStatistics.source_id)
            .where(InformationSource.labeling_task_id == task_id)
        ).all()
        return [statistics_view({c: getattr(s, c) for c in ("source_id", "label_id", *FIELDS)}) for s in found]
