"""Tokenization benchmark: the tokenizer service's ``tokenize_project`` job against bare ``nlp.pipe`` on the same texts.

    .venv/bin/python benchmarks/tokenization.py                # 100,000 records
    .venv/bin/python benchmarks/tokenization.py --records 20000

Uses ``DATABASE_URL`` when set, else a throwaway embedded Postgres; creates a private database, loads one project
with one TEXT attribute of ~20-token texts (COPY), starts the tokenizer service as a real process on a free port,
runs bare ``spacy.blank("en").pipe`` over the same texts in this process (single-process: the issue's peer; and
``n_process`` = the job's worker count, over the first 10,000 texts, as an extra figure), then queues the job and
waits until every record's DocBin is stored. The service pre-starts its worker processes for ``en`` when it starts
(``REFINERY_TOKENIZER_PRESTART``) and keeps them warm between jobs; the benchmark waits until they are ready before
measuring anything, so the job finds them warm (set ``REFINERY_TOKENIZER_PRESTART=`` for a cold start, the worker
start inside the job). records/s are measured from the job's start to its end (as the service records them); peak RSS
of the tokenizer process plus its worker processes (summed, the warm ones included) is sampled every 50 ms from
before the workers get ready until the job ends. Goals: ≥ 0.7 of bare single-process ``nlp.pipe``, RSS < 1 GB.
Last line: ``{"records_per_s": …, "ratio_vs_nlp_pipe": …, "peak_rss_mb": …, "ratio_vs_nlp_pipe_multiprocess": …,
"processes": …}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg2
from common import RssSampler, libpq_dsn, load_text_project, start_service, throwaway_database

from shared_model.service import service_headers

ROOT = Path(__file__).resolve().parents[1]
MULTI_SAMPLE = 10_000
WORDS = (
    "the a market stocks fell rose sharply after news report said company profits shares investors bank rates "
    "Apple Google Microsoft Tesla quarter year 2021 2022 $ , . ; : ( ) - percent growth loss CEO analysts expect "
    "won't can't U.S. e-mail data model label weak supervision record token"
).split()


def log(message: str) -> None:
    print(f"[tokenize-bench] {message}", file=sys.stderr, flush=True)


def make_texts(n: int) -> list[str]:
    """``n`` texts of about 20 tokens each (18 words plus punctuation), reproducible."""
    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(18)) + f" #{i}." for i in range(n)]


def start_tokenizer(db_url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REFINERY_DATABASE_URL": db_url,
        "REFINERY_DATA_DIR": str(workdir / "data"),
        "REFINERY_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    return start_service("tokenizer", env, workdir / "tokenizer.log")


def wait_for_warm_workers(url: str, count: int, timeout_s: float = 120.0) -> list[dict[str, object]]:
    """Wait until the service's ``count`` pre-started workers have loaded their pipeline (their start is the service's
    start, not the job's, and must not overlap the bare ``nlp.pipe`` measurement); returns them."""
    deadline = time.monotonic() + timeout_s
    while True:
        warm = httpx.get(f"{url}/workers", headers=service_headers(), timeout=10).json()["workers"]
        if len(warm) >= count and all(w["ready"] for w in warm):
            return list(warm)
        if time.monotonic() > deadline:
            raise RuntimeError(f"the tokenizer's {count} warm workers did not get ready: {warm}")
        time.sleep(0.1)


def bare_pipe(texts: list[str], n_process: int = 1) -> float:
    """Records/s of one ``spacy.blank("en").pipe`` pass over ``texts`` (each text once, as the job does), after a
    warm-up on other texts; ``n_process`` > 1 is spaCy's own multiprocessing (its worker start included)."""
    import spacy

    nlp = spacy.blank("en")
    for _doc in nlp.pipe(make_texts(2000)[::-1], batch_size=1000):
        pass
    started = time.perf_counter()
    for _doc in nlp.pipe(texts, batch_size=1000, n_process=n_process):
        pass
    return len(texts) / (time.perf_counter() - started)


