"""Tokenization benchmark: the tokenizer service's ``tokenize_project`` job against bare ``nlp.pipe`` on the same texts.

    .venv/bin/python benchmarks/tokenize.py                  # 100,000 records
    .venv/bin/python benchmarks/tokenize.py --records 20000

Uses ``DATABASE_URL`` when set, else a throwaway embedded Postgres; creates a private database, loads one project
with one TEXT attribute of ~20-token texts (COPY), starts the tokenizer service as a real process on a free port,
runs bare ``spacy.blank("en").pipe`` over the same texts in this process, then queues the job and waits until every
record's DocBin is stored. records/s are measured from the job's start to its end (as the service records them);
peak RSS of the tokenizer process is sampled every 50 ms. Goals: ≥ 0.7 of bare ``nlp.pipe``, RSS < 1 GB.
Last line: ``{"records_per_s": …, "ratio_vs_nlp_pipe": …, "peak_rss_mb": …}``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg2
from common import RssSampler, start_service
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
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


def server_url() -> str:
    url = os.environ.get("DATABASE_URL") or os.environ.get("REFINERY_DATABASE_URL")
    if url:
        return url
    from shared_model.embedded import ensure_embedded_postgres

    return ensure_embedded_postgres(Path(tempfile.gettempdir()) / "refinery-test-postgres")  # the tests' server


def admin_engine(server: str) -> object:
    url = make_url(server)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg2")
    return url


def load_project(dsn: str, texts: list[str]) -> uuid.UUID:
    project_id = uuid.uuid4()
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO project (id, name, description, tokenizer, status, settings, created_at, updated_at)"
                " VALUES (%s, 'tokenize benchmark', '', 'en', 'READY', '{}', now(), now())",
                (str(project_id),),
            )
            cursor.execute(
                "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, user_created, state,"
                " visibility, created_at) VALUES (gen_random_uuid(), %s, 'headline', 'TEXT', false, 0, false, 'UPLOADED',"
                " 'DO_NOT_HIDE', now())",
                (str(project_id),),
            )
            payload = "".join(
                json.dumps({"headline": t}).replace("\\", "\\\\") + "\n" for t in texts
            )  # COPY text format: escape backslashes
            cursor.execute("CREATE TEMP TABLE bench_stage (data jsonb)")
            cursor.copy_expert("COPY bench_stage (data) FROM STDIN", io.BytesIO(payload.encode("utf-8")))
            cursor.execute(
                "INSERT INTO record (project_id, data, created_at) SELECT %s, data, now() FROM bench_stage", (str(project_id),)
            )
        conn.commit()
    finally:
        conn.close()
    return project_id


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


def bare_pipe(texts: list[str]) -> float:
    """Records/s of one ``spacy.blank("en").pipe`` pass over ``texts`` (each text once, as the job does), after a
    warm-up on other texts."""
    import spacy

    nlp = spacy.blank("en")
    for _doc in nlp.pipe(make_texts(2000)[::-1], batch_size=1000):
        pass
    started = time.perf_counter()
    for _doc in nlp.pipe(texts, batch_size=1000):
        pass
    return len(texts) / (time.perf_counter() - started)


def run_job(url: str, dsn: str, project_id: uuid.UUID) -> tuple[float, float, dict[str, object]]:
    """Queue the job and wait; returns (seconds from job start to end, seconds from request to done, result)."""
    requested = time.perf_counter()
    response = httpx.post(f"{url}/tokenize_project", json={"project_id": str(project_id)}, timeout=30)
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
        server = admin_engine(server_url())
        name = f"refinery_bench_{secrets.token_hex(4)}"
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")  # type: ignore[attr-defined]
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        db_url = server.set(database=name).render_as_string(hide_password=False)  # type: ignore[attr-defined]
        dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        process = None
        try:
            from shared_model.migrate import upgrade

            upgrade(db_url)
            texts = make_texts(args.records)
            project_id = load_project(dsn, texts)
            log(f"loaded {len(texts)} records")
            process, url = start_tokenizer(db_url, workdir)
            sampler = RssSampler(process.pid)
            sampler.start()
            baseline = bare_pipe(texts)
            log(f"bare nlp.pipe: {baseline:,.0f} records/s")
            seconds, total, result = run_job(url, dsn, project_id)
            sampler.halt.set()
            sampler.join()
            rate = args.records / seconds
            log(f"job: {seconds:.2f} s from start to end ({rate:,.0f} records/s); {total:.2f} s from request to done; {result}")
            summary = {
                "records": args.records,
                "job_seconds": round(seconds, 3),
                "request_to_done_seconds": round(total, 3),
                "nlp_pipe_records_per_s": round(baseline, 1),
            }
            log(json.dumps(summary))
            print(
                json.dumps(
                    {
                        "records_per_s": round(rate, 1),
                        "ratio_vs_nlp_pipe": round(rate / baseline, 3),
                        "peak_rss_mb": round(sampler.peak / 1024 / 1024, 1),
                    }
                )
            )
        finally:
            if process is not None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
