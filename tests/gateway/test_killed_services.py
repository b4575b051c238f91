"""SIGKILL each service that runs jobs in the middle of one, then restart it (real processes, real Postgres).

Afterwards no run is left running, the reason is shown in the API, a new run starts and succeeds, and nothing the
killed job had half-written is visible. The services run with a short heartbeat and stale timeout and one attempt per
job, so that the reaper fails a killed job at once instead of retrying it.

One module (over 400 lines): every test uses the same module-scoped pool of restartable services and the same
kill/wait helpers.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from shared_model.db import session_scope
from shared_model.heuristic_results import ASSOCIATIONS, ResultBuffer, store_session_results
from shared_model.models import (
    Attribute,
    DataType,
    HeuristicType,
    InformationSource,
    Job,
    Label,
    LabelingTask,
    Record,
    RecordTokenized,
    TaskTarget,
    TaskType,
    WeakSupervisionAssociation,
    WeakSupervisionResult,
)
from shared_model.settings import get_settings
from shared_model.storage import get_storage

from ..conftest import ADMIN_PASSWORD

FAST_REAPING = {"REFINERY_JOB_HEARTBEAT_S": "0.5", "REFINERY_JOB_STALE_AFTER_S": "3", "REFINERY_JOB_MAX_ATTEMPTS": "1"}
NO_WARM_WORKERS = {"REFINERY_TOKENIZER_PRESTART": ""}  # these tests tokenize too few records to use them
WAIT_S = 120.0

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def pool(services: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's service pool, restarted with fast reaping (its other services stopped: none of them may claim
    these tests' jobs), and its own data folder; put back as it was afterwards."""
    services.stop_all()
    saved_extra = dict(services.extra_env)
    saved_env = {key: os.environ.get(key) for key in ["REFINERY_DATA_DIR"]}
    services.extra_env.update({**FAST_REAPING, **NO_WARM_WORKERS})
    os.environ["REFINERY_DATA_DIR"] = str(tmp_path_factory.mktemp("killed-services-data"))
    get_settings.cache_clear()
    get_storage.cache_clear()
    try:
        yield services
    finally:
        services.stop_all()
        services.extra_env.clear()
        services.extra_env.update(saved_extra)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        get_storage.cache_clear()


@pytest.fixture()
def fast_gateway_reaper() -> Iterator[None]:
    """The in-process gateway reaps every service's stale jobs with the services' short timeout (by default it waits
    60 s, so that a restarted service reaps its dead process's jobs itself)."""
    saved = {key: os.environ.get(key) for key in FAST_REAPING}
    os.environ.update(FAST_REAPING)
    get_settings.cache_clear()
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


def kill(pool: Any, name: str) -> None:
    """SIGKILL the service: no handler, no finally, no rollback of its own."""
    process = pool.running[name].process
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def wait_until(what: str, check: Callable[[], Any], timeout_s: float = WAIT_S, poll_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll_s)


def job_row(job_id: Any) -> Job:
    with session_scope() as session:
        job = session.get(Job, uuid.UUID(str(job_id)))
        assert job is not None
        session.expunge(job)
        return job


def under_way(job_id: Any, progress: float = 0.0, message: str = "") -> Callable[[], bool]:
    def check() -> bool:
        job = job_row(job_id)
        assert job.state in ("queued", "running"), (job.state, job.error)
        return job.state == "running" and job.progress > progress and job.message.startswith(message)

    return check


def ended(job_id: Any) -> Callable[[], Job | None]:
    def check() -> Job | None:
        job = job_row(job_id)
        return job if job.state in ("done", "failed", "cancelled") else None

    return check


def bulk_records(project_id: uuid.UUID, n: int) -> None:
    """Attributes ``id`` and ``text`` and ``n`` records written by one statement."""
    with session_scope() as session:
        session.add(
            Attribute(project_id=project_id, name="id", data_type=DataType.INTEGER, is_primary_key=True, relative_position=0)
        )
        session.add(Attribute(project_id=project_id, name="text", data_type=DataType.TEXT, relative_position=1))
        session.execute(
            text(
                "INSERT INTO record (project_id, data) SELECT :p, jsonb_build_object('id', g, 'text', "
                "'record ' || g || ' is about ' || (ARRAY['sports','finance','music','travel'])[1 + g % 4] "
                "|| ', ' || md5(g::text) || ' and a few more words to tokenize.') FROM generate_series(1, :n) g"
            ),
            {"p": project_id, "n": n},
        )


