"""Zero-shot classification of texts against labels (names or descriptions).

Each label is represented by its description when given, else "This text is about <name>.". Two scorers:

* a sentence-transformers model (the default all-MiniLM-L6-v2): a text's confidence per label is the softmax of the
  cosine similarities divided by a temperature;
* an NLI cross-encoder, when the model named is a local sequence-classification model whose labels include
  "entailment" (e.g. a downloaded ``cross-encoder/nli-*`` folder): each (text, label hypothesis) pair is scored and the
  entailment logits are softmaxed across the labels, as Hugging Face's zero-shot pipeline does.

The top label is kept when its confidence reaches ``min_confidence`` (default as in the original:
``round(min(1 / n_labels + 0.2, 0.8), 1)``).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from shared_model.db import session_scope
from shared_model.heuristic_results import ResultBuffer, delete_results, store_session_results
from shared_model.jobs import JobContext, JobFailed, enqueue, ensure_claimed
from shared_model.models import (
    Attribute,
    DataType,
    HeuristicRun,
    HeuristicType,
    InformationSource,
    Label,
    LabelingTask,
    Record,
    RunState,
    TaskType,
)

from .encoders import CLASSICAL_MODELS, DEFAULT_MODEL, ModelUnavailable, SentenceEncoder, device, resolve_model_path

DEFAULT_TEMPERATURE = 0.05
HYPOTHESIS = "This text is about {label}."
BATCH = 512


def default_min_confidence(n_labels: int) -> float:
    """The original's default: ``round(min(1 / n_labels + 0.2, 0.8), 1)``."""
    return round(min(1 / max(n_labels, 1) + 0.2, 0.8), 1)


@dataclass
class LabelSpec:
    name: str
    description: str | None = None
    id: uuid.UUID | None = None

    @property
    def text(self) -> str:
        return self.description or HYPOTHESIS.format(label=self.name)


NLI_PAIRS_PER_BATCH = 64
_nli_models: dict[str, tuple[Any, Any]] = {}
_nli_lock = threading.Lock()


def nli_entailment_index(path: str) -> int | None:
    """The "entailment" output of a local sequence-classification model folder, or None when it is no NLI model."""
    config_file = Path(path) / "config.json"
    if not config_file.is_file():
        return None
    config = json.loads(config_file.read_text())
    if not any(str(arch).endswith("ForSequenceClassification") for arch in config.get("architectures") or []):
        return None
    for index, name in (config.get("id2label") or {}).items():
        if str(name).lower().startswith("entail"):
            return int(index)
    return None


def _nli_model(path: str) -> tuple[Any, Any]:
    with _nli_lock:
        if path not in _nli_models:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True).to(device()).eval()
            _nli_models[path] = (tokenizer, model)
        return _nli_models[path]


