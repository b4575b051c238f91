"""Active-learning heuristics: the user's learner class trained on valid manual labels, run in the sandbox.

The executor (trusted) reads the embedding's vectors from object storage and the manual labels from Postgres, keeps a
``train_test_split`` share of the labeled records for training (the rest stay unseen, so the heuristic's statistics
measure it on records it did not learn from), and hands arrays to the sandboxed learner: ``fit`` once, then
``predict_proba`` over every embedded record in batches. The sandbox only answers with the top class and its
probability per record (or per token); the executor keeps predictions above ``min_confidence`` in ``label_names``.
"""

from __future__ import annotations

import math
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from shared_model import learner_interface
from shared_model.db import session_scope
from shared_model.models import Embedding, EmbeddingType, RecordLabelAssociation, RunState, SourceType
from shared_model.models import Label as LabelRow
from shared_model.storage import EmbeddingArtifacts, get_storage

from .runs import extra_packages_dir
from .sandbox.backends import SANDBOX_EXTRA, Limits, get_backend
from .sandbox.session import SandboxError, WorkerSession

RUNTIME_SOURCE = Path(__file__).with_name("sandbox").joinpath("learner_runtime.py")
OUTSIDE = learner_interface.OUTSIDE
PREDICT_ROWS = 5000  # record vectors per predict frame
PREDICT_RECORDS_TOKENS = 500  # records per predict frame for token-level learners


class LearnerError(Exception):
    """The learner cannot run or failed; the message is meant for the user."""


