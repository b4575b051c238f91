"""Job ``heuristic_run``: one sandboxed pass of one or more labeling functions over all records.

Each run's results replace its heuristic's previous ones only when that run succeeds: they are stored as chunks of
the run's own version (short transactions), and one short transaction makes that version current, marks the run
finished and enqueues ``heuristic_statistics`` for the weak supervisor (see ``heuristic_run_store``).

This module reads the runs and drives the pass (collecting each batch's results); its neighbours hold the rest:
``heuristic_run_state`` (what a run gathers), ``heuristic_run_store`` (storing, finishing, failing the runs),
``heuristic_run_progress`` (the job's progress and the runs' logs) and ``heuristic_run_locks`` (bounded lock waits).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared_model.db import session_scope
from shared_model.jobs import JobCancelled, JobContext, JobFailed
from shared_model.models import (
    Attribute,
    HeuristicRun,
    HeuristicType,
    InformationSource,
    Label,
    LabelingTask,
    RunState,
    TaskType,
)

from ..active_learning import LearnerError, run_learner
from ..partition_runners import partitioned, run_partitioned
from ..project_context import FULL_LIMITS, FunctionSpec, ProjectContext, count_records, load_context
from ..result_checks import LabelChecker
from ..runs import SandboxError, pass_workers, run_functions
from ..sandbox.backends import Limits, SandboxUnavailable
from ..scheduling import within_time_limit
from .heuristic_run_progress import Reporter, report_progress
from .heuristic_run_state import RunState_, error_summary, now_line
from .heuristic_run_store import collect_all, end_streams, finish_all, finish_failed, start_streams, store_all

__all__ = ["heuristic_run"]


@dataclass
class _Runs:
    """The runs of one job as read at its start."""

    context: ProjectContext
    total: int
    states: dict[str, RunState_] = field(default_factory=dict)
    specs: list[FunctionSpec] = field(default_factory=list)  # the labeling functions (active learners run apart)
    token_counts: dict[str, str] = field(default_factory=dict)  # run id -> attribute whose token count it needs


def heuristic_run(ctx: JobContext) -> dict[str, Any]:
    """Run the heuristic runs named in ``parameters["run_ids"]`` in one worker pass."""
    run_ids = [uuid.UUID(str(r)) for r in ctx.parameters.get("run_ids", [])]
    started = time.monotonic()
    runs = _start_runs(ctx, run_ids)
    states = runs.states
    streamed = start_streams([states[spec.id] for spec in runs.specs])
    try:
        timings = _run_pass(ctx, runs)
    except BaseException as exc:
        failure = _abandon(exc, states, streamed)
        if failure is not None:
            raise failure from exc
        raise
    seconds = time.monotonic() - started
    store_started = time.monotonic()
    store_all(states, streamed, seconds, ctx.claim)
    outcome = {
        run_id: {"state": "FINISHED", "associations": state.row_count, "records": state.records_hit}
        if state.error is None
        else {"state": "FAILED", "error": state.error}
        for run_id, state in states.items()
    }
    finish_failed(states)
    collect_all(states)  # the superseded versions, and those of failed runs
    _raise_failures(states)
    timings["store_s"] = round(time.monotonic() - store_started, 3)
    return {"runs": outcome, "seconds": round(seconds, 3), "timings": timings}


def _start_runs(ctx: JobContext, run_ids: list[uuid.UUID]) -> _Runs:
    """Read the runs and mark them running (one transaction); JobFailed when none of them exists any more."""
    with session_scope() as session:
        rows = session.scalars(select(HeuristicRun).where(HeuristicRun.id.in_(run_ids))).all()
        if not rows:
            raise JobFailed("none of the heuristic runs of this job exist any more")
        project_id = rows[0].project_id
        runs = _Runs(load_context(session, project_id), count_records(session, project_id))
        for run in rows:
            _start_run(session, ctx, run, runs)
    return runs


def _start_run(session: Session, ctx: JobContext, run: HeuristicRun, runs: _Runs) -> None:
    source = session.get(InformationSource, run.source_id)
    if source is None:
        return
    task = session.get(LabelingTask, source.labeling_task_id)
    assert task is not None
    labels: dict[str, uuid.UUID] = dict(
        session.execute(select(Label.name, Label.id).where(Label.labeling_task_id == task.id)).tuples().all()
    )
    extraction = task.task_type == TaskType.INFORMATION_EXTRACTION
    checker = LabelChecker(labels, extraction)
    state = RunState_(run.id, source.id, task.id, source.name, checker, runs.context.project_id, extraction)
    runs.states[str(run.id)] = state
    if source.type == HeuristicType.ACTIVE_LEARNING:
        state.learner_code = run.source_code
    else:
        runs.specs.append(FunctionSpec(id=str(run.id), mode="lf", code=run.source_code, label=source.name))
        if extraction and task.attribute_id is not None:
            attribute = session.get(Attribute, task.attribute_id)
            if attribute is not None:
                runs.token_counts[str(run.id)] = attribute.name
    run.state = RunState.RUNNING
    run.started_at = datetime.now(UTC)
    run.job_id = ctx.job.id
    state.log(now_line(f"started on {runs.total} records"))
    run.logs = state.log_copy()


def _run_pass(ctx: JobContext, runs: _Runs) -> dict[str, Any]:
    """The labeling functions' pass over all records, then each active learner; the pass's timings."""
    readiness: dict[str, Any] = {}
    if runs.specs:
        reporter = Reporter(ctx, runs.states, runs.total)
        batches = _Batches(runs.states, reporter)
        reporter.start()
        try:
            if partitioned():
                return _run_partitions(ctx, runs, batches, reporter)
            readiness = run_functions(
                runs.context,
                runs.specs,
                record_ids=None,
                limits=within_time_limit(runs.context.limits(FULL_LIMITS), ctx),
                on_ready=batches.on_ready,
                on_batch=batches.on_batch,
                stop_on_error=True,
                poll=ctx.check_cancelled,
                token_counts=runs.token_counts,
                compact_hits=True,
                refuse_per_function=True,
                workers=pass_workers(),
            )
        finally:
            reporter.stop()
        if reporter.cancelled.is_set():  # seen by its last report, after the last batch: nothing is committed
            raise JobCancelled()
    _run_learners(ctx, runs)
    timings: dict[str, Any] = readiness.get("__timings__", {})
    return timings


def _run_learners(ctx: JobContext, runs: _Runs) -> None:
    learners = [state for state in runs.states.values() if state.learner_code is not None]
    for number, state in enumerate(learners):
        _run_learner(state, within_time_limit(runs.context.limits(FULL_LIMITS), ctx), ctx, number, len(learners))


def _run_partitions(ctx: JobContext, runs: _Runs, batches: _Batches, reporter: Reporter) -> dict[str, Any]:
    """The labeling functions as (heuristic group x record-id range) partitions on the local pool or on Ray (see
    :func:`executor.partition_runners.run_partitioned`); their answers are taken in record order, so the votes equal
    a one-pass run's. The job's progress counts finished partitions. Then the active learners, as in a one-pass run."""
    started = time.monotonic()

    def finished(done: int, partitions: int) -> None:
        reporter.done = round(runs.total * done / max(1, partitions))

    try:
        timings = run_partitioned(
            ctx,
            runs.context,
            runs.specs,
            token_counts=runs.token_counts,
            on_ready=batches.on_ready,
            on_batch=batches.on_batch,
            on_partition=finished,
            halted=reporter.cancelled.is_set,
        )
    finally:
        reporter.stop()
    if reporter.cancelled.is_set():
        raise JobCancelled()
    _run_learners(ctx, runs)
    timings["total_s"] = round(time.monotonic() - started, 3)
    return timings


def _abandon(exc: BaseException, states: dict[str, RunState_], streamed: list[RunState_]) -> JobFailed | None:
    """The pass ended with ``exc``: roll back the streams and mark every run cancelled or failed. The JobFailed to
    raise instead of ``exc`` (None: ``exc`` itself)."""
    end_streams(streamed)
    if isinstance(exc, JobCancelled):
        finish_all(states, RunState.CANCELLED, "cancelled")
        collect_all(states)
        return None
    if isinstance(exc, (SandboxError, SandboxUnavailable, JobFailed)):  # JobFailed: e.g. past the run's time limit
        reason = str(exc)
    else:
        reason = f"internal error of the executor: {type(exc).__name__}: {exc}"
    for state in states.values():
        state.error = state.error or reason
    finish_failed(states)
    collect_all(states)
    return JobFailed(str(exc)) if isinstance(exc, (SandboxError, SandboxUnavailable)) else None


def _raise_failures(states: dict[str, RunState_]) -> None:
    """JobFailed naming the runs that failed (and, of several, whether the others stored their results)."""
    failed = [s for s in states.values() if s.error]
    if not failed:
        return
    reasons = "; ".join(f"{s.name}: {error_summary(s.error)}" for s in failed)
    if len(states) > 1:  # partly failed: which ones, and that the others are stored
        names = ", ".join(s.name for s in failed)
        others = len(states) - len(failed)
        stored = f"the other {others} finished and stored their results" if others else "none finished"
        reasons = f"{len(failed)} of {len(states)} heuristics failed ({names}); {stored}. {reasons}"
    raise JobFailed(reasons[:4000])


class _Batches:
    """The pass's callbacks: each function's readiness, then each batch's results into its run's votes."""

    def __init__(self, states: dict[str, RunState_], reporter: Reporter) -> None:
        self.states = states
        self.reporter = reporter

    def on_ready(self, readiness: dict[str, Any]) -> None:
        for run_id, info in readiness.items():
            state = self.states.get(run_id)
            if state is None or not isinstance(info, dict):
                continue
            if info.get("error"):
                state.error = f"the code could not start:\n{info['error']}"
            elif bool(info.get("is_generator")) != state.extraction:
                state.error = (
                    "an extraction task needs a generator: `yield label, start_token, end_token`"
                    if state.extraction
                    else "a classification task needs a function that returns a label (or None), not a generator"
                )
            if state.error:
                state.fail(state.error)

    def on_batch(self, message: dict[str, Any], done: int) -> None:
        printed = message.get("stdout") or {}
        hits = message.get("hits") or {}
        for run_id, reason in (message.get("refused") or {}).items():  # forged or broken results: that run fails
            state = self.states.get(run_id)
            if state is not None and not state.error:
                state.fail(reason)
        for run_id, entries in (message.get("results") or {}).items():
            state = self.states.get(run_id)
            if state is None or state.error:
                continue
            if printed.get(run_id):
                for line in str(printed[run_id]).splitlines():
                    state.log(line)
            _take_batch(state, entries, hits.get(run_id))
        self.reporter.done = done
        if self.reporter.cancelled.is_set():
            raise JobCancelled()


def _take_batch(state: RunState_, entries: list[Any], grouped: dict[str, list[int]] | None) -> None:
    """One batch's results of one run: kept as votes and handed to its stream, or the run fails."""
    _collect(state, entries)
    if grouped is not None and not state.error:
        _collect_hits(state, grouped)
    if state.stream is not None and state.stream.failure is not None:
        state.error = f"storing the results failed: {state.stream.failure}"
    if state.error or state.checker.invalid_count:
        state.drop_stream()  # this run fails: stop writing its rows
    else:
        state.hand_over()


