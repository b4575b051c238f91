"""One source of truth for run state: a run row (heuristic run, weak-supervision run, embedding, calculated attribute)
is in progress only while its job is.

Each job kind whose work is shown to users as a row of its own registers here how that row is found from its job
(a ``job_id`` column, or the job parameter holding the row's id) and which states it takes. Whenever a job changes
state — it ends (done, failed, cancelled), is cancelled before it started, or is failed or requeued by the reaper
after its service stopped beating — :func:`settle_runs` updates the job's run rows that are still in progress in the
same transaction: a failed job fails them with the job's reason, a cancelled one cancels them, a requeued one puts
them back in the queue, and a job that finished without finishing one of its rows fails that row. Services still end
their rows themselves with more precise reasons (one heuristic of a run failing alone); this only ends what they
could not, e.g. because their process was killed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, func, literal, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from .models import (
    Attribute,
    AttributeState,
    Base,
    Embedding,
    HeuristicRun,
    Job,
    JobState,
    Project,
    ProjectStatus,
    RunState,
    WeakSupervisionRun,
)

MAX_REASON_CHARS = 20_000


@dataclass(frozen=True)
class RunRows:
    """How the run rows of one job kind are found from their job and which states they take."""

    model: type[Base]
    job_column: str | None = "job_id"  # the row's column holding its job's id ...
    parameter: str | None = None  # ... or the job parameter holding the row's id ...
    by_project: bool = False  # ... or the row is the job's project
    active: tuple[str, ...] = (RunState.QUEUED, RunState.RUNNING)
    failed: str = RunState.FAILED
    cancelled: str = RunState.CANCELLED
    requeued: str | None = RunState.QUEUED  # None: the row keeps its state while its job waits to be retried
    error_column: str | None = "error"
    logs_column: str | None = None  # a JSON list of lines the reason is appended to
    finished_column: str | None = "finished_at"
    state_column: str = "state"


HEURISTIC_RUN = RunRows(HeuristicRun, logs_column="logs")

RUN_ROWS: dict[str, RunRows] = {
    "heuristic_run": HEURISTIC_RUN,
    "zero_shot": HEURISTIC_RUN,
    "weak_supervision": RunRows(WeakSupervisionRun),
    "embed": RunRows(Embedding, job_column=None, parameter="embedding_id", finished_column=None),
    "attribute_calculation": RunRows(
        Attribute,
        job_column=None,
        parameter="attribute_id",
        active=(AttributeState.RUNNING,),
        failed=AttributeState.FAILED,
        cancelled=AttributeState.FAILED,
        requeued=None,
        error_column=None,
        logs_column="logs",
        finished_column=None,
    ),
    # A project being deleted is hidden (IN_DELETION); a deletion that fails or is cancelled shows it again, so that
    # it can be deleted again (every step is idempotent); one requeued stays hidden while it waits for its retry.
    "project_delete": RunRows(
        Project,
        job_column=None,
        by_project=True,
        active=(ProjectStatus.IN_DELETION,),
        failed=ProjectStatus.READY,
        cancelled=ProjectStatus.READY,
        requeued=None,
        error_column=None,
        finished_column=None,
        state_column="status",
    ),
}
"""Job kinds with run rows. Kinds without (upload, snapshot import, tokenization, statistics) show their state on the
job itself."""


def _link(rows: RunRows, job: Job) -> Any:
    """The WHERE clause selecting the job's rows, or None when the job names none."""
    if rows.job_column is not None:
        return getattr(rows.model, rows.job_column) == job.id
    if rows.by_project:
        return None if job.project_id is None else getattr(rows.model, "id") == job.project_id  # noqa: B009
    assert rows.parameter is not None
    try:
        row_id = uuid.UUID(str((job.parameters or {})[rows.parameter]))
    except (KeyError, ValueError):
        return None
    return getattr(rows.model, "id") == row_id  # noqa: B009 - every run model has an ``id``


def _append_line(column: Any, line: str) -> Any:
    return func.coalesce(column, cast(literal("[]"), JSONB)).op("||")(func.jsonb_build_array(cast(literal(line), Text)))


def outcome(job: Job) -> tuple[str, str] | None:
    """What the job's unfinished rows become, as (``failed``/``cancelled``/``requeued``, reason); None while it runs."""
    if job.state == JobState.FAILED:
        return "failed", (job.error or "its job failed")[:MAX_REASON_CHARS]
    if job.state == JobState.CANCELLED:
        return "cancelled", "cancelled"
    if job.state == JobState.DONE:
        return "failed", f"its {job.kind} job ended without finishing it"
    if job.state == JobState.QUEUED and job.attempts > 0:
        return "requeued", job.message
    return None


def settle_runs(session: Session, job: Job) -> int:
    """Bring the job's run rows that are still in progress in line with the job's state (in the caller's transaction);
    returns how many rows changed."""
    rows = RUN_ROWS.get(job.kind)
    change = outcome(job)
    if rows is None or change is None:
        return 0
    link = _link(rows, job)
    if link is None:
        return 0
    what, reason = change
    model = rows.model
    state_column = model.__table__.c[rows.state_column]
    values: dict[str, Any] = {}
    if what == "requeued":
        if rows.requeued is None:
            return 0
        values[rows.state_column] = rows.requeued
        active: tuple[str, ...] = tuple(s for s in rows.active if s != rows.requeued)
    else:
        values[rows.state_column] = rows.failed if what == "failed" else rows.cancelled
        active = rows.active
        if rows.finished_column is not None:
            values[rows.finished_column] = datetime.now(UTC)
        if rows.error_column is not None and what == "failed":
            values[rows.error_column] = reason
    if rows.logs_column is not None:
        note = {"failed": f"failed: {reason}", "cancelled": "cancelled", "requeued": reason}[what]
        if model is HeuristicRun and what != "requeued":
            note += "; the previous results are kept"
        line = f"{datetime.now(UTC):%H:%M:%S} {note}"[:5000]
        values[rows.logs_column] = _append_line(getattr(model, rows.logs_column), line)
    result = session.execute(
        update(model).where(link, state_column.in_([str(s) for s in active])).values(**values),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)
