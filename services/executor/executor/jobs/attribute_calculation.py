"""Job ``attribute_calculation``: compute a calculated attribute for every record, type-checked, all or nothing."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from shared_model.db import session_scope
from shared_model.jobs import JobCancelled, JobContext, JobFailed, enqueue, ensure_claimed
from shared_model.models import Attribute, AttributeState, DataType, Project

from ..runs import (
    FULL_LIMITS,
    MAX_INVALID_LISTED,
    FunctionSpec,
    SandboxError,
    attribute_value_problem,
    count_records,
    load_context,
    run_functions,
)
from ..sandbox.backends import SandboxUnavailable
from ..scheduling import within_time_limit


def _set_attribute(attribute_id: uuid.UUID, **values: Any) -> None:
    with session_scope() as session:
        attribute = session.get(Attribute, attribute_id)
        if attribute is not None:
            for key, value in values.items():
                setattr(attribute, key, value)


def attribute_calculation(ctx: JobContext) -> dict[str, Any]:
    """Run the attribute's code over all records; on success write every value in one transaction."""
    attribute_id = uuid.UUID(str(ctx.parameters["attribute_id"]))
    started = time.monotonic()
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
    values = io.StringIO()
    problems: list[str] = []
    problem_count = 0
    errors: list[str] = []
    logs: list[str] = [f"{datetime.now(UTC):%H:%M:%S} started on {total} records"]

    def on_ready(readiness: dict[str, Any]) -> None:
        info = readiness.get("ac") or {}
        if info.get("error"):
            errors.append(f"the code could not start:\n{info['error']}")
        elif info.get("is_generator"):
            errors.append("an attribute calculation must return its value, not yield it")

    def on_batch(message: dict[str, Any], done: int) -> None:
        nonlocal problem_count
        for line in str((message.get("stdout") or {}).get("ac", "")).splitlines()[:100]:
            if len(logs) < 500:
                logs.append(line[:2000])
        for record_id, value, error, _, _ in (message.get("results") or {}).get("ac", []):
            if errors:
                break
            if error is not None:
                errors.append(f"the code raised an error on record {record_id}:\n{error}")
                break
            problem = attribute_value_problem(data_type, value)
            if problem:
                problem_count += 1
                if len(problems) < MAX_INVALID_LISTED:
                    problems.append(f"record {record_id}: {problem}")
                continue
            values.write(f"{record_id}\t{_copy_escape(json.dumps(value))}\n")
        ctx.progress(done / max(total, 1) * 0.95, f"{done}/{total} records")

    try:
        run_functions(
            context,
            [FunctionSpec(id="ac", mode="ac", code=code, label=name)],
            record_ids=None,
            limits=within_time_limit(context.limits(FULL_LIMITS), ctx),
            on_ready=on_ready,
            on_batch=on_batch,
            stop_on_error=True,
            poll=ctx.check_cancelled,
        )
    except JobCancelled:
        _set_attribute(attribute_id, state=AttributeState.FAILED, logs=[*logs, "cancelled"])
        raise
    except JobFailed as exc:  # e.g. past the run's time limit
        _set_attribute(attribute_id, state=AttributeState.FAILED, logs=[*logs, str(exc)])
        raise
    except (SandboxError, SandboxUnavailable) as exc:
        errors.append(str(exc))
    if not errors and problem_count:
        more = f" (and {problem_count - len(problems)} more)" if problem_count > len(problems) else ""
        errors.append(f"{problem_count} record(s) got values of the wrong type: {'; '.join(problems)}{more}")
    if errors:
        _set_attribute(attribute_id, state=AttributeState.FAILED, logs=[*logs, *errors])
        raise JobFailed(errors[0][:4000])
    seconds = time.monotonic() - started
    # One transaction: the values, the attribute's state and its tokenize job. If it raises, the job fails and the
    # attribute follows it (shared_model.run_state); if the reaper gave up on this job meanwhile, nothing is written.
    with session_scope() as session:
        if ctx.claim is not None:
            ensure_claimed(session, ctx.claim)
        session.execute(text("CREATE TEMP TABLE calc_values (record_id bigint, value jsonb) ON COMMIT DROP"))
        values.seek(0)
        cursor = session.connection().connection.cursor()
        cursor.copy_expert("COPY calc_values (record_id, value) FROM STDIN", values)
        session.execute(
            text(
                "UPDATE record r SET data = r.data || jsonb_build_object(:name, v.value) "
                "FROM calc_values v WHERE r.id = v.record_id AND r.project_id = :p"
            ),
            {"name": name, "p": project_id},
        )
        attribute = session.get(Attribute, attribute_id)
        assert attribute is not None
        attribute.state = AttributeState.USABLE
        attribute.logs = [*logs, f"{datetime.now(UTC):%H:%M:%S} finished {total} records in {seconds:.2f} s"]
        if data_type == DataType.TEXT:
            project = session.get(Project, project_id)
            enqueue(
                session,
                kind="tokenize_project",
                owner_service="tokenizer",
                project_id=project_id,
                parameters={"project_id": str(project_id), "tokenizer": project.tokenizer if project else "en"},
            )
    return {"records": total, "seconds": round(seconds, 3)}


def _copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
