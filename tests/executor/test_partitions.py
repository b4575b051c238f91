"""Partitioned labeling-function runs on the local pool: (heuristic group x record-id range) units, each reading its
own range in its own sandbox, store exactly the votes of the one-pass run; errors and refusals fail the same runs;
progress counts finished partitions; a cancel stops the running partitions within seconds."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text, update

from executor import partitions
from executor.jobs import heuristic_run_state
from executor.project_context import FunctionSpec
from shared_model.db import session_scope
from shared_model.jobs import JobCancelled, JobContext
from shared_model.models import Job, RunState
from shared_model.settings import get_settings

from .factory import Data, add_lookup_list, add_records, add_task, new_project
from .test_full_runs import create, job_module, last_state, queue_job

TOPICS = ["sports", "finance", "music", "travel"]
N = 1_000

LFS = {
    "sports": 'def lf(record):\n    return "sports" if "sports" in record["text"].text else None\n',
    "money": 'def lf(record):\n    t = record["text"].text\n    return "finance" if "finance" in t or "music" in t else None\n',
    "lookup": (
        "from knowledge import places\n\n"
        'def lf(record):\n    return "travel" if any(p in record["text"].text for p in places) else None\n'
    ),
    "late": 'def lf(record):\n    if record["id"] == 977:\n        raise ValueError("late")\n    return "music"\n',
}


@pytest.fixture()
def world(clean_db: str) -> Data:
    project_id = new_project("partitions")
    data = add_records(project_id, [f"record {i} is about {TOPICS[i % 4]} ({i * 7 % 13})" for i in range(N)])
    add_task(data, "kind", TOPICS)
    add_lookup_list(project_id, "places", "places", ["travel", "(3)"])
    return data


def partitioned(monkeypatch: pytest.MonkeyPatch, on: bool, records: int = 100) -> None:
    monkeypatch.setenv("REFINERY_EXECUTOR_PARTITIONS", "true" if on else "false")
    monkeypatch.setenv("REFINERY_EXECUTOR_PARTITION_RECORDS", str(records))
    monkeypatch.setenv("REFINERY_EXECUTOR_WORKERS", "2")
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


def votes(source: uuid.UUID) -> list[tuple[int, str]]:
    with session_scope() as session:
        rows = session.execute(
            text(
                "SELECT a.record_id, l.name FROM heuristic_association a JOIN label l ON l.id = a.label_id"
                " WHERE a.source_id = :s ORDER BY a.record_id, l.name"
            ),
            {"s": source},
        ).tuples()
        return list(rows)


def run_all(data: Data, sources: list[uuid.UUID]) -> tuple[dict[str, Any] | None, BaseException | None]:
    try:
        return job_module.heuristic_run(JobContext(queue_job(data, *sources), min_interval_s=0.0)), None
    except Exception as exc:  # noqa: BLE001 - compared by the test
        return None, exc


def test_partitions_store_exactly_the_votes_of_one_pass(world: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = {name: create(world, name, code) for name, code in LFS.items()}
    partitioned(monkeypatch, False)
    _, error = run_all(world, list(sources.values()))
    assert error is not None and "late" in str(error)
    one_pass = {name: votes(s) for name, s in sources.items()}
    assert len(one_pass["sports"]) == N // 4 and one_pass["late"] == []
    states = {name: last_state(s) for name, s in sources.items()}

    partitioned(monkeypatch, True)
    monkeypatch.setattr(heuristic_run_state, "STREAM_CHUNK_VOTES", 50)  # many chunks per run
    result, error = run_all(world, list(sources.values()))
    assert error is not None and "late" in str(error) and "record" in str(error)
    assert {name: votes(s) for name, s in sources.items()} == one_pass  # the second runs replaced the first
    assert {name: last_state(s)[0] for name, s in sources.items()} == {name: st[0] for name, st in states.items()}

    # a run that succeeds tells its partitions: 10 ranges x 1 group (ranges enough for the 2 workers: one group)
    good = [sources["sports"], sources["money"]]
    result, error = run_all(world, good)
    assert error is None and result is not None
    assert result["timings"]["partitions"] == 10 and result["timings"]["ranges"] == 10
    assert result["timings"]["groups"] == 1
    assert {name: votes(sources[name]) for name in ("sports", "money")} == {n: one_pass[n] for n in ("sports", "money")}


def test_plan_cuts_every_record_into_exactly_one_range(world: Data) -> None:
    specs = [FunctionSpec(id=str(i), mode="lf", code="") for i in range(3)]
    cut = partitions.plan(world.project_id, specs, groups=2, records_per_partition=128)
    assert cut.ranges == 8 and len(cut.partitions) == 16 and [len(g) for g in cut.groups] == [2, 1]
    for group in (0, 1):
        seen: list[int] = []
        for part in sorted((p for p in cut.partitions if p.group == group), key=lambda p: p.index):
            ids = partitions.partition_record_ids(world.project_id, part)
            assert 0 < len(ids) <= 128
            seen += ids
        assert seen == world.record_ids


def test_plan_groups_functions_only_when_ranges_are_fewer_than_slots(world: Data) -> None:
    """With at least as many ranges as partitions running at once, one group (each record read once per run); with
    fewer, as many groups as fill the slots (at most ``groups``)."""
    specs = [FunctionSpec(id=str(i), mode="lf", code="") for i in range(4)]
    assert [len(g) for g in partitions.plan(world.project_id, specs, groups=4, records_per_partition=128, slots=2).groups] == [4]
    assert [len(g) for g in partitions.plan(world.project_id, specs, groups=4, records_per_partition=128, slots=8).groups] == [4]
    cut = partitions.plan(world.project_id, specs, groups=4, records_per_partition=512, slots=8)  # 2 ranges, 8 slots
    assert cut.ranges == 2 and [len(g) for g in cut.groups] == [1, 1, 1, 1] and len(cut.partitions) == 8
    cut = partitions.plan(world.project_id, specs, groups=4, records_per_partition=512, slots=4)
    assert [len(g) for g in cut.groups] == [2, 2] and len(cut.partitions) == 4


def test_a_cancel_stops_running_partitions_within_seconds(world: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    partitioned(monkeypatch, True, records=500)
    slow = create(world, "slow", 'import time\n\ndef lf(record):\n    time.sleep(0.05)\n    return "sports"\n')
    job = queue_job(world, slow)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            job_module.heuristic_run(JobContext(job, min_interval_s=0.0))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    time.sleep(3.0)  # partitions under way (each takes ~25 s)
    assert thread.is_alive()
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    asked = time.monotonic()
    thread.join(30)
    assert not thread.is_alive()
    assert time.monotonic() - asked < 5.0
    assert isinstance(outcome.get("error"), JobCancelled)
    assert last_state(slow)[0] == RunState.CANCELLED and votes(slow) == []