def _collect(state: RunState_, entries: list[Any]) -> None:
    """A batch's results of one function that were not grouped: checked, then kept as votes (or the run fails)."""
    add, labels = state.votes.add, state.checker.labels
    hits = 0
    for entry in entries:
        record_id, value, error, _, n_tokens = entry
        if error is not None:
            state.error = f"the code raised an error on record {record_id}:\n{error}"
            state.log(now_line(state.error))
            break
        if not state.extraction and type(value) is str and value in labels:
            add(record_id, labels[value])
            hits += 1
            continue
        rows = state.checker.check(record_id, value, n_tokens)
        if rows:
            state.records_hit += 1
        for label_id, start, end in rows:
            add(record_id, label_id, start, end)
            state.row_count += 1
    state.records_hit += hits
    state.row_count += hits


def _collect_hits(state: RunState_, grouped: dict[str, list[int]]) -> None:
    """Classification results sent as ``{label: [record ids]}`` (ids checked to be this batch's by ``run_functions``)."""
    for value, record_ids in grouped.items():
        if not record_ids:
            continue
        label_id = state.checker.labels.get(value) if not state.extraction else None
        if label_id is None:  # an unknown label, or a str where an extraction needs spans: rejected per record
            for record_id in record_ids:
                state.checker.check(record_id, value, None)
            continue
        state.votes.add_records(label_id, record_ids)
        state.row_count += len(record_ids)
        state.records_hit += len(record_ids)


