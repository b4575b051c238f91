"""Per-class probabilities of a weak-supervision run, streamed as JSON lines or CSV.

The stored labels say which class won; these say by how much, so a user can pick thresholds, break ties their own way
or train on soft labels. Only the latest finished run of a task keeps its probabilities.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared_model.db import session_scope
from shared_model.models import Attribute, Label, LabelingTask, RunState, TaskType, WeakSupervisionRun
from shared_model.service import problem
from shared_model.service.crud import get_in_project
from shared_model.storage import WeakSupervisionArtifacts, get_storage

from ..deps import ProjectDep, SessionDep
from ..domain.spreadsheet import RAW_DESCRIPTION, csv_cell
from ..policies import Action, allow

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["weak supervision"])

CHUNK = 5_000
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


def _run_arrays(session: Session, run: WeakSupervisionRun) -> tuple[dict[str, np.ndarray], LabelingTask]:
    """The stored arrays of a finished classification run (problem responses say why there are none)."""
    if run.state != RunState.FINISHED:
        raise problem(409, f"weak-supervision run {run.id} is {run.state.value}: probabilities exist only for finished runs")
    task = session.get(LabelingTask, run.labeling_task_id) if run.labeling_task_id else None
    if task is None:
        raise problem(404, f"the labeling task of weak-supervision run {run.id} no longer exists")
    if task.task_type == TaskType.INFORMATION_EXTRACTION:
        raise problem(404, f"run {run.id} is on extraction task '{task.name}': it stores spans, not per-class probabilities")
    arrays = WeakSupervisionArtifacts(get_storage(), run.project_id, task.id).read(run.id)
    if arrays is None:
        raise problem(404, f"run {run.id} has no stored probabilities: only the latest finished run of a task keeps them")
    return arrays, task


def _label_names(session: Session, label_ids: np.ndarray) -> list[str]:
    names = {str(i): n for i, n in session.execute(select(Label.id, Label.name).where(Label.id.in_(list(label_ids))))}
    return [names.get(str(i), str(i)) for i in label_ids]  # a label deleted since the run keeps its id


def _rows(
    project_id: uuid.UUID, keys: list[str], arrays: dict[str, np.ndarray], names: list[str], multilabel: bool
) -> Iterator[dict[str, Any]]:
    """One dict per record: id, primary-key values, the written label(s), whether the model had evidence, probabilities."""
    record_ids, proba, labeled, assigned = arrays["record_ids"], arrays["proba"], arrays["labeled"], arrays["assigned"]
    for start in range(0, len(record_ids), CHUNK):
        ids = record_ids[start : start + CHUNK]
        with session_scope() as session:  # records deleted since the run are left out
            found = session.execute(
                text(f"SELECT id, {'data' if keys else 'NULL'} FROM record WHERE project_id = :p AND id = ANY(:ids)"),
                {"p": project_id, "ids": [int(i) for i in ids]},
            )
            key_values = {int(i): {k: (data or {}).get(k) for k in keys} for i, data in found}
        for offset, record_id in enumerate(ids):
            row = start + offset
            if int(record_id) not in key_values:
                continue
            chosen = [names[c] for c in np.flatnonzero(assigned[row])]
            out: dict[str, Any] = {"record_id": int(record_id), **key_values[int(record_id)]}
            if multilabel:
                out["labels"] = chosen
            else:
                out["label"] = chosen[0] if chosen else None
            out["labeled"] = bool(labeled[row])
            out["probabilities"] = {name: float(p) for name, p in zip(names, proba[row], strict=True)}
            yield out


def _stream(
    rows: Iterator[dict[str, Any]], fmt: str, keys: list[str], names: list[str], multilabel: bool, raw: bool
) -> Iterator[bytes]:
    if fmt == "jsonl":
        for row in rows:
            yield (json.dumps(row, ensure_ascii=False) + "\n").encode()
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["record_id", *keys, "labels" if multilabel else "label", "labeled", *names]
    writer.writerow([csv_cell(name, raw) for name in header])
    for row in rows:
        chosen = ";".join(row["labels"]) if multilabel else (row["label"] or "")
        cells = [row["record_id"], *(row[k] for k in keys), chosen, row["labeled"], *row["probabilities"].values()]
        writer.writerow([csv_cell(cell, raw) for cell in cells])
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _response(session: Session, run: WeakSupervisionRun, fmt: str, raw: bool) -> StreamingResponse:
    arrays, task = _run_arrays(session, run)
    names = _label_names(session, arrays["label_ids"])
    keys = list(
        session.scalars(
            select(Attribute.name)
            .where(Attribute.project_id == run.project_id, Attribute.is_primary_key)
            .order_by(Attribute.relative_position)
        )
    )
    multilabel = task.task_type == TaskType.MULTILABEL_CLASSIFICATION
    rows = _rows(run.project_id, keys, arrays, names, multilabel)
    return StreamingResponse(
        _stream(rows, fmt, keys, names, multilabel, raw),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="weak_supervision_{run.id}.{fmt}"'},
    )


@router.get("/weak-supervision/runs/{run_id}/probabilities", dependencies=[allow(Action.READ_HEURISTICS)])
def run_probabilities(
    run_id: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    format: Literal["jsonl", "csv"] = Query("jsonl"),
    raw: bool = Query(False, description=RAW_DESCRIPTION),
) -> StreamingResponse:
    """Per record of a finished run: record id, primary-key values, the written label (none on ties or below
    ``min_confidence``), ``labeled`` (the model had evidence for the record) and every label's probability."""
    run = get_in_project(session, WeakSupervisionRun, run_id, project.id, "weak-supervision run")
    return _response(session, run, format, raw)


@router.get("/labeling-tasks/{task_id}/weak-supervision/probabilities", dependencies=[allow(Action.READ_HEURISTICS)])
def latest_probabilities(
    task_id: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    format: Literal["jsonl", "csv"] = Query("jsonl"),
    raw: bool = Query(False, description=RAW_DESCRIPTION),
) -> StreamingResponse:
    """The probabilities of the task's latest finished weak-supervision run (see the per-run endpoint)."""
    task = get_in_project(session, LabelingTask, task_id, project.id, "labeling task")
    run = session.scalars(
        select(WeakSupervisionRun)
        .where(WeakSupervisionRun.labeling_task_id == task.id, WeakSupervisionRun.state == RunState.FINISHED)
        .order_by(WeakSupervisionRun.finished_at.desc())
        .limit(1)
    ).first()
    if run is None:
        raise problem(404, f"labeling task '{task.name}' has no finished weak-supervision run yet")
    return _response(session, run, format, raw)