def new_task(project_id: uuid.UUID, labels: list[str]) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    with session_scope() as session:
        attribute_id = session.scalar(select(Attribute.id).where(Attribute.project_id == project_id, Attribute.name == "text"))
        task = LabelingTask(
            project_id=project_id,
            name="topic",
            attribute_id=attribute_id,
            task_target=TaskTarget.ON_ATTRIBUTE,
            task_type=TaskType.MULTICLASS_CLASSIFICATION,
        )
        session.add(task)
        session.flush()
        ids = {}
        for name in labels:
            label = Label(project_id=project_id, labeling_task_id=task.id, name=name)
            session.add(label)
            session.flush()
            ids[name] = label.id
        return task.id, ids


def count(query: Any) -> int:
    with session_scope() as session:
        return int(session.scalar(query) or 0)


def reason_of_the_kill(job: Job, service: str) -> str:
    assert job.state == "failed" and job.error is not None, (job.state, job.error)
    assert f"the {service} worker {service}@" in job.error and "gave up after 1 attempt(s)" in job.error, job.error
    return job.error


# --- executor -------------------------------------------------------------------------------------------------------

SLOW_LF = (
    'import time\n\ndef lf(record):\n    time.sleep(0.004)\n    return "sports" if "sports" in record["text"].text else None\n'
)
FAST_LF = 'def lf(record):\n    return "sports" if "sports" in record["text"].text else None\n'


def test_executor_killed_during_a_heuristic_run(
    pool: Any, client: TestClient, project: dict[str, Any], fast_gateway_reaper: None
) -> None:
    """Killed and NOT restarted at once: the gateway's reaper fails the stale job and its run; then a new run works."""
    pool.start("executor")
    pid = uuid.UUID(project["id"])
    bulk_records(pid, 1500)
    task_id, _ = new_task(pid, ["sports", "other"])
    base = f"/api/v1/projects/{pid}/heuristics"
    heuristic = client.post(base, json={"labeling_task_id": str(task_id), "name": "slow", "source_code": SLOW_LF}).json()
    started = client.post(f"{base}/{heuristic['id']}/runs").json()
    run_url = f"{base}/{heuristic['id']}/runs/{started['runs'][0]['id']}"
    wait_until("the run to be under way", under_way(started["job"]["id"], 0.1))
    kill(pool, "executor")

    job = wait_until("the reaper to fail the job", ended(started["job"]["id"]), timeout_s=30)
    error = reason_of_the_kill(job, "executor")
    assert "stopped reporting" in error
    run = client.get(run_url).json()
    assert run["state"] == "FAILED" and run["error"] == error and run["finished_at"] is not None
    assert error in run["logs"][-1]
    listed = client.get(base).json()
    assert listed[0]["last_run"]["state"] == "FAILED"
    # nothing of the killed run's results was committed
    assert count(text(f"SELECT count(*) FROM {ASSOCIATIONS} WHERE source_id = '{heuristic['id']}'")) == 0

    pool.start("executor")
    assert client.patch(f"{base}/{heuristic['id']}", json={"source_code": FAST_LF}).status_code == 200
    again = client.post(f"{base}/{heuristic['id']}/runs")
    assert again.status_code == 202, again.text  # not 409: nothing is left running
    done = wait_until("the new run", ended(again.json()["job"]["id"]))
    assert done.state == "done", done.error
    rerun = client.get(f"{base}/{heuristic['id']}/runs/{again.json()['runs'][0]['id']}").json()
    assert rerun["state"] == "FINISHED" and rerun["details"]["records"] == 375  # every 4th record is about sports


EVERY_LF = 'import time\n\ndef lf(record):\n    time.sleep(0.0004)\n    return "other"\n'


