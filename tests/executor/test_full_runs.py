"""Full heuristic runs in-process on the real database and the real (bwrap) sandbox, with small batches so that the
streamed paths are exercised: records read by one COPY and decoded in the sandbox, results written while the pass
runs and committed only when the run succeeds."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from executor import record_batches, result_checks, runs
from executor.jobs import heuristic_run_state, heuristic_run_store
from executor.project_context import FunctionSpec
from shared_model.db import session_scope
from shared_model.jobs import JobContext, JobFailed, enqueue
from shared_model.models import (
    HeuristicResult,
    HeuristicRun,
    HeuristicType,
    InformationSource,
    Job,
    RunState,
)

from .factory import Data, add_records, add_task, new_project

job_module = importlib.import_module("executor.jobs.heuristic_run")  # the module (the package exports the function)

# Values that COPY's text format escapes or that JSON escapes: they must reach the user's code exactly.
TEXTS = [
    "back\\slash and \\\\ two",
    "tab\there",
    "line\nbreak\r\nand return",
    'quote " and \\" escaped',
    "unicode ü € 😀 \u2028",
    "literal \\n and \\t and \\N",
    "plain",
]
N = len(TEXTS) * 3  # several batches of 4


@pytest.fixture()
def data(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> Data:
    monkeypatch.setattr(runs, "BATCH_SIZE", 4)
    monkeypatch.setattr(heuristic_run_state, "STREAM_CHUNK_VOTES", 1)  # hand every batch's votes to the stream at once
    project_id = new_project("full runs")
    data = add_records(project_id, [TEXTS[i % len(TEXTS)] for i in range(N)], extra={"meta": {"path": 'C:\\x\t"y"'}})
    add_task(data, "kind", ["exact", "other"])
    return data


def create(data: Data, name: str, code: str) -> uuid.UUID:
    with session_scope() as session:
        source = InformationSource(
            project_id=data.project_id,
            labeling_task_id=data.tasks["kind"],
            type=HeuristicType.LABELING_FUNCTION,
            name=name,
            source_code=code,
        )
        session.add(source)
        session.flush()
        return source.id


def queue_job(data: Data, *sources: uuid.UUID) -> Job:
    """Queued runs of ``sources`` and their job, for an owner no service claims: the test runs the handler itself."""
    with session_scope() as session:
        run_ids = []
        for source_id in sources:
            source = session.get(InformationSource, source_id)
            assert source is not None
            run = HeuristicRun(project_id=data.project_id, source_id=source_id, source_code=source.source_code)
            session.add(run)
            session.flush()
            run_ids.append(str(run.id))
        job = enqueue(session, kind="heuristic_run", owner_service="in-process-test", project_id=data.project_id,
                      parameters={"run_ids": run_ids})  # fmt: skip
        session.execute(update(HeuristicRun).where(HeuristicRun.id.in_(run_ids)).values(job_id=job.id))  # as the gateway
        session.flush()
        session.expunge(job)
        return job


def full_run(data: Data, *sources: uuid.UUID) -> tuple[dict[str, Any] | None, str | None]:
    """One job over ``sources`` (the job handler in this process); (result, failure)."""
    job = queue_job(data, *sources)
    try:
        return job_module.heuristic_run(JobContext(job, min_interval_s=0.0)), None
    except JobFailed as exc:
        return None, str(exc)


def results(source_id: uuid.UUID) -> list[tuple[uuid.UUID, int, uuid.UUID]]:
    with session_scope() as session:
        rows = session.execute(  # the chunk id stands for the stored rows: a rewrite gives new ones
            text(
                "SELECT chunk_id, record_id, label_id FROM heuristic_association WHERE source_id = :s"
                " ORDER BY record_id, token_start"
            ),
            {"s": source_id},
        ).tuples()
        return list(rows)


def last_state(source_id: uuid.UUID) -> tuple[RunState, str | None]:
    with session_scope() as session:
        run = session.scalars(
            select(HeuristicRun).where(HeuristicRun.source_id == source_id).order_by(HeuristicRun.created_at.desc())
        ).first()
        assert run is not None
        return run.state, run.error


EXACT = f"""TEXTS = {TEXTS!r}

def lf(record):
    ok = record["text"].text in TEXTS and record["meta"] == {{"path": "C:\\\\x\\t\\"y\\""}}
    return "exact" if ok else "other"