def nli_confidences(path: str, entailment: int, texts: list[str], labels: list[LabelSpec]) -> np.ndarray:
    """(texts × labels): softmax across labels of the entailment logit of each (text, hypothesis) pair."""
    import torch

    tokenizer, model = _nli_model(path)
    hypotheses = [label.text for label in labels]
    per_batch = max(1, NLI_PAIRS_PER_BATCH // len(hypotheses))
    rows: list[np.ndarray] = []
    for start in range(0, len(texts), per_batch):
        batch = texts[start : start + per_batch]
        premises = [text for text in batch for _ in hypotheses]
        encoded = tokenizer(premises, hypotheses * len(batch), padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            logits = model(**{key: value.to(model.device) for key, value in encoded.items()}).logits[:, entailment]
        rows.append(logits.float().cpu().numpy().reshape(len(batch), len(hypotheses)))
    scores = np.concatenate(rows) if rows else np.zeros((0, len(hypotheses)), dtype=np.float32)
    scores -= scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    result: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return result


def confidences(model: str, texts: list[str], labels: list[LabelSpec], temperature: float) -> np.ndarray:
    """(texts × labels) softmax confidences: an NLI cross-encoder's when ``model`` is one, else embedding similarity."""
    if model in CLASSICAL_MODELS:
        raise ModelUnavailable(f"zero-shot needs a sentence-transformers model or an NLI cross-encoder, not {model!r}")
    path = resolve_model_path(model)
    entailment = nli_entailment_index(path)
    if entailment is not None:
        return nli_confidences(path, entailment, texts, labels)
    encoder = SentenceEncoder(model)
    label_vectors = encoder.encode([label.text for label in labels])
    text_vectors = encoder.encode(texts)
    label_vectors /= np.maximum(np.linalg.norm(label_vectors, axis=1, keepdims=True), 1e-12)
    text_vectors /= np.maximum(np.linalg.norm(text_vectors, axis=1, keepdims=True), 1e-12)
    logits = (text_vectors @ label_vectors.T) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    result: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return result


def classify_text(
    text: str, labels: list[LabelSpec], *, model: str, min_confidence: float | None, temperature: float
) -> dict[str, Any]:
    """The playground: every label's confidence for one text and the label the heuristic would give."""
    threshold = default_min_confidence(len(labels)) if min_confidence is None else min_confidence
    scores = confidences(model, [text], labels, temperature)[0]
    ranked = sorted(zip(labels, scores.tolist(), strict=True), key=lambda pair: -pair[1])
    top_label, top_score = ranked[0]
    return {
        "labels": [{"name": label.name, "confidence": round(score, 6)} for label, score in ranked],
        "prediction": top_label.name if top_score >= threshold else None,
        "min_confidence": threshold,
        "model": model,
    }


def _set_run(run_id: uuid.UUID | None, **values: Any) -> None:
    if run_id is None:
        return
    with session_scope() as session:
        run = session.get(HeuristicRun, run_id)
        if run is not None:
            for key, value in values.items():
                setattr(run, key, value)


def run_zero_shot(ctx: JobContext) -> dict[str, Any]:
    """Handler of ``zero_shot`` jobs: ``{"information_source_id": …, "run_id": …?}``; writes the heuristic's labels."""
    run_id = uuid.UUID(ctx.parameters["run_id"]) if ctx.parameters.get("run_id") else None
    _set_run(run_id, state=RunState.RUNNING, started_at=datetime.now(UTC), job_id=ctx.job.id)
    try:  # a failed or cancelled job fails or cancels its run with the job's reason (shared_model.run_state)
        return _run(ctx, run_id)
    except ModelUnavailable as exc:
        raise JobFailed(str(exc)) from exc


def _run(ctx: JobContext, run_id: uuid.UUID | None) -> dict[str, Any]:
    source_id = uuid.UUID(str(ctx.parameters.get("information_source_id")))
    with session_scope() as session:
        source = session.get(InformationSource, source_id)
        if source is None or source.type != HeuristicType.ZERO_SHOT:
            raise JobFailed(f"information source {source_id} does not exist or is not a zero-shot heuristic")
        task = session.get(LabelingTask, source.labeling_task_id)
        assert task is not None
        if task.task_type == TaskType.INFORMATION_EXTRACTION:
            raise JobFailed("zero-shot heuristics classify records; extraction tasks are not supported")
        config = dict(source.config or {})
        excluded = set(config.get("excluded_labels") or [])
        labels = [
            LabelSpec(label.name, (config.get("label_descriptions") or {}).get(label.name), label.id)
            for label in session.scalars(select(Label).where(Label.labeling_task_id == task.id).order_by(Label.name))
            if label.name not in excluded and str(label.id) not in excluded
        ]
        if len(labels) < 2:
            raise JobFailed("zero-shot needs at least two labels that are not excluded")
        attribute_name = config.get("attribute")
        attribute = (
            session.scalar(select(Attribute).where(Attribute.project_id == source.project_id, Attribute.name == attribute_name))
            if attribute_name
            else session.get(Attribute, task.attribute_id)
            if task.attribute_id
            else None
        )
        if attribute is None or attribute.data_type != DataType.TEXT:
            raise JobFailed(f"zero-shot needs a text attribute; {attribute_name or 'the task has none'} is not one")
        attribute_name = attribute.name
        model = config.get("model") or DEFAULT_MODEL
        min_confidence = config.get("min_confidence")
        threshold = default_min_confidence(len(labels)) if min_confidence is None else float(min_confidence)
        temperature = float(config.get("temperature") or DEFAULT_TEMPERATURE)
        project_id, task_id = source.project_id, task.id
        ids = list(session.scalars(select(Record.id).where(Record.project_id == project_id).order_by(Record.id)))
    votes = ResultBuffer()
    label_ids = [label.id for label in labels]  # read from the database: every one has its id
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with session_scope() as session:
            texts: dict[int, str | None] = dict(
                session.execute(select(Record.id, Record.data[attribute_name].astext).where(Record.id.in_(chunk))).tuples().all()
            )
        scores = confidences(model, [texts.get(i) or "" for i in chunk], labels, temperature)
        best = scores.argmax(axis=1)
        for record_id, index, row in zip(chunk, best.tolist(), scores, strict=True):
            if row[index] >= threshold:
                votes.add(record_id, label_ids[index], confidence=float(row[index]))
        done = min(start + BATCH, len(ids))
        ctx.progress(done / max(len(ids), 1) * 0.95, f"scored {done} of {len(ids)} records")
        _set_run(run_id, progress=done / max(len(ids), 1) * 0.95)
    result = {"records": len(ids), "labeled": len(votes), "min_confidence": threshold, "model": model}
    with session_scope() as session:  # replace the previous results and finish the run in one transaction
        if ctx.claim is not None:  # ... only while the job is still this worker's
            ensure_claimed(session, ctx.claim)
        delete_results(session, source_id)
        store_session_results(session, project_id, task_id, source_id, votes)
        source = session.get(InformationSource, source_id)
        if source is not None:  # statistics of the new results, as after any heuristic run
            enqueue(
                session,
                kind="heuristic_statistics",
                owner_service="weak_supervisor",
                project_id=source.project_id,
                parameters={"source_id": str(source_id), "labeling_task_id": str(source.labeling_task_id)},
            )
        run = session.get(HeuristicRun, run_id) if run_id is not None else None
        if run is not None:
            run.state, run.progress, run.details, run.finished_at = RunState.FINISHED, 1.0, result, datetime.now(UTC)
    return result
