"""Worker processes of big tokenize jobs: same DocBins as in-process, crashes and cancels fail cleanly, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import spacy
from sqlalchemy import select, text

from shared_model.db import session_scope
from shared_model.jobs import JobCancelled, wait_for_job
from shared_model.models import Attribute, DataType, Job, JobState, Project, Record, RecordTokenized
from shared_model.service import service_headers
from shared_model.settings import get_settings
from tokenizer.chunks import encode_records
from tokenizer.docbin import DocBinEncoder
from tokenizer.tokenize import Target, project_target, tokenize_stale_records, worker_processes
from tokenizer.warm_workers import WarmWorkers, warm_workers
from tokenizer.workers import Worker, WorkerCrashed, stop_workers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def two_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings that give every job, however small, two worker processes besides the service process."""
    monkeypatch.setenv("REFINERY_TOKENIZER_PROCESSES", "3")
    monkeypatch.setenv("REFINERY_TOKENIZER_PROCESS_MIN_RECORDS", "0")
    get_settings.cache_clear()
    warm_workers.close()
    yield
    warm_workers.close()  # warm workers outlive jobs: none may outlive the test
    monkeypatch.undo()
    get_settings.cache_clear()


def worker_children(parent: psutil.Process | None = None) -> list[psutil.Process]:
    """Live tokenizer worker processes started by ``parent`` (default: this process)."""
    parent = parent or psutil.Process()
    found = []
    for child in parent.children():  # direct children: not the workers of service processes a fixture started
        try:
            if "tokenizer.worker_process" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def dead(process: psutil.Process) -> bool:
    """Exited, reaped or not (psutil's ``wait()`` would reap the pool's child behind its back)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def project_with_records(n: int, columns: int = 1) -> Target:
    """A project with ``columns`` TEXT attributes and ``n`` records written in one statement (fast setup)."""
    with session_scope() as session:
        project = Project(name=f"workers {uuid.uuid4().hex[:6]}", tokenizer="en")
        session.add(project)
        session.flush()
        names = [f"text{i}" for i in range(columns)]
        session.add_all(
            [
                Attribute(project_id=project.id, name=name, data_type=DataType.TEXT, relative_position=i)
                for i, name in enumerate(names)
            ]
        )
        # every 7th record lacks its last text attribute: a missing value tokenizes as ""
        fields = ", ".join(
            f"'{name}', 'Record ' || g || ' of col {i}: U.S. shares (won''t) rise!'" for i, name in enumerate(names)
        )
        session.execute(
            text(
                f"INSERT INTO record (project_id, data, created_at) SELECT :p,"
                f" CASE WHEN g % 7 = 0 THEN jsonb_build_object({fields}) - '{names[-1]}' ELSE jsonb_build_object({fields}) END,"
                " now() FROM generate_series(1, :n) g"
            ),
            {"p": project.id, "n": n},
        )
        session.flush()
        return project_target(session, project.id)


def stored_bytes(project_id: uuid.UUID) -> dict[int, bytes]:
    with session_scope() as session:
        query = select(RecordTokenized.record_id, RecordTokenized.bytes).where(RecordTokenized.project_id == project_id)
        rows = session.execute(query)
        return {record_id: bytes(data) for record_id, data in rows}


def expected_bytes(target: Target) -> dict[int, bytes]:
    """What the in-process path stores for every record of the project."""
    with session_scope() as session:
        records = session.scalars(select(Record).where(Record.project_id == target.project_id).order_by(Record.id)).all()
        rows = [(r.id, *(r.data.get(name) for name in target.columns)) for r in records]
    nlp = spacy.blank("en")
    return dict(encode_records(nlp, DocBinEncoder(nlp), rows, len(target.columns)))


def test_worker_count_follows_settings(two_workers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert worker_processes(10) == 3
    monkeypatch.setenv("REFINERY_TOKENIZER_PROCESS_MIN_RECORDS", "100")
    get_settings.cache_clear()
    assert worker_processes(99) == 1 and worker_processes(100) == 3
    monkeypatch.setenv("REFINERY_TOKENIZER_PROCESSES", "1")
    get_settings.cache_clear()
    assert worker_processes(10**6) == 1
    monkeypatch.setenv("REFINERY_TOKENIZER_PROCESSES", "0")
    get_settings.cache_clear()
    assert worker_processes(10**6) == min(2, os.cpu_count() or 1)


def test_workers_store_the_same_docbins_as_the_service_process(clean_db: str, two_workers: None) -> None:
    target = project_with_records(300, columns=2)
    progress: list[tuple[int, int]] = []
    run = tokenize_stale_records(
        target, lambda done, total: progress.append((done, total)), chunk_records=40, wait_for_workers=True
    )
    assert (run.stored, run.processes) == (300, 3) and 1 <= run.worker_chunks <= 8
    assert stored_bytes(target.project_id) == expected_bytes(target)
    assert progress and all(total == 300 for _, total in progress)
    warm = worker_children()  # the job's workers stay warm for the next one
    assert len(warm) == 2 and sorted(w.pid for w in warm_workers.idle()) == sorted(p.pid for p in warm)
    # incremental: nothing left to do, and no worker started for nothing
    assert tokenize_stale_records(target, lambda *_: None).stored == 0
    # the next job of the same pipeline reuses the warm workers and stores the same bytes
    other = project_with_records(250)
    run = tokenize_stale_records(other, lambda *_: None, chunk_records=25, wait_for_workers=True)
    assert run.stored == 250 and run.worker_chunks >= 1
    assert stored_bytes(other.project_id) == expected_bytes(other)
    assert sorted(p.pid for p in worker_children()) == sorted(p.pid for p in warm)


def test_warm_workers_are_replaced_for_another_pipeline_and_end_when_idle(clean_db: str, two_workers: None) -> None:
    warm_workers.idle_s = get_settings().tokenizer_worker_idle_s
    warm_workers.prestart("en", 2)
    english = worker_children()
    assert len(english) == 2 and {w.tokenizer for w in warm_workers.idle()} == {"en"}
    target = project_with_records(100)
    with session_scope() as session:
        session.execute(text("UPDATE project SET tokenizer = 'de' WHERE id = :p"), {"p": target.project_id})
        target = project_target(session, target.project_id)
    run = tokenize_stale_records(target, lambda *_: None, chunk_records=10, wait_for_workers=True)
    assert run.stored == 100 and run.worker_chunks >= 1
    assert all(dead(p) for p in english)  # the English workers were replaced by German ones
    assert len(worker_children()) == 2 and {w.tokenizer for w in warm_workers.idle()} == {"de"}
    assert warm_workers.reap(time.monotonic() + warm_workers.idle_s - 5) == 0
    assert warm_workers.reap(time.monotonic() + warm_workers.idle_s) == 2
    assert worker_children() == [] and warm_workers.idle() == []


def test_idle_time_zero_ends_workers_with_each_job(clean_db: str, two_workers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFINERY_TOKENIZER_WORKER_IDLE_S", "0")
    get_settings.cache_clear()
    target = project_with_records(100)
    run = tokenize_stale_records(target, lambda *_: None, chunk_records=10, wait_for_workers=True)
    assert run.stored == 100 and run.worker_chunks >= 1
    assert worker_children() == [] and warm_workers.idle() == []


def test_a_crashed_worker_fails_the_run_with_its_reason(clean_db: str, two_workers: None) -> None:
    target = project_with_records(400)
    killed: list[int] = []

    def kill_a_worker(done: int, total: int) -> None:
        if not killed:
            victim = worker_children()[0]
            killed.append(victim.pid)
            victim.send_signal(signal.SIGKILL)
            while not dead(victim):
                time.sleep(0.01)

    with pytest.raises(WorkerCrashed, match=r"tokenizer worker process \d+ was killed by SIGKILL"):
        tokenize_stale_records(target, kill_a_worker, chunk_records=20)
    assert killed and worker_children() == [] and warm_workers.idle() == []
    # the next job gets new workers and stores everything
    run = tokenize_stale_records(target, lambda *_: None, chunk_records=20, wait_for_workers=True)
    assert run.worker_chunks >= 1 and stored_bytes(target.project_id) == expected_bytes(target)
    assert len(worker_children()) == 2


def test_cancelling_ends_the_workers(clean_db: str, two_workers: None) -> None:
    target = project_with_records(200)

    def cancel(done: int, total: int) -> None:
        raise JobCancelled()

    warm_workers.idle_s = get_settings().tokenizer_worker_idle_s
    warm_workers.prestart("en", 2)
    warm = worker_children()
    with pytest.raises(JobCancelled):
        tokenize_stale_records(target, cancel, chunk_records=20)
    assert worker_children() == [] and all(dead(p) for p in warm)  # a cancelled job's workers are never reused
    stored = len(stored_bytes(target.project_id))
    assert stored % 20 == 0 and stored < 200  # whole chunks only
    run = tokenize_stale_records(target, lambda *_: None, chunk_records=20, wait_for_workers=True)
    assert run.stored == 200 - stored and stored_bytes(target.project_id) == expected_bytes(target)


@pytest.mark.integration
def test_service_job_uses_workers_and_they_die_with_the_service(services: Any, clean_db: str, tmp_path: Path) -> None:
    shared = services.running.pop("tokenizer", None)
    if shared is not None:  # it would claim our jobs too
        shared.stop()
    port = int(services.ports["tokenizer"])
    env = {
        **os.environ,
        "REFINERY_TOKENIZER_PORT": str(port),
        "REFINERY_TOKENIZER_PROCESSES": "3",
        "REFINERY_TOKENIZER_PROCESS_MIN_RECORDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "tokenizer.log"
    service = subprocess.Popen(
        [sys.executable, "-m", "tokenizer"], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert service.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)

        # the service starts its workers for the default pipeline with itself, and they get ready
        warm: list[dict[str, Any]] = []
        while len(warm) < 2 or not all(w["ready"] for w in warm):
            assert time.monotonic() < deadline, f"no warm workers: {warm}"
            warm = httpx.get(f"{url}/workers", timeout=10, headers=service_headers()).json()["workers"]
            time.sleep(0.1)
        assert {w["tokenizer"] for w in warm} == {"en"}
        pids = sorted(w["pid"] for w in warm)
        assert sorted(p.pid for p in worker_children(psutil.Process(service.pid))) == pids

        small = project_with_records(500)
        job_id = httpx.post(
            f"{url}/tokenize_project", json={"project_id": str(small.project_id)}, timeout=30, headers=service_headers()
        ).json()["job_id"]
        job = wait_for_job(uuid.UUID(job_id), timeout_s=120)
        assert job.state == JobState.DONE, job.error
        assert job.result["tokenized"] == 500 and job.result["processes"] == 3
        assert stored_bytes(small.project_id) == expected_bytes(small)
        # the job ran on the warm workers and left them warm
        assert (
            sorted(w["pid"] for w in httpx.get(f"{url}/workers", timeout=10, headers=service_headers()).json()["workers"]) == pids
        )
        workers = worker_children(psutil.Process(service.pid))
        assert sorted(p.pid for p in workers) == pids

        big = project_with_records(30_000)
        response = httpx.post(
            f"{url}/tokenize_project", json={"project_id": str(big.project_id)}, timeout=30, headers=service_headers()
        )
        big_job = uuid.UUID(response.json()["job_id"])
        while True:  # wait until the job is under way
            assert time.monotonic() < deadline, "the big job did not start"
            with session_scope() as session:
                running = session.get(Job, big_job)
                if running is not None and running.progress > 0:
                    break
            time.sleep(0.01)
        service.send_signal(signal.SIGKILL)  # the service dies mid-job, without any chance to clean up
        service.wait(10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == [], f"orphaned tokenizer workers: {[p.pid for p in alive]}"
    finally:
        if service.poll() is None:
            service.kill()
            service.wait(10)


@pytest.fixture()
def one_stopped_worker(two_workers: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[psutil.Process]:
    """One warm, ready worker process, then SIGSTOPped: alive but never answering (as a pipeline stuck in a loop)."""
    monkeypatch.setenv("REFINERY_TOKENIZER_PROCESSES", "2")
    get_settings.cache_clear()
    warm_workers.idle_s = get_settings().tokenizer_worker_idle_s
    warm_workers.prestart("en", 1)
    deadline = time.monotonic() + 60
    while not all(w.ready.is_set() for w in warm_workers.idle()):
        assert time.monotonic() < deadline, "the worker did not get ready"
        time.sleep(0.02)
    (worker,) = worker_children()
    worker.suspend()
    yield worker
    if not dead(worker):
        worker.kill()


@pytest.mark.timeout(60)  # a regression hangs: fail it sooner than the suite's limit
def test_a_stuck_worker_fails_the_run_within_the_limit_and_is_killed(
    clean_db: str, one_stopped_worker: psutil.Process, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFINERY_TOKENIZER_WORKER_ANSWER_S", "1")
    get_settings.cache_clear()
    target = project_with_records(200)
    started = time.monotonic()
    with pytest.raises(WorkerCrashed, match=r"tokenizer worker process (\d+) did not answer within 1 s") as failed:
        tokenize_stale_records(target, lambda *_: None, chunk_records=20, wait_for_workers=True)
    assert 1 <= time.monotonic() - started < 10
    assert str(one_stopped_worker.pid) in str(failed.value)
    assert dead(one_stopped_worker) and worker_children() == [] and warm_workers.idle() == []
    assert len(stored_bytes(target.project_id)) < 200  # the stuck worker's chunk was never written


@pytest.mark.timeout(60)  # a regression hangs: fail it sooner than the suite's limit
def test_a_cancel_ends_the_wait_for_a_stuck_worker(clean_db: str, one_stopped_worker: psutil.Process) -> None:
    target = project_with_records(200)  # the limit is the default (600 s): only the cancel can end the wait
    started = time.monotonic()

    def cancel_after_a_second(done: int, total: int) -> None:
        if time.monotonic() - started > 1:
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        tokenize_stale_records(target, cancel_after_a_second, chunk_records=20, wait_for_workers=True)
    assert time.monotonic() - started < 10
    assert dead(one_stopped_worker) and worker_children() == [] and warm_workers.idle() == []


def test_the_owner_thread_outlives_a_failing_reap_and_its_workers_live_on(caplog: pytest.LogCaptureFixture) -> None:
    owners = WarmWorkers()
    owners.idle_s = 1.0  # the owner thread reaps every second
    reaps: list[float] = []

    def failing_reap(now: float | None = None) -> int:
        reaps.append(time.monotonic())
        raise RuntimeError("reap broke")

    owners.reap = failing_reap
    first = owners.spawn("en")  # the owner thread starts it, then reaps: that fails
    workers = [first]
    try:
        owner = owners._owner
        deadline = time.monotonic() + 10
        while len(reaps) < 2:  # it went on after the failure
            assert time.monotonic() < deadline, "the owner thread stopped reaping"
            time.sleep(0.05)
        assert owner is not None and owner.is_alive()
        # the parent-death signal follows the starting thread: the worker lives because the thread does
        assert first.process.poll() is None
        workers.append(owners.spawn("en"))
        assert owners._owner is owner and first.process.poll() is None
        assert "worker-owner thread failed" in caplog.text and "reap broke" in caplog.text
    finally:
        stop_workers(workers, kill=True)
        owners._calls.put(None)
    assert worker_children() == []


def test_spawn_gives_up_on_a_busy_owner_thread_and_ends_the_late_worker() -> None:
    owners = WarmWorkers()
    owners.answer_s = 0.5
    real_start = owners._start
    late: list[Worker | BaseException] = []

    def slow_start(tokenizer: str) -> Worker | BaseException:
        time.sleep(1.5)
        late.append(real_start(tokenizer))
        return late[-1]

    owners._start = slow_start
    try:
        started = time.monotonic()
        with pytest.raises(WorkerCrashed, match=r"no tokenizer worker process was started within 0.5 s"):
            owners.spawn("en")
        assert time.monotonic() - started < 1.4
        deadline = time.monotonic() + 10
        while not late or worker_children():  # the late worker starts, and nobody waiting for it, is ended
            assert time.monotonic() < deadline, "the late worker was not ended"
            time.sleep(0.05)
        assert isinstance(late[0], Worker) and late[0].process.poll() is not None
    finally:
        owners._calls.put(None)