def _run_learner(state: RunState_, limits: Limits, ctx: JobContext, number: int, count: int) -> None:
    """Fit and apply one active learner; its rows carry the predicted probability as confidence."""
    assert state.learner_code is not None

    last = 0.0

    def progress(share: float) -> None:
        nonlocal last
        if time.monotonic() - last >= ctx.min_interval_s:
            last = time.monotonic()
            report_progress(ctx, (number + share) / count * 0.95, f"active learner {state.name}: {share:.0%}")

    try:
        result = run_learner(
            project_id=state.project_id,
            source_id=state.source_id,
            task_id=state.task_id,
            extraction=state.extraction,
            name=state.name,
            code=state.learner_code,
            limits=limits,
            log=lambda line: state.log(now_line(line)),
            progress=progress,
            poll=ctx.check_cancelled,
        )
    except (LearnerError, SandboxError, SandboxUnavailable) as exc:
        state.error = str(exc)
        state.log(now_line(error_summary(state.error)))
        return
    for record_id, predictions in result.predictions.items():
        hit = False
        for label, start, end, confidence in predictions:
            label_id = state.checker.labels.get(label)
            if label_id is None:
                continue  # a class of the learner that is not a label of the task (e.g. a deleted one)
            state.votes.add(int(record_id), label_id, start, end, float(confidence))
            state.row_count += 1
            hit = True
        state.records_hit += hit
    state.details = {
        "embedding": result.embedding,
        "training_records": len(result.training_record_ids),
        "training_record_ids": result.training_record_ids,
    }
