"""Labeling-function partitions on a real local Ray cluster of two nodes (``ray.cluster_utils.Cluster``, one CPU
each), over 10,000 records: the votes equal the one-pass local run's exactly; a cancel stops the running tasks (and
their sandboxes) within 5 s; a node removed mid-run has its partitions retried on the other, and the run still
stores exactly the same votes."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import text, update

from shared_model.db import session_scope
from shared_model.jobs import JobCancelled, JobContext
from shared_model.models import Attribute, DataType, Job, RunState
from shared_model.settings import get_settings

from ..ray_clusters import local_cluster
from .factory import Data, add_task, new_project
from .test_full_runs import create, job_module, last_state, queue_job

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = pytest.mark.timeout(900)

N = 10_000
TOPICS = ["sports", "finance", "music", "travel"]
LFS = {
    "sports": 'def lf(record):\n    return "sports" if "sports" in record["text"].text else None\n',
    "mixed": 'def lf(record):\n    i = record["id"]\n    return "finance" if i % 3 == 0 else ("music" if i % 7 == 0 else None)\n',
}
SLOW = 'import time\n\ndef lf(record):\n    time.sleep(0.002)\n    return "travel" if record["id"] % 5 == 0 else None\n'


@pytest.fixture(scope="module")
def cluster(database_url: str) -> Iterator[tuple[Cluster, Any]]:
    """Two nodes of one CPU each; the executor (this process) connects when a run starts."""
    with local_cluster({}) as (made, (worker,)):
        yield made, worker


def use(monkeypatch: pytest.MonkeyPatch, address: str, records: int) -> None:
    monkeypatch.setenv("REFINERY_RAY_ADDRESS", address)
    monkeypatch.setenv("REFINERY_EXECUTOR_PARTITION_RECORDS", str(records))
    monkeypatch.setenv("REFINERY_EXECUTOR_WORKERS", "2")
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


@pytest.fixture()
def world(clean_db: str) -> Data:
    project_id = new_project("ray partitions")
    with session_scope() as session:
        session.add(
            Attribute(project_id=project_id, name="id", data_type=DataType.INTEGER, is_primary_key=True, relative_position=0)
        )
        session.add(Attribute(project_id=project_id, name="text", data_type=DataType.TEXT, relative_position=1))
        session.flush()
        session.execute(
            text(
                "INSERT INTO record (project_id, data) SELECT :p, jsonb_build_object('id', g, 'text', 'record ' || g"
                " || ' is about ' || (ARRAY['sports','finance','music','travel'])[1 + g % 4]) FROM generate_series(1, :n) g"
            ),
            {"p": project_id, "n": N},
        )
        ids = [
            int(i) for i in session.scalars(text("SELECT id FROM record WHERE project_id = :p ORDER BY id"), {"p": project_id})
        ]
    data = Data(project_id, ids)
    add_task(data, "kind", TOPICS)
    return data


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


def local_one_pass(monkeypatch: pytest.MonkeyPatch, data: Data, sources: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    monkeypatch.delenv("REFINERY_RAY_ADDRESS", raising=False)
    monkeypatch.setenv("REFINERY_EXECUTOR_PARTITIONS", "false")
    get_settings.cache_clear()
    job_module.heuristic_run(JobContext(queue_job(data, *sources), min_interval_s=0.0))
    return {s: votes(s) for s in sources}


class Background:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.outcome: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.outcome["result"] = job_module.heuristic_run(JobContext(self.job, min_interval_s=0.0))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.outcome["error"] = exc

    def progress(self) -> float:
        with session_scope() as session:
            return float(session.scalar(text("SELECT progress FROM job WHERE id = :j"), {"j": self.job.id}) or 0.0)


def sandboxes(under: int | None = None) -> list[psutil.Process]:
    """The bubblewrap processes under this test process (the Ray nodes are its children), or under process ``under``."""
    found = []
    try:
        children = (psutil.Process(under) if under is not None else psutil.Process()).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    for process in children:
        try:
            if process.name() == "bwrap":
                found.append(process)
        except psutil.NoSuchProcess:  # ended meanwhile
            continue
    return found


def test_ray_partitions_store_exactly_the_local_votes(
    cluster: tuple[Cluster, Any], world: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = [create(world, name, code) for name, code in LFS.items()]
    expected = local_one_pass(monkeypatch, world, sources)
    assert len(expected[sources[0]]) == N // 4
    use(monkeypatch, cluster[0].address, 2_500)
    result = job_module.heuristic_run(JobContext(queue_job(world, *sources), min_interval_s=0.0))
    # 4 ranges for the cluster's 2 CPUs: one group of both functions (each range read once)
    assert result["timings"]["runner"] == "ray" and result["timings"]["partitions"] == 4
    assert result["timings"]["groups"] == 1
    assert result["timings"]["nodes"] == 2  # both nodes ran partitions
    assert {s: votes(s) for s in sources} == expected


def test_cancel_stops_the_ray_tasks_within_5_s(
    cluster: tuple[Cluster, Any], world: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, cluster[0].address, 5_000)  # two partitions of ~10 s each
    slow = create(world, "slow", SLOW)
    run = Background(queue_job(world, slow))
    deadline = time.monotonic() + 120
    while not sandboxes():
        assert run.thread.is_alive(), run.outcome
        assert time.monotonic() < deadline, "no partition started"
        time.sleep(0.1)
    time.sleep(1.0)
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == run.job.id).values(cancel_requested=True))
    asked = time.monotonic()
    run.thread.join(30)
    assert isinstance(run.outcome.get("error"), JobCancelled), run.outcome
    assert time.monotonic() - asked < 5.0
    while sandboxes():  # the force-cancelled workers' sandboxes die with them
        assert time.monotonic() - asked < 5.0, sandboxes()
        time.sleep(0.1)
    assert last_state(slow)[0] == RunState.CANCELLED and votes(slow) == []


# Each line votes "sports" when an escape WORKED; a contained partition stores no vote at all.
HOSTILE = f"""
import os, socket

