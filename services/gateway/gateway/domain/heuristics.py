"""Heuristics (labeling functions and pre-computed results): lookups, run bookkeeping and association import."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg2
import srsly.msgpack
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from shared_model import heuristic_results, jobs
from shared_model.db import session_scope
from shared_model.heuristic_results import INT32_MAX
from shared_model.models import (
    Attribute,
    Embedding,
    EmbeddingType,
    HeuristicRun,
    HeuristicType,
    InformationSource,
    Job,
    Label,
    LabelingTask,
    Project,
    RecordTokenized,
    RunState,
    TaskType,
)
from shared_model.service import problem
from shared_model.service.crud import get_in_project

from .export import RecordTokens

ACTIVE_RUN_STATES = (RunState.QUEUED, RunState.RUNNING)
STOP_WAIT_S = 20.0  # how long a deletion waits for the runs it cancels to stop


def get_task(session: Session, project: Project, task_id: uuid.UUID) -> LabelingTask:
    """The project's labeling task; 404 otherwise."""
    return get_in_project(session, LabelingTask, task_id, project.id, "labeling task")


def get_heuristic(session: Session, project: Project, heuristic_id: uuid.UUID) -> InformationSource:
    """The project's heuristic; 404 otherwise."""
    return get_in_project(session, InformationSource, heuristic_id, project.id, "heuristic")


def ensure_unique_name(session: Session, project: Project, name: str, exclude: uuid.UUID | None = None) -> None:
    """409 if another heuristic of the project has this name."""
    query = select(InformationSource.id).where(InformationSource.project_id == project.id, InformationSource.name == name)
    if exclude is not None:
        query = query.where(InformationSource.id != exclude)
    if session.scalar(query) is not None:
        raise problem(409, f"a heuristic named {name!r} already exists in this project")


def active_run(session: Session, source_id: uuid.UUID) -> HeuristicRun | None:
    """The heuristic's queued or running run, if any."""
    return session.scalar(
        select(HeuristicRun).where(HeuristicRun.source_id == source_id, HeuristicRun.state.in_(ACTIVE_RUN_STATES)).limit(1)
    )


def stop_active_runs(session: Session, source_ids: Sequence[uuid.UUID], what: str, wait_s: float | None = None) -> None:
    """Cancel the queued or running runs of these heuristics and wait until their jobs have ended (at most ``wait_s``),
    so that a deletion that follows does not wait on the rows a run holds (nor the run on the deletion's locks).

    The cancellation is committed at once in a transaction of its own: the executor must see it while this request
    waits. A job that runs other heuristics too is cancelled with them (they share one sandboxed pass). 409 naming
    ``what`` if the runs have not stopped in time (the cancellation stays requested; a retry finds them stopped).
    """
    if not source_ids:
        return
    job_ids = set(
        session.scalars(
            select(HeuristicRun.job_id).where(
                HeuristicRun.source_id.in_(list(source_ids)),
                HeuristicRun.state.in_(ACTIVE_RUN_STATES),
                HeuristicRun.job_id.is_not(None),
            )
        )
    )
    if not job_ids:
        return
    with session_scope() as own:
        for job in own.scalars(select(Job).where(Job.id.in_(job_ids)).order_by(Job.id).with_for_update()):
            jobs.request_cancel(own, job)
    deadline = time.monotonic() + (STOP_WAIT_S if wait_s is None else wait_s)
    while True:
        with session_scope() as own:
            pending = own.scalar(
                select(func.count()).select_from(Job).where(Job.id.in_(job_ids), Job.state.not_in(jobs.FINAL_STATES))
            )
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise problem(409, f"{what} is running: its run was asked to stop and has not stopped yet; retry in a moment")
        time.sleep(0.2)


def latest_runs(session: Session, source_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, HeuristicRun]:
    """The newest run of each heuristic."""
    if not source_ids:
        return {}
    rows = session.scalars(
        select(HeuristicRun)
        .where(HeuristicRun.source_id.in_(list(source_ids)))
        .distinct(HeuristicRun.source_id)
        .order_by(HeuristicRun.source_id, HeuristicRun.created_at.desc())
    ).all()
    return {run.source_id: run for run in rows}


def start_runs(
    session: Session, project: Project, sources: Sequence[InformationSource], user_id: uuid.UUID | None
) -> tuple[list[HeuristicRun], Job]:
    """Create a queued run per labeling function (code snapshot) and ONE executor job for all of them."""
    runs: list[HeuristicRun] = []
    for source in sources:
        if source.type not in (HeuristicType.LABELING_FUNCTION, HeuristicType.ACTIVE_LEARNING):
            raise problem(422, f"heuristic {source.name!r} is {source.type}; only labeling functions and active learners run")
        if not source.source_code.strip():
            raise problem(422, f"heuristic {source.name!r} has no code to run")
        if active_run(session, source.id) is not None:
            raise problem(409, f"heuristic {source.name!r} is already running; cancel that run or wait for it")
        run = HeuristicRun(
            id=uuid.uuid4(),
            project_id=project.id,
            source_id=source.id,
            state=RunState.QUEUED,
            source_code=source.source_code,
            logs=[f"{datetime.now(UTC):%H:%M:%S} queued"],
            created_by=user_id,
        )
        session.add(run)
        runs.append(run)
    session.flush()
    job = jobs.enqueue(
        session,
        kind="heuristic_run",
        owner_service="executor",
        project_id=project.id,
        parameters={"run_ids": [str(run.id) for run in runs]},
        created_by=user_id,
    )
    for run in runs:
        run.job_id = job.id
    session.flush()
    return runs, job


