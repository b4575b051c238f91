"""Scale-out benchmark: 10 labeling functions over N records on the local pool and on Ray (one node, two nodes),
in one run, with results compared and a node removed mid-run.

    .venv/bin/python benchmarks/scale_out.py                    # 100,000 records
    .venv/bin/python benchmarks/scale_out.py --records 1000000  # the issue's size (hours on a 2-core machine)

Runs the executor's ``heuristic_run`` job handler in this process (the same code a service runs) on a private,
migrated database (``DATABASE_URL``'s server, else an embedded PostgreSQL), once per mode:

- ``local``: the one-pass local pool (the default: every worker gets every batch);
- ``local_partitions``: the same work cut into (heuristic group x record-id range) partitions on the local pool;
- ``ray_1node``: the partitions as Ray tasks on a local Ray cluster of one node with as many CPUs as the local pool's
  workers; ``ray_2nodes``: two nodes sharing those CPUs (``ray.cluster_utils.Cluster``, both on this machine), the
  second removed when a fifth of the partitions are done (its partitions retried on the first).

After each run the stored votes are fingerprinted (md5 over every vote in order): ``identical_results`` says all modes
stored the same. While the runs go, a poller reads ``pg_stat_activity`` every 0.1 s: ``max_transaction_s`` is the
oldest transaction it saw (the pass's record reader, one ``COPY`` that writes nothing, and the benchmark's own
fingerprint query between the runs and PostgreSQL's autovacuum excluded); ``max_transaction_query`` is that
transaction's statement when seen. The 100,000 embeddings of the issue are not measured here yet (embeddings run as
Ray partitions since ``embedder.ray_encoding``; tests/embedder/test_ray_encoding.py checks their vectors, not their
speed).

Last line: ``{"records": …, "ray_nodes": 2, "identical_results": …, "ray_1node_vs_local": …,
"lf_records_per_s_local": …, "lf_records_per_s_ray": …, "node_kill_recovered": …, "max_transaction_s": …, …}``.
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2
from common import libpq_dsn, load_text_project, throwaway_database
from labeling_functions import FUNCTIONS

WORDS = (
    "my subscribe http please plz song check out channel love like video free win money great nice the a of to and"
    " is this that watch music best ever lol wow cool new"
).split()
WORKERS = 2


def log(message: str) -> None:
    print(f"[scale-out] {message}", file=sys.stderr, flush=True)


def texts(n: int) -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 18))) for _ in range(n)]


def setup(dsn: str, n: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """The records, a task with HAM/SPAM and the ten functions (written directly: setup, not timed)."""
    project_id, attribute_id = load_text_project(dsn, "text", texts(n))
    task_id = uuid.uuid4()
    sources = []
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO labeling_task (id, project_id, name, attribute_id, task_target, task_type)"
            " VALUES (%s, %s, 'spam', %s, 'ON_ATTRIBUTE', 'MULTICLASS_CLASSIFICATION')",
            (str(task_id), str(project_id), str(attribute_id)),
        )
        for label in ("HAM", "SPAM"):
            cursor.execute(
                "INSERT INTO label (id, project_id, labeling_task_id, name, color) VALUES (%s, %s, %s, %s, '#000')",
                (str(uuid.uuid4()), str(project_id), str(task_id), label),
            )
        for name, code in FUNCTIONS.items():
            source = uuid.uuid4()
            cursor.execute(
                "INSERT INTO information_source (id, project_id, labeling_task_id, type, name, description, source_code,"
                " config, is_selected, created_at) VALUES (%s, %s, %s, 'LABELING_FUNCTION', %s, '', %s, '{}', true, now())",
                (str(source), str(project_id), str(task_id), name, code),
            )
            sources.append(source)
    conn.close()
    return project_id, sources


class TransactionPoller(threading.Thread):
    """The oldest open transaction of the database (other than the COPY record reader), every 0.1 s."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.oldest = 0.0
        self.oldest_query = ""  # its statement when it was seen oldest
        self.halt = threading.Event()

    def run(self) -> None:
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        with conn.cursor() as cursor:
            while not self.halt.wait(0.1):
                cursor.execute(
                    "SELECT extract(epoch FROM clock_timestamp() - xact_start), left(query, 200) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                    " AND query NOT ILIKE 'COPY%' AND application_name <> 'scale-out-fingerprint'"
                    " AND backend_type = 'client backend'"  # not autovacuum (after the load it vacuums record for ~5 s)
                    " ORDER BY xact_start LIMIT 1"
                )
                row = cursor.fetchone()
                if row is not None and float(row[0]) > self.oldest:
                    self.oldest, self.oldest_query = float(row[0]), " ".join(str(row[1]).split())
        conn.close()


def fingerprint(dsn: str, project_id: uuid.UUID) -> str:
    conn = psycopg2.connect(dsn, application_name="scale-out-fingerprint")  # the poller leaves this read out
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(s.name || ':' || a.record_id || ':' || l.name, ',' ORDER BY s.name, a.record_id, l.name))"
            " FROM heuristic_association a JOIN information_source s ON s.id = a.source_id JOIN label l ON l.id = a.label_id"
            " WHERE a.project_id = %s",
            (str(project_id),),
        )
        value = str(cursor.fetchone()[0])
    conn.close()
    return value


