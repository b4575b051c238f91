"""The quality of a weak-supervision run as the API shows it: the figures the weak supervisor cross-validated on the
manual labels (stored in the run's summary), with label names, and no number where it would mislead.

A figure is shown only when it was measured on manual labels the model was not fitted on (k-fold), from at least
:data:`MIN_LABELED` labeled records, with every label of the task among them; otherwise ``available`` is False and
``reason`` says why. The run's training-set agreement is never offered as quality.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_model.models import Label, RunState, WeakSupervisionRun

MIN_LABELED = 10  # the weak supervisor's threshold too (weak_supervisor/quality.py)


class LabelQuality(BaseModel):
    label_id: str = Field(description="The label's id as the run stored it.")
    label_name: str
    precision: float | None = Field(description="Held-out records predicted as this label that carry it (null: none).")
    recall: float | None = Field(description="Held-out records labeled so that the run predicted so (null: none).")
    support: int = Field(description="Manual labels of this label behind the figures.")
    predicted: int = Field(description="Held-out records the run predicted as this label.")
    f1: float | None = Field(None, description="Extraction tasks: token-level F1 of this label (null: nothing to score).")


class QualityOut(BaseModel):
    """Cross-validated quality of one weak-supervision run (never figures on the labels the model was fitted on)."""

    run_id: uuid.UUID | None = Field(None, description="The run the figures are of (null: the task has no finished run).")
    state: str | None = None
    model: str | None = Field(None, description="The model asked for.")
    picked: str | None = Field(None, description="The model ``auto`` picked.")
    finished_at: datetime | None = None
    available: bool = Field(description="False: no figure worth showing; ``reason`` says why.")
    reason: str | None = None
    method: str | None = None
    folds: int | None = None
    manual_labels: int = Field(0, description="Labeled records behind the figures.")
    accuracy: float | None = Field(None, description="Share of held-out labeled records the run labels right.")
    accuracy_interval_95: list[float] | None = Field(None, description="Wilson 95 % score interval of the accuracy.")
    accuracy_on_labeled: float | None = Field(None, description="Accuracy among the held-out records the run labels.")
    coverage: float | None = Field(None, description="Share of held-out labeled records the run gives a label.")
    per_label: list[LabelQuality] = Field(default_factory=list)
    note: str | None = None
    level: str | None = Field(
        None,
        description="Extraction tasks: 'token' — precision, recall, f1 and per_label count tokens of the manual and"
        " predicted spans (support: tokens); accuracy is null. Classification: null (per record).",
    )
    precision: float | None = Field(None, description="Extraction: share of predicted span tokens with the manual label.")
    recall: float | None = Field(None, description="Extraction: share of manual span tokens the run labels so.")
    f1: float | None = Field(None, description="Extraction: token-level F1 (micro over labels).")
    f1_interval_95: list[float] | None = Field(
        None, description="Extraction: 95 % percentile bootstrap interval of the token-level F1 over the labeled records."
    )
    span_precision: float | None = Field(None, description="Extraction: predicted spans matching a manual one exactly.")
    span_recall: float | None = Field(None, description="Extraction: manual spans the run predicts exactly.")
    span_f1: float | None = Field(None, description="Extraction: span-level (exact match) F1.")
    tokens: int | None = Field(None, description="Extraction: manual span tokens behind the token-level figures.")


def _names(session: Session, ids: list[str], stored: dict[str, str]) -> dict[str, str]:
    """Label names now (a label renamed since the run shows its new name; a deleted one its stored name)."""
    uuids = []
    for key in ids:
        try:
            uuids.append(uuid.UUID(key))
        except ValueError:
            continue
    current = {str(i): name for i, name in session.execute(select(Label.id, Label.name).where(Label.id.in_(uuids)))}
    return {key: current.get(key) or stored.get(key) or key for key in ids}


def run_quality(session: Session, run: WeakSupervisionRun) -> QualityOut:
    """The run's figures as the API shows them."""
    summary = run.summary or {}
    head: dict[str, Any] = {
        "run_id": run.id,
        "state": str(run.state),
        "model": summary.get("model") or (run.options or {}).get("model"),
        "picked": (summary.get("model_details") or {}).get("picked"),
        "finished_at": run.finished_at,
    }
    if run.state != RunState.FINISHED:
        why = f"the run is {str(run.state).lower()}" + (f": {run.error}" if run.error else "")
        return QualityOut(**head, available=False, reason=why)
    stored = summary.get("quality")
    if not isinstance(stored, dict):
        return QualityOut(**head, available=False, reason="the run was made before quality figures were estimated")
    raw = stored.get("per_label")
    figures: dict[str, dict[str, Any]] = raw if isinstance(raw, dict) else {}
    names = _names(session, list(figures), summary.get("label_names") or {})
    per_label = [LabelQuality(label_id=key, label_name=names[key], **value) for key, value in figures.items()]
    per_label.sort(key=lambda row: row.label_name)
    n = int(stored.get("manual_labels") or 0)
    if not stored.get("available"):
        return QualityOut(**head, available=False, reason=stored.get("reason"), manual_labels=n)
    if n < MIN_LABELED:  # a run stored with another threshold
        return QualityOut(**head, available=False, reason=f"{n} labeled records (< {MIN_LABELED})", manual_labels=n)
    missing = [row.label_name for row in per_label if row.support == 0]
    if missing:
        return QualityOut(
            **head,
            available=False,
            reason=f"no manual label of {', '.join(repr(m) for m in missing)} among the {n} labeled records: the"
            " figures cannot say how the run does on it; label some records with it",
            manual_labels=n,
            per_label=per_label,
        )
    keep = (
        *("method", "folds", "accuracy", "accuracy_interval_95", "accuracy_on_labeled", "coverage", "note", "level"),
        *("precision", "recall", "f1", "f1_interval_95", "span_precision", "span_recall", "span_f1", "tokens"),
    )
    return QualityOut(**head, available=True, manual_labels=n, per_label=per_label, **{k: stored.get(k) for k in keep})


def latest_finished_run(session: Session, task_id: uuid.UUID) -> WeakSupervisionRun | None:
    return session.scalars(
        select(WeakSupervisionRun)
        .where(WeakSupervisionRun.labeling_task_id == task_id, WeakSupervisionRun.state == RunState.FINISHED)
        .order_by(WeakSupervisionRun.finished_at.desc())
        .limit(1)
    ).first()


def task_quality(session: Session, task_id: uuid.UUID) -> QualityOut:
    """The quality of the task's latest finished run."""
    run = latest_finished_run(session, task_id)
    if run is None:
        return QualityOut.model_validate({"available": False, "reason": "weak supervision has not finished for this task yet"})
    return run_quality(session, run)


__all__ = ["LabelQuality", "QualityOut", "latest_finished_run", "run_quality", "task_quality"]