LEARNER_TEMPLATE = """from sklearn.linear_model import LogisticRegression


class ATLClassifier(LearningClassifier):
    def __init__(self):
        self.model = LogisticRegression(C=1.0, max_iter=1000)

    @params_fit(embedding_name="{embedding}", train_test_split=0.5)
    def fit(self, embeddings, labels):
        self.model.fit(embeddings, labels)

    @params_inference(min_confidence=0.8, label_names=None)
    def predict_proba(self, embeddings):
        return self.model.predict_proba(embeddings)
"""

EXTRACTOR_TEMPLATE = """import numpy as np
from sklearn.linear_model import LogisticRegression


class ATLExtractor(LearningExtractor):
    # embeddings: one (tokens x dimensions) array per record; labels: one label list per record, "OUTSIDE" padded
    def __init__(self):
        self.model = LogisticRegression(C=1.0, max_iter=1000)

    @params_fit(embedding_name="{embedding}", train_test_split=0.5)
    def fit(self, embeddings, labels):
        self.model.fit(np.vstack(embeddings), [label for sequence in labels for label in sequence])

    @params_inference(min_confidence=0.8, label_names=None)
    def predict_proba(self, embeddings):
        return [self.model.predict_proba(tokens) for tokens in embeddings]
"""


def learner_template(session: Session, task: LabelingTask) -> str:
    """The default active learner for ``task``: logistic regression on the project's first fitting embedding."""
    extraction = task.task_type == TaskType.INFORMATION_EXTRACTION
    kind = EmbeddingType.ON_TOKEN if extraction else EmbeddingType.ON_ATTRIBUTE
    query = select(Embedding.name).where(Embedding.project_id == task.project_id, Embedding.type == kind)
    if task.attribute_id is not None:
        query = query.where(Embedding.attribute_id == task.attribute_id)
    name = session.scalar(query.order_by(Embedding.created_at).limit(1))
    if name is None:
        raise problem(422, f"create a {kind} embedding first: an active learner of task {task.name!r} learns on one")
    return (EXTRACTOR_TEMPLATE if extraction else LEARNER_TEMPLATE).replace("{embedding}", name)


def primary_key_lookup(session: Session, project: Project) -> tuple[list[str], dict[tuple[Any, ...], int]]:
    """The project's primary-key attribute names and a map from key values to record id."""
    names = list(
        session.scalars(
            select(Attribute.name)
            .where(Attribute.project_id == project.id, Attribute.is_primary_key.is_(True))
            .order_by(Attribute.relative_position)
        )
    )
    if not names:
        raise problem(422, "the project has no primary-key attribute; mark one before posting associations by key")
    rows = session.execute(text("SELECT id, data FROM record WHERE project_id = :p"), {"p": project.id})
    mapping: dict[tuple[Any, ...], int] = {}
    for record_id, data in rows:
        mapping[tuple(_key_value(data.get(name)) for name in names)] = int(record_id)
    return names, mapping


def _key_value(value: Any) -> Any:
    return str(value) if value is not None else None


