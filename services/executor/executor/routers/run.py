"""Internal, synchronous runs (the gateway calls these): labeling function and attribute samples, the record IDE."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from shared_model.db import session_scope
from shared_model.models import Label, LabelingTask, Record, TaskType
from shared_model.models.enums import DataType
from shared_model.service import problem

from ..interactive import interactive_limits, interactive_pool
from ..project_context import SAMPLE_LIMITS, FunctionSpec, ProjectContext, load_context, sample_record_ids
from ..result_checks import LabelChecker, attribute_value_problem
from ..runs import SandboxError, run_functions
from ..sandbox.availability import require_sandbox

router = APIRouter(tags=["run"])

INTERACTIVE_NAMES = {"lf": "run on sample", "ac": "attribute sample", "ide": "record IDE"}


class SampleRequest(BaseModel):
    project_id: uuid.UUID
    code: str = Field(max_length=200_000)
    record_ids: list[int] | None = Field(default=None, max_length=1000, description="Records to run on; default a sample.")
    sample_size: int = Field(default=10, ge=1, le=1000)


class LabelingFunctionSample(SampleRequest):
    labeling_task_id: uuid.UUID
    name: str = "labeling function"


class AttributeSample(SampleRequest):
    data_type: DataType
    name: str = "attribute"


class RecordIdeRequest(BaseModel):
    project_id: uuid.UUID
    record_id: int
    code: str = Field(max_length=200_000)


class RecordOutcome(BaseModel):
    record_id: int
    result: Any = None
    stdout: str = ""
    error: str | None = None


class SampleResponse(BaseModel):
    records: list[RecordOutcome]
    error: str | None = Field(default=None, description="Why the code could not run at all (compile error, limits).")
    is_generator: bool | None = None
    duration_s: float


def _context(project_id: uuid.UUID) -> ProjectContext:
    try:
        with session_scope() as session:
            return load_context(session, project_id)
    except LookupError as exc:
        raise problem(404, str(exc)) from exc


def _require_backend() -> None:
    require_sandbox()


def _sample(
    context: ProjectContext, spec: FunctionSpec, request: SampleRequest, token_counts: dict[str, str] | None = None
) -> tuple[list[list[Any]], str | None, bool | None, float]:
    """Run one function on the requested records; (entries, run error, is generator, seconds)."""
    started = time.monotonic()
    with session_scope() as session:
        ids = request.record_ids
        if ids is None:
            ids = sample_record_ids(session, context.project_id, request.sample_size)
        else:
            found = set(session.scalars(select(Record.id).where(Record.project_id == context.project_id, Record.id.in_(ids))))
            missing = [i for i in ids if i not in found]
            if missing:
                raise problem(404, f"records {missing[:10]} do not exist in project {context.project_id}")
    entries: list[list[Any]] = []
    readiness: dict[str, Any] = {}

    def collect(message: dict[str, Any], done: int) -> None:
        entries.extend(message.get("results", {}).get(spec.id, []))

    try:
        with interactive_pool().slot(INTERACTIVE_NAMES.get(spec.mode, "interactive run")):
            readiness = run_functions(
                context,
                [spec],
                record_ids=ids,
                limits=interactive_limits(context.limits(SAMPLE_LIMITS)),
                on_batch=collect,
                per_record_stdout=True,
                token_counts=token_counts,
            )
    except SandboxError as exc:
        return entries, str(exc), None, time.monotonic() - started
    info = readiness.get(spec.id) or {}
    return entries, info.get("error"), info.get("is_generator"), time.monotonic() - started


@router.post("/run/labeling-function", response_model=SampleResponse)
def sample_labeling_function(request: LabelingFunctionSample) -> SampleResponse:
    """Run a labeling function on a few records: each record's checked result, printed output and error."""
    _require_backend()
    context = _context(request.project_id)
    with session_scope() as session:
        task = session.get(LabelingTask, request.labeling_task_id)
        if task is None or task.project_id != request.project_id:
            raise problem(404, f"labeling task {request.labeling_task_id} does not exist in this project")
        labels = dict(session.execute(select(Label.name, Label.id).where(Label.labeling_task_id == task.id)).tuples().all())
        extraction = task.task_type == TaskType.INFORMATION_EXTRACTION
        attribute = _task_attribute(session, task)
    spec = FunctionSpec(id="sample", mode="lf", code=request.code, label=request.name)
    counts = {"sample": attribute} if extraction and attribute else None
    entries, error, is_generator, seconds = _sample(context, spec, request, counts)
    if error is None and is_generator is not None and is_generator != extraction:
        error = (
            "an extraction task needs a generator: `yield label, start_token, end_token`"
            if extraction
            else "a classification task needs a function that returns a label (or None), not a generator"
        )
    outcomes = []
    for record_id, value, record_error, printed, n_tokens in entries:
        result: Any = value
        if record_error is None and error is None:
            checker = LabelChecker(labels, extraction)
            checker.check(record_id, value, n_tokens)
            if checker.invalid:
                record_error = checker.invalid[0]
        outcomes.append(RecordOutcome(record_id=record_id, result=result, stdout=printed or "", error=record_error))
    return SampleResponse(records=outcomes, error=error, is_generator=is_generator, duration_s=round(seconds, 3))


@router.post("/run/attribute", response_model=SampleResponse)
def sample_attribute(request: AttributeSample) -> SampleResponse:
    """Run an attribute calculation on a few records: each value (type-checked), printed output and error."""
    _require_backend()
    context = _context(request.project_id)
    spec = FunctionSpec(id="sample", mode="ac", code=request.code, label=request.name)
    entries, error, is_generator, seconds = _sample(context, spec, request)
    if error is None and is_generator:
        error = "an attribute calculation must return its value, not yield it"
    outcomes = []
    for record_id, value, record_error, printed, _ in entries:
        if record_error is None and error is None:
            record_error = attribute_value_problem(request.data_type, value)
        outcomes.append(RecordOutcome(record_id=record_id, result=value, stdout=printed or "", error=record_error))
    return SampleResponse(records=outcomes, error=error, is_generator=is_generator, duration_s=round(seconds, 3))


@router.post("/run/record-ide", response_model=RecordOutcome)
def record_ide(request: RecordIdeRequest) -> RecordOutcome:
    """Run a snippet with ``record`` bound to one record; its printed output and error."""
    _require_backend()
    context = _context(request.project_id)
    spec = FunctionSpec(id="ide", mode="ide", code=request.code, label="record ide")
    sample = SampleRequest(project_id=request.project_id, code=request.code, record_ids=[request.record_id])
    entries, error, _, _ = _sample(context, spec, sample)
    if error is not None:
        printed = entries[0][3] if entries else ""
        return RecordOutcome(record_id=request.record_id, stdout=printed or "", error=error)
    _, _, record_error, printed, _ = entries[0]
    return RecordOutcome(record_id=request.record_id, stdout=printed or "", error=record_error)


def _task_attribute(session: Any, task: LabelingTask) -> str | None:
    from shared_model.models import Attribute

    if task.attribute_id is None:
        return None
    attribute = session.get(Attribute, task.attribute_id)
    return attribute.name if attribute is not None else None
