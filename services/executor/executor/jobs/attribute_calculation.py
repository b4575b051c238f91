"""Job ``attribute_calculation``: compute a calculated attribute for every record, type-checked, all or nothing.

The values are versioned per run (``shared_model.attribute_values``): written as chunks of the job's version while
the pass runs (each chunk a short transaction, unseen by readers), made current by one short transaction when every
value passed its check, then copied into ``record.data`` one chunk per transaction. A calculation that fails, is
cancelled or dies before the switch leaves the previous values as they were.

With partitions (``partition_runners.partitioned()``: Ray configured, or ``executor_partitions`` on the local pool)
the pass runs as record-id range partitions, each in a sandbox of its own (on Ray: inside the task), through the
same driver as labeling-function runs; their values are taken in record order, so they equal a one-pass run's."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared_model import attribute_values
from shared_model.db import session_scope
from shared_model.jobs import JobCancelled, JobContext, JobFailed, enqueue, ensure_claimed
from shared_model.models import Attribute, AttributeState, DataType, Project

from ..partition_runners import partitioned, run_partitioned
from ..project_context import FULL_LIMITS, FunctionSpec, ProjectContext, count_records, load_context
from ..result_checks import MAX_INVALID_LISTED, attribute_value_problem
from ..runs import SandboxError, run_functions
from ..sandbox.backends import SandboxUnavailable
from ..scheduling import within_time_limit


def _set_attribute(attribute_id: uuid.UUID, **values: Any) -> None:
    with session_scope() as session:
        attribute = session.get(Attribute, attribute_id)
        if attribute is not None:
            for key, value in values.items():
                setattr(attribute, key, value)


@dataclass
class _Values:
    """What the pass gathers: the values (written as chunks of the run's version while no error is known), the values
    of the wrong type, the first error, the logs."""

    data_type: DataType
    logs: list[str]
    writer: attribute_values.ChunkWriter
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    errors: list[str] = field(default_factory=list)

    def on_ready(self, readiness: dict[str, Any]) -> None:
        info = readiness.get("ac") or {}
        if info.get("error"):
            self.errors.append(f"the code could not start:\n{info['error']}")
        elif info.get("is_generator"):
            self.errors.append("an attribute calculation must return its value, not yield it")

    def collect(self, message: dict[str, Any]) -> None:
        """A batch's printed output and values (checked against the attribute's type)."""
        for reason in (message.get("refused") or {}).values():  # a partition's worker sent what it should not have
            if not self.errors:
                self.errors.append(str(reason))
        for line in str((message.get("stdout") or {}).get("ac", "")).splitlines()[:100]:
            if len(self.logs) < 500:
                self.logs.append(line[:2000])
        for record_id, value, error, _, _ in (message.get("results") or {}).get("ac", []):
            if self.errors:
                break
            if error is not None:
                self.errors.append(f"the code raised an error on record {record_id}:\n{error}")
                break
            problem = attribute_value_problem(self.data_type, value)
            if problem:
                self.problem_count += 1
                if len(self.problems) < MAX_INVALID_LISTED:
                    self.problems.append(f"record {record_id}: {problem}")
                continue
            if not self.problem_count:  # a failing run writes no more chunks (they would be garbage)
                self.writer.add(int(record_id), value)

    def failure(self) -> str | None:
        """Why the calculation fails (None: every value is stored)."""
        if not self.errors and self.problem_count:
            more = f" (and {self.problem_count - len(self.problems)} more)" if self.problem_count > len(self.problems) else ""
            self.errors.append(f"{self.problem_count} record(s) got values of the wrong type: {'; '.join(self.problems)}{more}")
        return self.errors[0] if self.errors else None


def attribute_calculation(ctx: JobContext) -> dict[str, Any]:
    """Run the attribute's code over all records, writing the values as chunks of this run's version; on success
    make that version current and copy it into the records."""
    attribute_id = uuid.UUID(str(ctx.parameters["attribute_id"]))
    started = time.monotonic()
    attribute_values.materialize(attribute_id)  # what a calculation that died after its switch left to copy
    attribute_values.collect_garbage(attribute_id)
    with session_scope() as session:
        attribute = session.get(Attribute, attribute_id)
        if attribute is None:
            raise JobFailed(f"attribute {attribute_id} does not exist any more")
        project_id, name, data_type = attribute.project_id, attribute.name, attribute.data_type
        code = attribute.source_code or ""
        attribute.state = AttributeState.RUNNING
        attribute.logs = [f"{datetime.now(UTC):%H:%M:%S} started"]
        context = load_context(session, project_id)
        total = count_records(session, project_id)
    context.attribute_types.pop(name, None)
    writer = attribute_values.ChunkWriter(attribute_id, ctx.job.id)
    gathered = _Values(data_type, logs=[f"{datetime.now(UTC):%H:%M:%S} started on {total} records"], writer=writer)
    logs = gathered.logs

    timings: dict[str, Any] = {}
    try:
        timings = _run_pass(ctx, context, FunctionSpec(id="ac", mode="ac", code=code, label=name), gathered, total)
    except JobCancelled:
        _set_attribute(attribute_id, state=AttributeState.FAILED, logs=[*logs, "cancelled"])
        attribute_values.collect_garbage(attribute_id)
        raise
    except JobFailed as exc:  # e.g. past the run's time limit
        _set_attribute(attribute_id, state=AttributeState.FAILED, logs=[*logs, str(exc)])
        raise
    except (SandboxError, SandboxUnavailable) as exc:
        gathered.errors.append(str(exc))
    failure = gathered.failure()
    if failure is not None:
        _set_attribute(attribute_id, state=AttributeState.FAILED, logs=[*logs, *gathered.errors])
        raise JobFailed(failure[:4000])
    writer.flush()
    seconds = time.monotonic() - started
    logs = [*logs, f"{datetime.now(UTC):%H:%M:%S} finished {total} records in {seconds:.2f} s"]
    _switch_and_write(ctx, attribute_id, project_id, data_type, writer, logs)
    return {
        "records": total,
        "seconds": round(seconds, 3),
        "chunks": writer.chunks,
        "longest_chunk_s": round(writer.longest_s, 3),
        **({"partitions": timings} if timings else {}),
    }


class _Stop(Exception):
    """Raised from a partition's answer once the calculation is known to fail: the other partitions are stopped."""