"""


def test_records_reach_the_code_exactly_and_results_replace_only_on_success(data: Data) -> None:
    exact = create(data, "exact", EXACT)
    result, failure = full_run(data, exact)
    assert failure is None and result is not None
    first = results(exact)
    assert [(record_id, label) for _, record_id, label in first] == [(r, data.labels["kind"]["exact"]) for r in data.record_ids]
    assert last_state(exact)[0] == RunState.FINISHED

    # A later run that fails on the last batch, after earlier batches were written: the first run's rows stay.
    late = data.record_ids[-1]
    with session_scope() as session:
        source = session.get(InformationSource, exact)
        assert source is not None
        source.source_code = (
            f'def lf(record):\n    if record["id"] == {N - 1}:\n        raise ValueError("late")\n    return "other"\n'
        )
    result, failure = full_run(data, exact)
    assert failure is not None
    state, error = last_state(exact)
    assert state == RunState.FAILED and error is not None and f"record {late}" in error and "ValueError: late" in error
    assert results(exact) == first

    # Invalid results on a middle batch fail the run the same way.
    with session_scope() as session:
        source = session.get(InformationSource, exact)
        assert source is not None
        source.source_code = f'def lf(record):\n    return "eggs" if record["id"] == {N // 2} else "other"\n'
    _, failure = full_run(data, exact)
    assert failure is not None and "unknown label 'eggs'" in failure
    assert results(exact) == first


def test_more_heuristics_than_streams_and_a_failing_neighbour(data: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heuristic_run_store, "MAX_STREAMS", 1)  # the first streams, the others are stored after the pass
    every = create(data, "every", 'def lf(record):\n    return "other"\n')
    plain = create(data, "plain", 'def lf(record):\n    return "exact" if record["text"].text == "plain" else None\n')
    broken = create(data, "broken", "def lf(record):\n    return 1 / 0\n")
    result, failure = full_run(data, every, plain, broken)
    assert failure is not None and "broken" in failure and "every" not in failure
    assert len(results(every)) == N
    assert [record_id for _, record_id, _ in results(plain)] == data.record_ids[len(TEXTS) - 1 :: len(TEXTS)]
    assert results(broken) == []
    assert [last_state(s)[0] for s in (every, plain, broken)] == [RunState.FINISHED, RunState.FINISHED, RunState.FAILED]
    # the pass went on for the others: only their logs say it reached every record
    assert f"{N}/{N} records" in " ".join(run_logs(every))
    assert not any("/" in line and "records" in line for line in run_logs(broken))


@pytest.mark.parametrize("workers", [1, 3])
def test_heuristics_dealt_to_several_workers_give_the_same_results(
    data: Data, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Each heuristic runs in exactly one worker; the workers share the record batches and run side by side."""
    monkeypatch.setattr(job_module, "pass_workers", lambda: workers)
    every = create(data, "every", 'def lf(record):\n    return "other"\n')
    plain = create(data, "plain", 'def lf(record):\n    return "exact" if record["text"].text == "plain" else None\n')
    talks = create(data, "talks", 'def lf(record):\n    print("saw", record["text"].text[:3])\n    return "other"\n')
    result, failure = full_run(data, every, plain, talks)
    assert failure is None and result is not None
    assert result["timings"]["workers"] == min(workers, 3)
    assert len(results(every)) == len(results(talks)) == N
    assert [record_id for _, record_id, _ in results(plain)] == data.record_ids[len(TEXTS) - 1 :: len(TEXTS)]
    assert sum(line.startswith("saw ") for line in run_logs(talks)) == N
    assert [last_state(s)[0] for s in (every, plain, talks)] == [RunState.FINISHED] * 3


def test_a_worker_that_crashes_fails_only_its_own_heuristics(data: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_module, "pass_workers", lambda: 2)
    every = create(data, "every", 'def lf(record):\n    return "other"\n')  # the first worker
    crash = create(data, "crash", "import os\ndef lf(record):\n    os._exit(3)\n")  # the second
    result, failure = full_run(data, every, crash)
    assert result is None and failure is not None and "crash: " in failure
    assert failure.startswith("1 of 2 heuristics failed (crash); the other 1 finished and stored their results.")
    assert "exited with status 3" in failure
    assert last_state(every)[0] == RunState.FINISHED and len(results(every)) == N
    assert last_state(crash)[0] == RunState.FAILED and results(crash) == []