def run_job(url: str, dsn: str, project_id: uuid.UUID) -> tuple[float, float, dict[str, object]]:
    """Queue the job and wait; returns (seconds from job start to end, seconds from request to done, result)."""
    requested = time.perf_counter()
    response = httpx.post(f"{url}/tokenize_project", json={"project_id": str(project_id)}, headers=service_headers(), timeout=30)
    response.raise_for_status()
    job_id = response.json()["job_id"]
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            while True:
                cursor.execute(
                    "SELECT state, error, result, extract(epoch FROM finished_at - started_at) FROM job WHERE id = %s", (job_id,)
                )
                state, error, result, seconds = cursor.fetchone()
                if state in ("done", "failed", "cancelled"):
                    break
                time.sleep(0.02)
            total = time.perf_counter() - requested
            if state != "done":
                raise RuntimeError(f"tokenize job {state}: {error}")
            cursor.execute("SELECT count(*) FROM record_tokenized WHERE project_id = %s", (str(project_id),))
            stored = cursor.fetchone()[0]
    finally:
        conn.close()
    if stored != result["tokenized"]:
        raise RuntimeError(f"the job reports {result['tokenized']} records but {stored} DocBins are stored")
    return float(seconds), total, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="refinery-tokenize-bench-") as tmp:
        workdir = Path(tmp)
        with throwaway_database(workdir) as db_url:
            result = measure(args.records, db_url, workdir)
    print(json.dumps(result))


def measure(records: int, db_url: str, workdir: Path) -> dict[str, float | int]:
    """The tokenizer service's job against bare ``nlp.pipe`` over the same texts."""
    dsn = libpq_dsn(db_url)
    processes = int(os.environ.get("REFINERY_TOKENIZER_PROCESSES") or 0) or min(2, os.cpu_count() or 1)
    texts = make_texts(records)
    project_id, _ = load_text_project(dsn, "headline", texts)
    log(f"loaded {len(texts)} records")
    process, url = start_tokenizer(db_url, workdir)
    try:
        sampler = RssSampler(process.pid)
        sampler.start()
        prestarted = processes - 1 if os.environ.get("REFINERY_TOKENIZER_PRESTART", "en") else 0
        warm = wait_for_warm_workers(url, prestarted)
        log(f"warm workers: {warm}")
        baseline = bare_pipe(texts)
        log(f"bare nlp.pipe: {baseline:,.0f} records/s")
        # spaCy's n_process path ships every Doc back with Doc.to_bytes (a new msgpack packer per Doc, ~1 ms): a few
        # hundred records/s, so it runs over the first MULTI_SAMPLE texts only
        multi = bare_pipe(texts[:MULTI_SAMPLE], n_process=processes)
        log(f"bare nlp.pipe(n_process={processes}) over {min(records, MULTI_SAMPLE)} texts: {multi:,.0f} records/s")
        seconds, total, result = run_job(url, dsn, project_id)
        sampler.halt.set()
        sampler.join()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    rate = records / seconds
    log(f"job: {seconds:.2f} s from start to end ({rate:,.0f} records/s); {total:.2f} s from request to done; {result}")
    summary = {
        "records": records,
        "job_seconds": round(seconds, 3),
        "request_to_done_seconds": round(total, 3),
        "nlp_pipe_records_per_s": round(baseline, 1),
        f"nlp_pipe_n_process_{processes}_records_per_s": round(multi, 1),
        "job_processes": result.get("processes"),
        "job_worker_chunks": result.get("worker_chunks"),
        "warm_workers_before_job": len(warm),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    log(json.dumps(summary))
    return {
        "records_per_s": round(rate, 1),
        "ratio_vs_nlp_pipe": round(rate / baseline, 3),
        "peak_rss_mb": round(sampler.peak / 1024 / 1024, 1),
        "ratio_vs_nlp_pipe_multiprocess": round(rate / multi, 3),
        "processes": processes,
    }


if __name__ == "__main__":
    main()
