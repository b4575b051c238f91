"""Upload benchmark: a generated CSV uploaded through the gateway's API, compared with a raw COPY of the same rows.

    .venv/bin/python benchmarks/upload.py            # 1,000,000 rows
    .venv/bin/python benchmarks/upload.py --rows 100000

Uses ``DATABASE_URL`` when set, else a throwaway embedded Postgres; creates a private database in it, starts the
gateway as a real process (``python -m gateway``) on a free port, uploads with an API token and waits for the job.
Measures rows/s (request start to job done), the gateway's peak RSS (sampled every 50 ms) and a raw ``COPY`` of the
same file into a plain typed table of the same Postgres. Goals: ≥ 25,000 rows/s, ≥ 0.5 of raw COPY, RSS < 1 GB.
It also measures the floor of any loader that keeps records as JSONB: the same rows' record values, already built as
JSONB in a side table beforehand (not timed), inserted into a copy of the ``record`` table with its indexes — only
storing the rows, no file reading, parsing, type inference or JSON building (``ratio_floor_jsonb_store`` = raw COPY
seconds ÷ those seconds: no loader of this schema can reach a higher ratio_vs_copy).
Last line: ``{"rows_per_s": …, "ratio_vs_copy": …, "peak_rss_mb": …, "ratio_floor_jsonb_store": …}``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg2
from common import RssSampler, libpq_dsn, start_service, throwaway_database

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark-admin-password"
WORDS = (
    "data label model record text weak supervision heuristic token embedding project upload export fast slow "
    "clean noisy gold silver train test valid query answer review comment spam ham news sport music film"
).split()
CATEGORIES = [f"category_{i}" for i in range(12)]


def log(message: str) -> None:
    print(f"[upload-bench] {message}", file=sys.stderr, flush=True)


def generate_csv(path: Path, rows: int) -> None:
    """``id,text,category,score``: integer id, ~100-character text, one of 12 categories, a float."""
    rng = random.Random(42)
    texts = []
    for _ in range(4096):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 100:
            words.append(rng.choice(WORDS))
        texts.append(" ".join(words)[:100])
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("id,text,category,score\n")
        batch = []
        for i in range(rows):
            batch.append(f"{i},{texts[(i * 7919) % 4096]} {i},{CATEGORIES[i % 12]},{rng.random() * 100:.4f}\n")
            if len(batch) == 10_000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))


def start_gateway(db_url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REFINERY_DATABASE_URL": db_url,
        "REFINERY_GATEWAY_HOST": "127.0.0.1",
        "REFINERY_ADMIN_PASSWORD": PASSWORD,
        "REFINERY_DATA_DIR": str(workdir / "data"),
        "REFINERY_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = workdir / "gateway.log"
    process, url = start_service("gateway", env, log_path, timeout_s=120)
    return process, url, log_path


def api_token(url: str) -> str:
    with httpx.Client(base_url=url, timeout=30) as client:
        response = client.post("/api/v1/auth/login", json={"email": "admin@localhost", "password": PASSWORD})
        response.raise_for_status()
        cookie = "; ".join(f"{name}={value}" for name, value in response.cookies.items())
        for _ in range(50):  # the login's session row may be committed just after its response
            token = client.post("/api/v1/tokens", json={"name": "benchmark"}, headers={"Cookie": cookie})
            if token.status_code != 401:
                break
            time.sleep(0.1)
        token.raise_for_status()
        return str(token.json()["token"])


def upload(url: str, token: str, csv_path: Path, rows: int) -> tuple[float, dict[str, Any]]:
    """Create a project, upload, wait for the job; returns (seconds from request start to job done, the job)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        project = client.post("/api/v1/projects", json={"name": "upload benchmark"})
        project.raise_for_status()
        project_id = project.json()["id"]
        started = time.perf_counter()
        with csv_path.open("rb") as handle:
            response = client.post(f"/api/v1/projects/{project_id}/upload", files={"file": (csv_path.name, handle, "text/csv")})
        if response.status_code != 202:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
        accepted = time.perf_counter() - started
        job_id = response.json()["id"]
        while True:
            job = client.get(f"/api/v1/jobs/{job_id}").json()
            if job["state"] in ("done", "failed", "cancelled"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        if job["state"] != "done":
            raise RuntimeError(f"upload job {job['state']}: {job['error']}")
        log(f"upload accepted after {accepted:.2f} s (file transfer + head check), job done after {elapsed:.2f} s")
        count = client.get(f"/api/v1/projects/{project_id}").json()["record_count"]
        if count != rows:
            raise RuntimeError(f"expected {rows} records, the project has {count}")
        return elapsed, job


def raw_copy(db_url: str, csv_path: Path) -> float:
    """Seconds for ``COPY`` of the file into a plain typed table (created in the same transaction)."""
    conn = psycopg2.connect(libpq_dsn(db_url))
    try:
        cursor = conn.cursor()
        started = time.perf_counter()
        cursor.execute("CREATE TABLE raw_copy (id bigint, text text, category text, score double precision)")
        with csv_path.open("rb") as handle:
            cursor.copy_expert("COPY raw_copy FROM STDIN WITH (FORMAT csv, HEADER true)", handle, size=1 << 20)
        conn.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE raw_copy")
        conn.commit()
        return elapsed
    finally:
        conn.close()


def jsonb_floor_store(db_url: str, csv_path: Path) -> float:
    """Seconds to store the rows' ready-made JSONB values in a copy of the record table (indexes included)."""
    project = str(uuid.uuid4())
    buffer = io.StringIO()
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for n, (key, text, category, score) in enumerate(reader):
            data = json.dumps({"id": int(key), "text": text, "category": category, "score": float(score)})
            buffer.write(f"{n + 1}\t{project}\t{data.replace(chr(92), chr(92) * 2)}\t2026-01-01T00:00:00Z\n")
    buffer.seek(0)
    conn = psycopg2.connect(libpq_dsn(db_url))
    try:
        cursor = conn.cursor()
        cursor.execute("CREATE TABLE record_source (LIKE record INCLUDING DEFAULTS)")
        cursor.copy_expert("COPY record_source (id, project_id, data, created_at) FROM STDIN", buffer, size=1 << 20)
        cursor.execute("CREATE TABLE record_floor (LIKE record INCLUDING DEFAULTS INCLUDING INDEXES)")
        conn.commit()
        started = time.perf_counter()
        cursor.execute("INSERT INTO record_floor SELECT * FROM record_source")
        conn.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE record_floor, record_source")
        conn.commit()
        return elapsed
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated CSV (default 1,000,000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="refinery-upload-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "bench.csv"
        log(f"generating {args.rows} rows")
        generate_csv(csv_path, args.rows)
        log(f"{csv_path.stat().st_size / 1e6:.1f} MB CSV")
        with throwaway_database(workdir) as db_url:
            result = measure(args.rows, csv_path, db_url, workdir)
    print(json.dumps(result))


def measure(rows: int, csv_path: Path, db_url: str, workdir: Path) -> dict[str, Any]:
    """Upload through the gateway, then a raw COPY of the same rows, on the same database."""
    gateway, url, _ = start_gateway(db_url, workdir)
    try:
        token = api_token(url)
        sampler = RssSampler(gateway.pid)
        sampler.start()
        upload_s, job = upload(url, token, csv_path, rows)
        sampler.halt.set()
        sampler.join()
    finally:
        gateway.terminate()
        try:
            gateway.wait(15)
        except subprocess.TimeoutExpired:
            gateway.kill()
    log(f"attribute types: {job['result'].get('attributes')}; job phases (s): {job['result'].get('seconds')}")
    copy_s = raw_copy(db_url, csv_path)
    floor_s = jsonb_floor_store(db_url, csv_path)
    log(f"raw COPY: {copy_s:.2f} s ({rows / copy_s:,.0f} rows/s); upload: {upload_s:.2f} s")
    log(f"floor: storing ready-made JSONB records in the record table's shape: {floor_s:.2f} s")
    return {
        "rows_per_s": round(rows / upload_s),
        "ratio_vs_copy": round(copy_s / upload_s, 3),
        "peak_rss_mb": round(sampler.peak / 2**20, 1),
        "raw_copy_s": round(copy_s, 2),
        "upload_s": round(upload_s, 2),
        "jsonb_floor_store_s": round(floor_s, 2),
        "ratio_floor_jsonb_store": round(copy_s / floor_s, 3),
    }


if __name__ == "__main__":
    main()