def test_a_workers_results_for_functions_it_does_not_run_fail_its_own() -> None:
    """Code in one worker that forges a frame naming another worker's function: the entries are dropped and the
    forging worker's functions are refused (the other worker's results stay untouched)."""
    worker = {"a", "b"}  # the functions of the process that sent the message
    message = {"results": {"a": []}, "hits": {"b": {"x": [1]}, "victim": {"x": [1, 2]}}, "stdout": {"victim": "hi"}}
    assert result_checks.foreign_results(message, worker) == {
        "a": "results of code it does not run",
        "b": "results of code it does not run",
    }
    assert message == {"results": {"a": []}, "hits": {"b": {"x": [1]}}, "stdout": {}}
    assert result_checks.foreign_results({"results": {"a": []}, "hits": {"b": {}}}, worker) == {}


def test_split_specs_deals_round_robin_and_never_leaves_a_group_empty() -> None:
    specs = [FunctionSpec(id=str(i), mode="lf", code="") for i in range(5)]
    assert [[s.id for s in g] for g in runs.split_specs(specs, 2)] == [["0", "2", "4"], ["1", "3"]]
    assert [len(g) for g in runs.split_specs(specs, 9)] == [1] * 5
    assert [len(g) for g in runs.split_specs(specs[:1], 0)] == [1]


def run_logs(source_id: uuid.UUID) -> list[str]:
    with session_scope() as session:
        run = session.scalars(
            select(HeuristicRun).where(HeuristicRun.source_id == source_id).order_by(HeuristicRun.created_at.desc())
        ).first()
        assert run is not None
        return list(run.logs)


def test_raw_batches_cut_the_copy_stream_into_whole_records(data: Data) -> None:
    batches = list(record_batches.raw_record_batches(data.project_id, 4))
    assert [b.ids for b in batches] == [data.record_ids[i : i + 4] for i in range(0, N, 4)]
    assert all(b.payload.endswith(b"\n") and b.payload.count(b"\n") == len(b.ids) for b in batches)
    # stopping early ends the reader thread (the generator's cleanup joins it)
    stream = record_batches.raw_record_batches(data.project_id, 2)
    assert next(stream).ids == data.record_ids[:2]
    stream.close()


def test_results_go_with_their_task_and_project(data: Data) -> None:
    """A run's votes (heuristic_result chunks, migration 0005) go when their task or their project is deleted."""
    from shared_model.models import LabelingTask, Project

    first = create(data, "first", 'def lf(record):\n    return "other"\n')
    assert full_run(data, first)[1] is None and len(results(first)) == N
    add_task(data, "second task", ["x"])
    with session_scope() as session:
        second = InformationSource(
            project_id=data.project_id,
            labeling_task_id=data.tasks["second task"],
            type=HeuristicType.LABELING_FUNCTION,
            name="second",
            source_code='def lf(record):\n    return "x"\n',
        )
        session.add(second)
        session.flush()
        second_id = second.id
    assert full_run(data, second_id)[1] is None and len(results(second_id)) == N
    with session_scope() as session:
        session.delete(session.get(LabelingTask, data.tasks["second task"]))
    assert results(second_id) == [] and len(results(first)) == N
    with session_scope() as session:
        session.delete(session.get(Project, data.project_id))
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(HeuristicResult)) == 0


def test_batches_adapt_to_how_long_the_code_takes(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slow code gets small batches (progress, output and cancellation stay prompt); fast code the largest."""
    monkeypatch.setattr(runs, "BATCH_SIZE", 400)
    monkeypatch.setattr(record_batches, "FIRST_BATCH", 50)
    monkeypatch.setattr(record_batches, "BATCH_TARGET_S", 0.2)
    data = add_records(new_project("batch sizes"), [f"text {i}" for i in range(600)])
    add_task(data, "kind", ["exact", "other"])
    seen: list[int] = []
    observe = record_batches.BatchSize.observe

    def spy(self: record_batches.BatchSize, records: int, seconds: float) -> None:
        seen.append(records)
        observe(self, records, seconds)

    monkeypatch.setattr(record_batches.BatchSize, "observe", spy)
    slow = create(data, "slow", 'import time\n\ndef lf(record):\n    time.sleep(0.004)\n    return "other"\n')
    assert full_run(data, slow)[1] is None and len(results(slow)) == 600
    assert seen[0] == 50 and max(seen) < 100 and sum(seen) == 600  # ~0.2 s / 4 ms = 50 records a batch
    seen.clear()
    fast = create(data, "fast", 'def lf(record):\n    return "other"\n')
    assert full_run(data, fast)[1] is None and len(results(fast)) == 600
    assert seen[0] == 50 and max(seen) > 50 and sum(seen) == 600  # grows once the first results show the speed