def test_executor_killed_after_committing_chunks_leaves_the_previous_results_current(
    pool: Any, client: TestClient, project: dict[str, Any], fast_gateway_reaper: None
) -> None:
    """Results are versioned per run: the killed run had committed chunks of its own version (one transaction each),
    yet readers see exactly the previous run's results, the pointer never moved, and the next run's collection
    removes the killed run's chunks."""
    pool.start("executor")
    pid = uuid.UUID(project["id"])
    n = 50_000  # a chunk is committed every 20,000 votes: several before the run ends
    bulk_records(pid, n)
    task_id, _ = new_task(pid, ["sports", "other"])
    base = f"/api/v1/projects/{pid}/heuristics"
    heuristic = client.post(base, json={"labeling_task_id": str(task_id), "name": "h", "source_code": FAST_LF}).json()
    first = client.post(f"{base}/{heuristic['id']}/runs").json()
    assert wait_until("the first run", ended(first["job"]["id"])).state == "done"
    votes = f"SELECT record_id, label_id FROM {ASSOCIATIONS} WHERE source_id = '{heuristic['id']}' ORDER BY record_id"
    pointer = f"SELECT version_id FROM heuristic_result_current WHERE source_id = '{heuristic['id']}'"
    with session_scope() as session:
        before = session.execute(text(votes)).all()
        version = session.scalar(text(pointer))
    assert len(before) == n // 4 and str(version) == first["runs"][0]["id"]

    assert client.patch(f"{base}/{heuristic['id']}", json={"source_code": EVERY_LF}).status_code == 200
    second = client.post(f"{base}/{heuristic['id']}/runs").json()
    run_id = second["runs"][0]["id"]
    killed_chunks = f"SELECT count(*) FROM heuristic_result_chunk WHERE version_id = '{run_id}'"
    wait_until("a chunk of the second run to be committed", lambda: count(text(killed_chunks)) > 0, poll_s=0.02)
    kill(pool, "executor")

    job = wait_until("the reaper to fail the job", ended(second["job"]["id"]), timeout_s=30)
    reason_of_the_kill(job, "executor")
    assert count(text(killed_chunks)) > 0  # committed, but not current:
    with session_scope() as session:
        assert session.execute(text(votes)).all() == before
        assert session.scalar(text(pointer)) == version
    listed = {h["id"]: h for h in client.get(base).json()}
    assert listed[heuristic["id"]]["association_count"] == n // 4

    pool.start("executor")
    third = client.post(f"{base}/{heuristic['id']}/runs").json()
    assert wait_until("the third run", ended(third["job"]["id"])).state == "done"
    assert count(text(killed_chunks)) == 0  # collected
    assert count(text(f"SELECT count(*) FROM {ASSOCIATIONS} WHERE source_id = '{heuristic['id']}'")) == n


def test_executor_killed_with_attempts_left_reruns_the_run(pool: Any, client: TestClient, project: dict[str, Any]) -> None:
    """With an attempt left (the default is 2), the restarted executor requeues the dead process's job: the run goes
    back to QUEUED, runs again and finishes; it is never left RUNNING."""
    pool.start("executor")
    pid = uuid.UUID(project["id"])
    bulk_records(pid, 1500)
    task_id, _ = new_task(pid, ["sports", "other"])
    base = f"/api/v1/projects/{pid}/heuristics"
    heuristic = client.post(base, json={"labeling_task_id": str(task_id), "name": "slow", "source_code": SLOW_LF}).json()
    started = client.post(f"{base}/{heuristic['id']}/runs").json()
    wait_until("the run to be under way", under_way(started["job"]["id"], 0.1))
    kill(pool, "executor")
    pool.extra_env["REFINERY_JOB_MAX_ATTEMPTS"] = "2"
    try:
        pool.start("executor")
        job = wait_until("the requeued job to run again", ended(started["job"]["id"]))
    finally:
        pool.extra_env["REFINERY_JOB_MAX_ATTEMPTS"] = FAST_REAPING["REFINERY_JOB_MAX_ATTEMPTS"]
        pool.running["executor"].stop()  # the next test's executor gives up after one attempt again
    assert job.state == "done" and job.attempts == 2, (job.state, job.error)
    run = client.get(f"{base}/{heuristic['id']}/runs/{started['runs'][0]['id']}").json()
    assert run["state"] == "FINISHED" and run["details"]["records"] == 375
    assert count(text(f"SELECT count(*) FROM {ASSOCIATIONS} WHERE source_id = '{heuristic['id']}'")) == 375


SLOW_AC = 'import time\n\ndef ac(record):\n    time.sleep(0.004)\n    return len(record["text"].text)\n'
FAST_AC = 'def ac(record):\n    return len(record["text"].text)\n'