REPOSITORY_FILE = {str(Path(__file__).resolve())!r}  # this test's own file on the host

def escaped():
    env = " ".join(f"{{k}}={{v}}" for k, v in os.environ.items())
    if "DATABASE_URL" in env or "RAY_" in env or "REFINERY_" in env:
        return "the environment of the Ray worker"
    for pid in os.listdir("/proc"):  # the processes it can see: its sandbox's own, with a cleared environment
        try:
            seen = open(f"/proc/{{pid}}/environ", "rb").read()
        except OSError:
            continue
        if b"DATABASE_URL" in seen or b"RAY_" in seen:
            return f"the environment of process {{pid}}"
    for path in ("/tmp/ray", "/dev/shm/plasma", "/tmp/sharedpg", REPOSITORY_FILE):
        try:
            os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(1)
            return path
        except OSError:
            pass
    for port in (5432, 6379, 8265, 10001):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            return f"port {{port}}"
        except OSError:
            pass
    try:
        open("/usr/escaped-by-ray", "w").write("x")
        return "/usr"
    except OSError:
        pass
    return None

def lf(record):
    where = escaped()
    if where:
        print("escaped:", where)
        return "sports"
    return None
"""


def test_hostile_code_in_a_ray_partition_is_contained(
    cluster: tuple[Cluster, Any], world: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox goes with the task: code run as a Ray partition sees neither the Ray worker's environment (the
    database URL), nor Ray's sockets and object store, nor the database, nor the host's files."""
    use(monkeypatch, cluster[0].address, 5_000)
    hostile = create(world, "hostile", HOSTILE)
    with session_scope() as session:  # a few records are enough: every call probes the same
        session.execute(
            text("DELETE FROM record WHERE project_id = :p AND id > :last"), {"p": world.project_id, "last": world.record_ids[20]}
        )
    result = job_module.heuristic_run(JobContext(queue_job(world, hostile), min_interval_s=0.0))
    assert result["timings"]["runner"] == "ray"
    assert last_state(hostile)[0] == RunState.FINISHED
    with session_scope() as session:
        logs = session.scalar(text("SELECT logs FROM heuristic_run WHERE source_id = :s"), {"s": hostile})
    assert votes(hostile) == [], [line for line in logs or [] if "escaped" in line][:3]


def test_a_node_without_a_working_sandbox_refuses_the_work(
    cluster: tuple[Cluster, Any], world: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task body as a node runs it, with a bubblewrap that does not exist there: it refuses (and Ray retries the
    partition elsewhere), it does not run the code."""
    from executor.partition_runners import ray_partition
    from executor.partitions import Partition
    from executor.project_context import FULL_LIMITS, FunctionSpec, load_context
    from executor.sandbox.backends import SandboxUnavailable

    use(monkeypatch, cluster[0].address, 1_000)
    monkeypatch.setenv("REFINERY_EXECUTOR_BACKEND", "bwrap")
    monkeypatch.setenv("REFINERY_EXECUTOR_BWRAP_PATH", "/nonexistent/bwrap")
    monkeypatch.setenv("REFINERY_EXECUTOR_SANDBOX_RECHECK_S", "0")
    get_settings.cache_clear()
    if not ray.is_initialized():
        ray.init(address=cluster[0].address, log_to_driver=False)
    with session_scope() as session:
        context = load_context(session, world.project_id)
    spec = FunctionSpec(id="x", mode="lf", code=LFS["sports"])
    with pytest.raises(SandboxUnavailable, match="refuses the work"):
        ray_partition(context, [spec], Partition(0, 0, world.record_ids[0], None), FULL_LIMITS, {})
    monkeypatch.undo()
    get_settings.cache_clear()
    from executor.sandbox.availability import check_sandbox

    assert check_sandbox(force=True).usable  # the probe is back to the real sandbox for the other tests


def test_a_node_removed_mid_run_still_ends_correct(
    cluster: tuple[Cluster, Any], world: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = create(world, "slow", SLOW)
    expected = local_one_pass(monkeypatch, world, [slow])[slow]
    assert len(expected) == N // 5
    use(monkeypatch, cluster[0].address, 1_000)  # ten partitions of ~2 s
    run = Background(queue_job(world, slow))
    made, worker = cluster
    raylet = next(process for kind, process in worker.live_processes() if kind == "raylet")
    deadline = time.monotonic() + 120
    while not sandboxes(under=raylet.pid):  # the second node is running a partition
        assert run.thread.is_alive(), run.outcome
        assert time.monotonic() < deadline, "the second node ran no partition"
        time.sleep(0.05)
    made.remove_node(worker)  # its partition dies with it, and is retried on the head
    run.thread.join(300)
    assert not run.thread.is_alive()
    assert "error" not in run.outcome, run.outcome
    assert [n["Alive"] for n in ray.nodes()].count(True) == 1
    assert last_state(slow)[0] == RunState.FINISHED
    assert votes(slow) == expected