@dataclass
class LearnerResult:
    """What one learner run produced: per record (label name, confidence) or spans, and the training records."""

    kind: str
    embedding: str
    training_record_ids: list[int]
    predictions: dict[int, list[tuple[str, int | None, int | None, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def resolve_embedding(project_id: uuid.UUID, name: str, kind: EmbeddingType) -> tuple[uuid.UUID, str]:
    """(id, name) of the embedding the learner names. An embedding of that exact name must exist, of the learner's
    granularity and finished: no other embedding is ever substituted (a learner trained on another embedding gives
    other results; choosing one is the user's explicit act, by editing ``embedding_name``). LearnerError otherwise."""
    with session_scope() as session:
        rows = session.execute(
            select(Embedding.id, Embedding.name, Embedding.type, Embedding.state)
            .where(Embedding.project_id == project_id)
            .order_by(Embedding.created_at)
        ).all()
    granularity = "attribute-level (ON_ATTRIBUTE)" if kind == EmbeddingType.ON_ATTRIBUTE else "token-level (ON_TOKEN)"
    exact = [r for r in rows if r[1] == name]
    if not exact:
        known = ", ".join(f"{r[1]!r} ({r[2]}, {r[3]})" for r in rows) or "none"
        raise LearnerError(
            f"embedding {name!r} does not exist in this project; its embeddings: {known}. Create it, or set the"
            " learner's embedding_name to one of these"
        )
    embedding_id, found, found_type, state = exact[0]
    if found_type != kind:
        learner = "ATLClassifier" if kind == EmbeddingType.ON_ATTRIBUTE else "ATLExtractor"
        raise LearnerError(f"{learner} needs a {granularity} embedding; {found!r} is {found_type}")
    if state != RunState.FINISHED:
        raise LearnerError(f"embedding {found!r} is not ready (state {state}); run the learner once it has finished")
    return embedding_id, found


def load_record_vectors(embedding_id: uuid.UUID) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Record ids and attribute-level vectors, sorted by record id (the last chunk wins for re-embedded records)."""
    ids, vectors = EmbeddingArtifacts(get_storage(), embedding_id).load_vectors()
    if len(ids) == 0:
        return ids, vectors
    order = np.argsort(ids, kind="stable")
    ids, vectors = ids[order], vectors[order]
    keep = np.r_[ids[1:] != ids[:-1], True]
    return ids[keep], np.ascontiguousarray(vectors[keep], dtype=np.float32)


def load_token_vectors(embedding_id: uuid.UUID) -> dict[int, NDArray[np.float32]]:
    """Per record id its ``tokens × d`` matrix (rows aligned with the project's spaCy tokens)."""
    artifacts = EmbeddingArtifacts(get_storage(), embedding_id)
    out: dict[int, NDArray[np.float32]] = {}
    for key in artifacts.done_chunks():
        arrays = artifacts.storage.get_arrays(key)
        offsets = np.concatenate([[0], np.cumsum(arrays["token_counts"])]).astype(np.int64)
        vectors = arrays["vectors"].astype(np.float32, copy=False)
        for i, record_id in enumerate(arrays["record_ids"]):
            out[int(record_id)] = vectors[offsets[i] : offsets[i + 1]]
    return out


def manual_labels(task_id: uuid.UUID) -> list[tuple[int, str, int | None, int | None]]:
    """The task's valid manual labels: (record id, label name, token start, token end)."""
    with session_scope() as session:
        rows = session.execute(
            select(
                RecordLabelAssociation.record_id,
                LabelRow.name,
                RecordLabelAssociation.token_start,
                RecordLabelAssociation.token_end,
            )
            .join(LabelRow, LabelRow.id == RecordLabelAssociation.label_id)
            .where(
                RecordLabelAssociation.labeling_task_id == task_id,
                RecordLabelAssociation.source_type == SourceType.MANUAL,
                RecordLabelAssociation.is_valid_manual_label.is_(True),
            )
            .order_by(RecordLabelAssociation.record_id, LabelRow.name)
        ).tuples()
        return [(int(r), str(n), s, e) for r, n, s, e in rows]


def training_split(record_ids: list[int], share: float, seed_source: uuid.UUID) -> list[int]:
    """A ``share`` of ``record_ids`` (at least one), drawn reproducibly for the heuristic."""
    ordered = sorted(record_ids)
    if share >= 1.0 or not ordered:
        return ordered
    count = min(len(ordered), max(1, math.floor(len(ordered) * share + 0.5)))
    rng = np.random.default_rng(zlib.crc32(seed_source.bytes))
    return sorted(int(i) for i in rng.choice(np.asarray(ordered, dtype=np.int64), size=count, replace=False))


class _Learner:
    """One sandboxed learner process."""

    def __init__(self, worker: WorkerSession, name: str, log: Callable[[str], None]) -> None:
        self.worker = worker
        self.name = name
        self.log = log

    def ask(self, message: dict[str, Any], what: str) -> dict[str, Any]:
        answer = self.worker.request(message, what)
        printed = answer.get("stdout")
        if isinstance(printed, str) and printed:
            for line in printed.splitlines():
                self.log(line)
        error = answer.get("error")
        if error:
            raise LearnerError(f"{what} failed:\n{error}")
        return answer


def run_learner(
    *,
    project_id: uuid.UUID,
    source_id: uuid.UUID,
    task_id: uuid.UUID,
    extraction: bool,
    name: str,
    code: str,
    limits: Limits,
    log: Callable[[str], None],
    progress: Callable[[float], None] | None = None,
    poll: Callable[[], None] | None = None,
) -> LearnerResult:
    """Fit the user's learner on the valid manual labels and predict every embedded record (LearnerError, SandboxError)."""
    extra = extra_packages_dir()
    setup = {
        "mode": "active_learning",
        "interface": learner_interface.source_text(),
        "runtime": RUNTIME_SOURCE.read_text(encoding="utf-8"),
        "code": code,
        "label": name,
        "stdout_cap": min(limits.max_output_bytes, 100_000),
        "extra_paths": [SANDBOX_EXTRA] if extra.is_dir() else [],
    }
    with WorkerSession(get_backend(), limits, extra if extra.is_dir() else None, poll=poll) as worker:
        learner = _Learner(worker, name, log)
        ready = worker.request(setup, "starting the code")
        info = ready.get("ready") or {}
        if info.get("error"):
            raise LearnerError(f"the code could not start:\n{info['error']}")
        kind = str(info.get("kind"))
        if (kind == "extractor") != extraction:
            raise LearnerError(
                "an extraction task needs a class ATLExtractor(LearningExtractor)"
                if extraction
                else "a classification task needs a class ATLClassifier(LearningClassifier)"
            )
        fit_params, inference = info["fit"], info["inference"]
        wanted = EmbeddingType.ON_TOKEN if extraction else EmbeddingType.ON_ATTRIBUTE
        embedding_id, embedding_name = resolve_embedding(project_id, str(fit_params["embedding_name"]), wanted)
        result = LearnerResult(kind, embedding_name, [])
        labels = manual_labels(task_id)
        share = float(fit_params["train_test_split"])
        min_confidence = float(inference["min_confidence"])
        allowed = set(inference["label_names"]) if inference.get("label_names") is not None else None
        run = _Run(learner, result, embedding_id, labels, share, source_id, min_confidence, allowed, progress)
        (_extract if extraction else _classify)(run)
    return result


@dataclass
class _Run:
    """What one learner run works with: the sandboxed learner, its result, the embedding, the manual labels and the
    heuristic's settings (``train_test_split`` share, ``min_confidence``, ``label_names``)."""

    learner: _Learner
    result: LearnerResult
    embedding_id: uuid.UUID
    labels: list[tuple[int, str, int | None, int | None]]
    share: float
    source_id: uuid.UUID
    min_confidence: float
    allowed: set[str] | None
    progress: Callable[[float], None] | None

    def fit(self, training: list[int], labeled: int, embeddings: Any, targets: list[Any]) -> list[str]:
        """Record the training records, log the split and fit the learner; returns its class names."""
        self.result.training_record_ids = training
        self.learner.log(
            f"training on {len(training)} of {labeled} manually labeled records (train_test_split={self.share:g}), "
            f"embedding {self.result.embedding!r}"
        )
        fitted = self.learner.ask({"fit": {"embeddings": embeddings, "labels": targets}}, "fit")
        return [str(c) for c in fitted.get("classes") or []]

    def predict(self, embeddings: Any) -> list[Any]:
        """The sandbox's top (class index, probability) per row (classifier) or per token of each record (extractor)."""
        return list(self.learner.ask({"predict": {"embeddings": embeddings}}, "predict_proba").get("top") or [])

    def report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(min(1.0, done / max(total, 1)))


def _classify(run: _Run) -> None:
    ids, vectors = load_record_vectors(run.embedding_id)
    position = {int(r): i for i, r in enumerate(ids)}
    label_of: dict[int, str] = {}
    for record_id, label, _, _ in run.labels:
        label_of.setdefault(record_id, label)  # one label per record (the first by name for multi-label tasks)
    labeled = [r for r in label_of if r in position]
    training = training_split(labeled, run.share, run.source_id)
    names = sorted({label_of[r] for r in training})
    if len(names) < 2:
        raise LearnerError(
            f"the learner needs valid manual labels of at least two labels on embedded records; {len(training)} "
            f"training record(s) carry {names or 'none'}"
        )
    rows = [position[r] for r in training]
    classes = run.fit(training, len(labeled), vectors[rows], [label_of[r] for r in training])
    for start in range(0, len(ids), PREDICT_ROWS):
        top = run.predict(vectors[start : start + PREDICT_ROWS])
        for record_id, (index, probability) in zip(ids[start : start + PREDICT_ROWS].tolist(), top, strict=True):
            predicted = _checked(classes, index, probability)
            if probability > run.min_confidence and (run.allowed is None or predicted in run.allowed):
                run.result.predictions[int(record_id)] = [(predicted, None, None, float(probability))]
        run.report(start + PREDICT_ROWS, len(ids))


def _extract(run: _Run) -> None:
    tokens = load_token_vectors(run.embedding_id)
    spans: dict[int, list[tuple[str, int, int]]] = {}
    for record_id, label, start, end in run.labels:
        if start is not None and end is not None and record_id in tokens:
            spans.setdefault(record_id, []).append((label, start, end))
    training = training_split(list(spans), run.share, run.source_id)
    if not training:
        raise LearnerError("the learner needs valid manual spans on records of the token-level embedding; there are none")
    sequences: list[list[str]] = []
    for record_id in training:
        sequence = [OUTSIDE] * len(tokens[record_id])
        for label, start, end in spans[record_id]:
            for t in range(max(0, start), min(end, len(sequence))):
                sequence[t] = label
        sequences.append(sequence)
    classes = run.fit(training, len(spans), [tokens[r] for r in training], sequences)
    record_ids = sorted(tokens)
    for start in range(0, len(record_ids), PREDICT_RECORDS_TOKENS):
        chunk = record_ids[start : start + PREDICT_RECORDS_TOKENS]
        for record_id, top in zip(chunk, run.predict([tokens[r] for r in chunk]), strict=True):
            found = _spans([(_checked(classes, i, p), p) for i, p in top], run.min_confidence, run.allowed)
            if found:
                run.result.predictions[record_id] = found
        run.report(start + PREDICT_RECORDS_TOKENS, len(record_ids))


def _checked(classes: list[str], index: Any, probability: Any) -> str:
    """The class name of a sandbox answer, or a LearnerError when the answer is malformed."""
    if not (isinstance(index, int) and 0 <= index < len(classes)):
        raise LearnerError(f"predict_proba gave class index {index!r} for {len(classes)} classes")
    if not (isinstance(probability, (int, float)) and math.isfinite(probability) and -1e-6 <= probability <= 1 + 1e-6):
        raise LearnerError(f"predict_proba gave probability {probability!r}; probabilities lie in [0, 1]")
    return classes[index]


def _spans(
    tokens: list[tuple[str | None, float]], min_confidence: float, allowed: set[str] | None
) -> list[tuple[str, int | None, int | None, float]]:
    """Runs of consecutive tokens with the same kept label → (label, start, end exclusive, mean probability)."""
    out: list[tuple[str, int | None, int | None, float]] = []
    current: str | None = None
    begin = 0
    probabilities: list[float] = []
    for position, (label, probability) in enumerate([*tokens, (None, 0.0)]):
        keep = label is not None and label != OUTSIDE and probability > min_confidence and (allowed is None or label in allowed)
        name = label if keep else None
        if name != current:
            if current is not None:
                out.append((current, begin, position, float(np.mean(probabilities))))
            current, begin, probabilities = name, position, []
        if name is not None:
            probabilities.append(float(probability))
    return out


__all__ = ["LearnerError", "LearnerResult", "SandboxError", "run_learner", "resolve_embedding", "training_split"]