def test_executor_killed_during_an_attribute_calculation(pool: Any, client: TestClient, project: dict[str, Any]) -> None:
    """Killed and restarted: the new executor fails the dead process's job at once, and the attribute with it."""
    pool.start("executor")
    pid = uuid.UUID(project["id"])
    bulk_records(pid, 1500)
    url = f"/api/v1/projects/{pid}/attributes/calculated"
    attribute = client.post(url, json={"name": "length", "data_type": "INTEGER", "source_code": SLOW_AC}).json()
    started = client.post(f"{url}/{attribute['id']}/run").json()
    wait_until("the calculation to be under way", under_way(started["job"]["id"], 0.1))
    kill(pool, "executor")
    pool.start("executor")

    job = wait_until("the restarted executor to fail the job", ended(started["job"]["id"]), timeout_s=30)
    error = reason_of_the_kill(job, "executor")
    assert "died while it ran this job" in error
    shown = client.get(f"{url}/{attribute['id']}").json()
    assert shown["state"] == "FAILED" and error in shown["logs"][-1]
    assert count(select(func.count()).select_from(Record).where(Record.data.has_key("length"))) == 0

    assert client.patch(f"{url}/{attribute['id']}", json={"source_code": FAST_AC}).status_code == 200
    again = client.post(f"{url}/{attribute['id']}/run")
    assert again.status_code == 202, again.text
    done = wait_until("the new calculation", ended(again.json()["job"]["id"]))
    assert done.state == "done", done.error
    assert client.get(f"{url}/{attribute['id']}").json()["state"] == "USABLE"
    assert count(select(func.count()).select_from(Record).where(Record.data.has_key("length"))) == 1500


# --- weak_supervisor -------------------------------------------------------------------------------------------------


def test_weak_supervisor_killed_during_a_run(pool: Any, client: TestClient, project: dict[str, Any]) -> None:
    pool.start("weak_supervisor")
    pid = uuid.UUID(project["id"])
    n = 80_000
    bulk_records(pid, n)
    task_id, labels = new_task(pid, ["sports", "other"])
    with session_scope() as session:
        ids = list(session.scalars(select(Record.id).where(Record.project_id == pid).order_by(Record.id)))
        for number, (label, step) in enumerate([("sports", 2), ("other", 3), ("sports", 5)]):
            source = InformationSource(
                project_id=pid, labeling_task_id=task_id, type=HeuristicType.PRE_COMPUTED, name=f"h{number}"
            )
            session.add(source)
            session.flush()
            votes = ResultBuffer()
            votes.add_records(labels[label], ids[number::step])
            store_session_results(session, pid, task_id, source.id, votes)
    base = f"/api/v1/projects/{pid}"

    def start() -> dict[str, Any]:
        response = client.post(f"{base}/weak-supervision", json={"labeling_task_id": str(task_id), "model": "majority"})
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def weak_labels() -> int:  # the current version's (migration 0023)
        return count(
            select(func.count())
            .select_from(WeakSupervisionAssociation)
            .where(WeakSupervisionAssociation.labeling_task_id == task_id)
        )

    first = start()
    assert wait_until("the first run", ended(first["job"]["id"])).state == "done"
    before = weak_labels()
    assert before > 0

    second = start()
    wait_until("the run to be under way", under_way(second["job"]["id"], 0.1), poll_s=0.01)
    kill(pool, "weak_supervisor")
    pool.start("weak_supervisor")
    job = wait_until("the restarted weak_supervisor to fail the job", ended(second["job"]["id"]), timeout_s=30)
    error = reason_of_the_kill(job, "weak_supervisor")
    run = client.get(f"{base}/weak-supervision/runs/{second['run_id']}").json()
    assert run["state"] == "FAILED" and run["error"] == error and run["finished_at"] is not None
    assert weak_labels() == before  # the first run's labels, whole: none of the killed run's

    third = start()
    assert wait_until("the new run", ended(third["job"]["id"])).state == "done"
    assert client.get(f"{base}/weak-supervision/runs/{third['run_id']}").json()["state"] == "FINISHED"
    assert weak_labels() == before
    killed_rows = select(func.count()).select_from(WeakSupervisionResult)
    assert count(killed_rows.where(WeakSupervisionResult.version_id == uuid.UUID(second["run_id"]))) == 0  # collected


# --- embedder --------------------------------------------------------------------------------------------------------