def run_once(project_id: uuid.UUID, sources: list[uuid.UUID], on_progress: Any = None) -> tuple[float, dict[str, Any]]:
    """One job over every function, the handler in this process; (seconds, its result)."""
    from sqlalchemy import update

    from executor.jobs import heuristic_run
    from shared_model.db import session_scope
    from shared_model.jobs import JobContext, enqueue
    from shared_model.models import HeuristicRun

    with session_scope() as session:
        run_ids = []
        for source in sources:
            run = HeuristicRun(project_id=project_id, source_id=source, source_code=FUNCTIONS_BY_ID[source])
            session.add(run)
            session.flush()
            run_ids.append(str(run.id))
        parameters = {"run_ids": run_ids}
        job = enqueue(session, kind="heuristic_run", owner_service="benchmark", project_id=project_id, parameters=parameters)
        session.execute(update(HeuristicRun).where(HeuristicRun.id.in_(run_ids)).values(job_id=job.id))
        session.flush()
        session.expunge(job)
    watcher = None
    if on_progress is not None:
        watcher = threading.Thread(target=on_progress, args=(job.id,), daemon=True)
        watcher.start()
    started = time.perf_counter()
    result = heuristic_run(JobContext(job, min_interval_s=0.5))
    return time.perf_counter() - started, result


FUNCTIONS_BY_ID: dict[uuid.UUID, str] = {}


def configure(**env: str) -> None:
    from shared_model.settings import get_settings

    for key in ("REFINERY_RAY_ADDRESS", "REFINERY_EXECUTOR_PARTITIONS"):
        os.environ.pop(key, None)
    os.environ.update(env)
    get_settings.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--partition-records", type=int, default=10_000)
    args = parser.parse_args()
    n = args.records
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(Path(tmp)) as url:
        os.environ["DATABASE_URL"] = url
        os.environ["REFINERY_DATABASE_URL"] = url
        os.environ["REFINERY_EXECUTOR_WORKERS"] = str(WORKERS)
        os.environ["REFINERY_EXECUTOR_PARTITION_RECORDS"] = str(args.partition_records)
        dsn = libpq_dsn(url)
        log(f"loading {n} records")
        project_id, sources = setup(dsn, n)
        FUNCTIONS_BY_ID.update(zip(sources, FUNCTIONS.values(), strict=True))
        poller = TransactionPoller(dsn)
        poller.start()
        seconds: dict[str, float] = {}
        prints: dict[str, str] = {}

        configure()
        seconds["local"], _ = run_once(project_id, sources)
        prints["local"] = fingerprint(dsn, project_id)
        log(f"local one pass: {seconds['local']:.1f} s")

        configure(REFINERY_EXECUTOR_PARTITIONS="true")
        seconds["local_partitions"], _ = run_once(project_id, sources)
        prints["local_partitions"] = fingerprint(dsn, project_id)
        log(f"local partitions: {seconds['local_partitions']:.1f} s")

        import ray
        from ray.cluster_utils import Cluster

        one = Cluster(initialize_head=True, head_node_args={"num_cpus": WORKERS, "include_dashboard": False})
        configure(REFINERY_RAY_ADDRESS=one.address)
        run_once(project_id, sources[:1])  # connects and warms the workers (not timed)
        seconds["ray_1node"], result = run_once(project_id, sources)
        prints["ray_1node"] = fingerprint(dsn, project_id)
        log(f"ray, one node: {seconds['ray_1node']:.1f} s ({result['timings']})")
        ray.shutdown()
        one.shutdown()

        two = Cluster(initialize_head=True, head_node_args={"num_cpus": WORKERS // 2 or 1, "include_dashboard": False})
        second = two.add_node(num_cpus=WORKERS // 2 or 1)
        two.wait_for_nodes()
        configure(REFINERY_RAY_ADDRESS=two.address)
        run_once(project_id, sources[:1])
        seconds["ray_2nodes"], result = run_once(project_id, sources)
        prints["ray_2nodes"] = fingerprint(dsn, project_id)
        log(f"ray, two nodes: {seconds['ray_2nodes']:.1f} s ({result['timings']})")

        def kill_second(job_id: uuid.UUID) -> None:
            from sqlalchemy import text

            from shared_model.db import session_scope

            while True:
                with session_scope() as session:
                    progress = float(session.scalar(text("SELECT progress FROM job WHERE id = :j"), {"j": job_id}) or 0)
                if progress >= 0.2 * 0.95:
                    two.remove_node(second)
                    log("removed the second node")
                    return
                time.sleep(0.1)

        seconds["ray_node_removed"], result = run_once(project_id, sources, on_progress=kill_second)
        prints["ray_node_removed"] = fingerprint(dsn, project_id)
        log(f"ray, node removed mid-run: {seconds['ray_node_removed']:.1f} s ({result['timings']})")
        ray.shutdown()
        two.shutdown()
        poller.halt.set()
        poller.join()

    rate = {mode: round(n / s) for mode, s in seconds.items()}
    print(
        json.dumps(
            {
                "records": n,
                "functions": len(FUNCTIONS),
                "ray_nodes": 2,
                "identical_results": len(set(prints.values())) == 1,
                "ray_1node_vs_local": round(seconds["local"] / seconds["ray_1node"], 3),
                "ray_1node_vs_local_partitions": round(seconds["local_partitions"] / seconds["ray_1node"], 3),
                "partition_records": args.partition_records,
                "lf_records_per_s_local": rate["local"],
                "lf_records_per_s_local_partitions": rate["local_partitions"],
                "lf_records_per_s_ray": rate["ray_2nodes"],
                "lf_records_per_s_ray_1node": rate["ray_1node"],
                "node_kill_recovered": prints["ray_node_removed"] == prints["local"],
                "max_transaction_s": round(poller.oldest, 3),
                "max_transaction_query": poller.oldest_query,
                "seconds": {mode: round(s, 2) for mode, s in seconds.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