def import_associations(
    session: Session,
    project: Project,
    source: InformationSource,
    indices: Sequence[Any],
    associations: Sequence[Any],
) -> dict[str, int]:
    """Replace a pre-computed heuristic's results with labels matched to records by primary key (all or nothing).

    ``indices[i]`` is a record's primary key (a value, or an object of key attribute → value); ``associations[i]``
    is its label (classification: a label name, ``[label, confidence]`` or None; extraction: a list of
    ``[label, start_token, end_token]`` or ``[label, start, end, confidence]``).
    """
    if len(indices) != len(associations):
        raise problem(422, f"indices ({len(indices)}) and associations ({len(associations)}) must have the same length")
    task = session.get(LabelingTask, source.labeling_task_id)
    assert task is not None
    labels: dict[str, uuid.UUID] = dict(
        session.execute(select(Label.name, Label.id).where(Label.labeling_task_id == task.id)).tuples().all()
    )
    names, mapping = primary_key_lookup(session, project)
    extraction = task.task_type == TaskType.INFORMATION_EXTRACTION
    single = task.task_type == TaskType.MULTICLASS_CLASSIFICATION  # one label per record
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], tuple[int, str]] = {}  # a vote (record, label, span), single-label: a record
    for position, (index, value) in enumerate(zip(indices, associations, strict=True)):
        key = tuple(_key_value(index.get(n)) for n in names) if isinstance(index, dict) else (_key_value(index),)
        record_id = mapping.get(key)
        if record_id is None:
            problems.append(f"#{position}: no record has primary key {index!r}")
            continue
        for label, start, end, confidence, reason in _parse_association(value, extraction):
            if reason:
                problems.append(f"#{position} ({index!r}): {reason}")
                continue
            if label not in labels:
                problems.append(f"#{position} ({index!r}): unknown label {label!r}")
                continue
            vote = (record_id,) if single else (record_id, label, start, end)
            if vote in seen:  # a heuristic votes once per record (single-label) or once per label and span
                first, first_label = seen[vote]
                if first_label != label:
                    problems.append(f"#{position} ({index!r}): the record already got label {first_label!r} at #{first}")
                continue  # the same vote again: stored once
            seen[vote] = (position, label)
            rows.append({"record_id": record_id, "label_id": labels[label], "start": start, "end": end, "confidence": confidence})
        if len(problems) >= 20:
            break
    if extraction and not problems:
        problems = _spans_beyond_text(session, task, rows, indices)
    if problems:
        raise problem(422, f"{len(problems)} association(s) are invalid, nothing was stored: " + "; ".join(problems[:20]))
    buffer = heuristic_results.ResultBuffer()
    for row in rows:
        buffer.add(row["record_id"], row["label_id"], row["start"], row["end"], row["confidence"])
    heuristic_results.delete_results(session, source.id)
    try:
        heuristic_results.store_session_results(session, project.id, task.id, source.id, buffer)
    except psycopg2.IntegrityError as error:  # a record, label or the heuristic went away since they were looked up
        detail = error.diag.message_primary or str(error).strip()
        raise problem(409, f"the project changed while the associations were stored, nothing was stored: {detail}") from None
    jobs.enqueue(
        session,
        kind="heuristic_statistics",
        owner_service="weak_supervisor",
        project_id=project.id,
        parameters={"source_id": str(source.id), "labeling_task_id": str(task.id)},
    )
    return {"associations": len(rows), "records": len({row["record_id"] for row in rows})}


Parsed = tuple[str, int | None, int | None, float, str | None]


def _spans_beyond_text(session: Session, task: LabelingTask, rows: list[dict[str, Any]], indices: Sequence[Any]) -> list[str]:
    """Spans that end after the last token of their record's attribute, as far as the record is tokenized already (a
    record still waiting for the tokenizer is not checked)."""
    attribute = session.get(Attribute, task.attribute_id) if task.attribute_id else None
    if attribute is None or not rows:
        return []
    ends: dict[int, int] = {}
    for row in rows:
        ends[row["record_id"]] = max(ends.get(row["record_id"], 0), row["end"])
    unpacker = srsly.msgpack.Unpacker(raw=False)
    problems = []
    tokenized = session.execute(
        select(RecordTokenized.record_id, RecordTokenized.columns, RecordTokenized.bytes).where(
            RecordTokenized.record_id.in_(list(ends))
        )
    )
    for record_id, columns, blob in tokenized:
        count = RecordTokens(columns, blob, unpacker).count(attribute.name)
        if count is not None and ends[record_id] > count:
            problems.append(f"record {record_id}: a span ends at token {ends[record_id]}, after the text's {count} tokens")
            if len(problems) >= 20:
                break
    return problems


def _parse_association(value: Any, extraction: bool) -> list[Parsed]:
    if value is None:
        return []
    if not extraction:
        if isinstance(value, str):
            return [(value, None, None, 1.0, None)]
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and _is_number(value[1]):
            if not _is_confidence(value[1]):
                return [("", None, None, 0.0, f"confidence {value[1]!r} is not a number from 0 to 1")]
            return [(value[0], None, None, float(value[1]), None)]
        return [("", None, None, 0.0, f"expected a label name or [label, confidence], got {value!r}"[:200])]
    if not isinstance(value, list):
        return [("", None, None, 0.0, f"expected a list of [label, start_token, end_token], got {value!r}"[:200])]
    parsed: list[Parsed] = []
    for span in value:
        ok = (
            isinstance(span, list)
            and len(span) in (3, 4)
            and isinstance(span[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in span[1:3])
        )
        if not ok or span[1] < 0 or span[2] <= span[1] or span[2] > INT32_MAX:
            parsed.append(("", None, None, 0.0, f"invalid span {span!r}; use [label, start, end(exclusive)]"[:200]))
            continue
        if len(span) == 4 and not _is_number(span[3]):
            parsed.append(("", None, None, 0.0, f"invalid span {span!r}; use [label, start, end(exclusive)]"[:200]))
            continue
        if len(span) == 4 and not _is_confidence(span[3]):
            parsed.append(("", None, None, 0.0, f"confidence {span[3]!r} of span {span[:3]!r} is not a number from 0 to 1"))
            continue
        parsed.append((span[0], span[1], span[2], float(span[3]) if len(span) == 4 else 1.0, None))
    return parsed


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_confidence(value: Any) -> bool:
    return _is_number(value) and 0.0 <= float(value) <= 1.0  # NaN fails both comparisons