def test_embedder_killed_during_an_embedding(pool: Any, client: TestClient, project: dict[str, Any]) -> None:
    pool.start("neural_search")
    pool.start("embedder")
    pid = uuid.UUID(project["id"])
    n = 4_000
    bulk_records(pid, n)
    base = f"/api/v1/projects/{pid}/embeddings"
    response = client.post(base, json={"attribute": "text", "model": "tf-idf"})
    assert response.status_code == 202, response.text
    started = response.json()
    embedding_url = f"{base}/{started['embedding']['id']}"
    wait_until("a first chunk", under_way(started["job"]["id"], 0.0, "embedded"), poll_s=0.01)
    kill(pool, "embedder")
    pool.start("embedder")

    job = wait_until("the restarted embedder to fail the job", ended(started["job"]["id"]), timeout_s=30)
    error = reason_of_the_kill(job, "embedder")
    shown = client.get(embedding_url).json()
    assert shown["state"] == "FAILED" and shown["error"] == error
    first_record = count(select(func.min(Record.id)).where(Record.project_id == pid))
    refused = client.post(f"{embedding_url}/similar", json={"record_id": first_record, "limit": 5})
    assert refused.status_code == 409 and "FAILED" in refused.json()["detail"]  # no half an embedding to search

    refreshed = client.post(f"{embedding_url}/refresh")
    assert refreshed.status_code == 202, refreshed.text
    done = wait_until("the resumed embedding", ended(refreshed.json()["id"]))
    assert done.state == "done", done.error
    assert 0 < done.result["embedded"] < n and done.result["records"] == n  # the chunks done before the kill are kept
    assert client.get(embedding_url).json()["state"] == "FINISHED"
    found = client.post(f"{embedding_url}/similar", json={"record_id": first_record, "limit": 5, "use_threshold": False})
    assert found.status_code == 200 and len(found.json()["results"]) == 5


# --- tokenizer -------------------------------------------------------------------------------------------------------


def test_tokenizer_killed_during_tokenization(pool: Any, client: TestClient, project: dict[str, Any]) -> None:
    pool.start("tokenizer")
    pid = uuid.UUID(project["id"])
    n = 10_000
    bulk_records(pid, n)
    response = client.post(f"/api/v1/projects/{pid}/tokenize")
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    wait_until("tokenization to be under way", under_way(job_id, 0.05), poll_s=0.01)
    kill(pool, "tokenizer")
    pool.start("tokenizer")

    job = wait_until("the restarted tokenizer to fail the job", ended(job_id), timeout_s=30)
    error = reason_of_the_kill(job, "tokenizer")
    assert client.get(f"/api/v1/jobs/{job_id}").json()["error"] == error
    tokenized = count(select(func.count()).select_from(RecordTokenized).where(RecordTokenized.project_id == pid))
    assert tokenized < n

    again = client.post(f"/api/v1/projects/{pid}/tokenize")
    assert again.status_code == 202, again.text
    done = wait_until("the new tokenization", ended(again.json()["id"]))
    assert done.state == "done", done.error
    assert count(select(func.count()).select_from(RecordTokenized).where(RecordTokenized.project_id == pid)) == n


# --- gateway ---------------------------------------------------------------------------------------------------------


def test_gateway_killed_during_an_upload(pool: Any, clean_db: str, tmp_path: Any) -> None:
    from gateway.domain.users import ensure_admin

    with session_scope() as session:
        ensure_admin(session)
    gateway = pool.start("gateway")
    http = httpx.Client(base_url=gateway.url, timeout=60)
    assert http.post("/api/v1/auth/login", json={"email": "admin@localhost", "password": ADMIN_PASSWORD}).status_code == 200
    project = http.post("/api/v1/projects", json={"name": "killed upload"}).json()
    n = 300_000  # several seconds of loading even on an idle machine: the kill lands while it runs
    path = tmp_path / "big.csv"
    with path.open("w") as handle:
        handle.write("id,text\n")
        for i in range(n):
            handle.write(f"{i},record {i} with some words to load\n")

    def upload() -> str:
        with path.open("rb") as handle:
            response = http.post(f"/api/v1/projects/{project['id']}/upload", files={"file": ("big.csv", handle, "text/csv")})
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    job_id = upload()
    wait_until("the upload to be under way", under_way(job_id, 0.05), poll_s=0.01)
    kill(pool, "gateway")
    gateway = pool.start("gateway")
    http = httpx.Client(base_url=gateway.url, timeout=60, cookies=http.cookies)

    job = wait_until("the restarted gateway to end the job", ended(job_id), timeout_s=60)
    records = select(func.count()).select_from(Record).where(Record.project_id == uuid.UUID(project["id"]))
    if job.state == "done":  # the kill came after the commit, which holds the records and the job's end together
        assert count(records) == n
        return
    error = reason_of_the_kill(job, "gateway")
    assert http.get(f"/api/v1/jobs/{job_id}").json()["error"] == error
    assert count(records) == 0  # all or nothing: a failed upload left no record

    done = wait_until("the new upload", ended(upload()), timeout_s=120)
    assert done.state == "done", done.error
    assert count(records) == n