def _run_pass(ctx: JobContext, context: ProjectContext, spec: FunctionSpec, gathered: _Values, total: int) -> dict[str, Any]:
    """The calculation's pass: in one run, or as partitions (their timings; ``{}`` for one run). Progress: records
    done (one run) or finished partitions, up to 0.8."""
    if not partitioned():

        def on_batch(message: dict[str, Any], done: int) -> None:
            gathered.collect(message)
            ctx.progress(done / max(total, 1) * 0.8, f"{done}/{total} records")

        run_functions(
            context,
            [spec],
            record_ids=None,
            limits=within_time_limit(context.limits(FULL_LIMITS), ctx),
            on_ready=gathered.on_ready,
            on_batch=on_batch,
            stop_on_error=True,
            poll=ctx.check_cancelled,
        )
        return {}

    def on_answer(message: dict[str, Any], _done: int) -> None:
        gathered.collect(message)
        if gathered.errors:  # the first error in record order, as a one-pass run stops at it
            raise _Stop()

    def on_partition(finished: int, partitions: int) -> None:
        ctx.progress(finished / max(partitions, 1) * 0.8, f"{finished}/{partitions} partitions")

    try:
        return run_partitioned(
            ctx,
            context,
            [spec],
            token_counts={},
            on_ready=gathered.on_ready,
            on_batch=on_answer,
            on_partition=on_partition,
        )
    except _Stop:
        return {}


def _switch_and_write(
    ctx: JobContext,
    attribute_id: uuid.UUID,
    project_id: uuid.UUID,
    data_type: DataType,
    writer: attribute_values.ChunkWriter,
    logs: list[str],
) -> None:
    """One short transaction makes the run's version current (if the reaper gave up on this job meanwhile, nothing is
    switched); the values are then copied into the records chunk by chunk; a last short transaction makes the
    attribute usable and asks for its tokenization. An error raised here fails the job, and the attribute follows it
    (shared_model.run_state)."""
    with session_scope() as session:
        if ctx.claim is not None:
            ensure_claimed(session, ctx.claim)
        attribute_values.switch_version(session, attribute_id, writer.version_id)
    chunks = max(writer.chunks, 1)
    attribute_values.materialize(
        attribute_id, progress=lambda n: ctx.progress(0.8 + 0.2 * min(n / chunks, 1.0), f"{n}/{chunks} chunks copied")
    )
    with session_scope() as session:
        attribute = session.get(Attribute, attribute_id)
        if attribute is None:
            return
        attribute.state = AttributeState.USABLE
        attribute.logs = logs
        if data_type == DataType.TEXT:
            project = session.get(Project, project_id)
            enqueue(
                session,
                kind="tokenize_project",
                owner_service="tokenizer",
                project_id=project_id,
                parameters={"project_id": str(project_id), "tokenizer": project.tokenizer if project else "en"},
            )
    attribute_values.collect_garbage(attribute_id)
