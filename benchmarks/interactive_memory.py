"""Memory of parallel interactive calls: 12 "run on sample" calls at once, the sandboxes' summed resident memory.

    .venv/bin/python benchmarks/interactive_memory.py                  # this checkout's services
    .venv/bin/python benchmarks/interactive_memory.py --code /tmp/old  # the services of another checkout (before)

Uses ``DATABASE_URL`` when set, else a throwaway embedded Postgres; creates a private database and starts the
tokenizer, the executor and the gateway as real processes (from ``--code``: its ``shared_model`` and ``services``
come first on ``PYTHONPATH``). Uploads 200 short texts through the API (tokenized by the tokenizer), creates one
labeling function that iterates over the spaCy tokens of each record (so each sandbox loads spaCy and the records'
Docs, as most real functions do) and sleeps 0.1 s per record (so that the calls overlap), and fires ``--calls``
sample calls (10 records each) at once through the gateway.
While they run, the resident memory (RSS) of every process under the executor (the sandboxes: bwrap and its Python
worker) is summed every 20 ms; the peak is reported with the HTTP statuses.
Last line: ``{"calls": …, "statuses": {…}, "peak_sandbox_rss_mb": …, "peak_sandboxes": …}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
from common import ROOT, start_service, throwaway_database
from upload import PASSWORD, api_token

# Every record's tokens, and a little work per record (as a real function: the calls overlap as in a busy team).
CODE = (
    "import time\n\n"
    "def lf(record):\n"
    '    words = [token.lower_ for token in record["text"] if token.is_alpha]\n'
    "    time.sleep(0.1)\n"
    "    return None\n"
)


class SandboxSampler(threading.Thread):
    """The peak summed RSS of every descendant of a process (bwrap and the sandboxed workers) and the most sandboxed
    workers seen at once."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.most = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            total = 0
            children = self.process.children(recursive=True)
            for child in children:
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            commands = [_cmdline(c) for c in children]
            workers = [c for c in commands if c[-1:] == ["/opt/refinery/worker.py"] and not c[0].endswith("bwrap")]
            self.most = max(self.most, len(workers))
            self.halt.wait(0.02)


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def wait_jobs(client: httpx.Client, project_id: str, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = client.get(f"/api/v1/projects/{project_id}/jobs").json()
        if jobs and all(job["state"] in ("done", "failed", "cancelled") for job in jobs) and len(jobs) >= 2:
            failed = [job for job in jobs if job["state"] != "done"]
            if failed:
                raise RuntimeError(f"setup job failed: {failed}")
            return
        time.sleep(0.5)
    raise RuntimeError("the upload and tokenization did not finish")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose services run")
    args = parser.parse_args()
    code = args.code.resolve()
    packages = [code / "shared_model", *(code / "services" / name for name in os.listdir(code / "services"))]
    with tempfile.TemporaryDirectory(prefix="refinery-memory-bench-") as tmp:
        workdir = Path(tmp)
        with throwaway_database(workdir) as db_url:
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(str(p) for p in packages),
                "DATABASE_URL": db_url,
                "REFINERY_DATABASE_URL": db_url,
                "REFINERY_ADMIN_PASSWORD": PASSWORD,
                "REFINERY_DATA_DIR": str(workdir / "data"),
                "REFINERY_LOG_LEVEL": "WARNING",
                "REFINERY_GATEWAY_HOST": "127.0.0.1",
            }
            processes = []
            try:
                tokenizer, tokenizer_url = start_service("tokenizer", env, workdir / "tokenizer.log")
                processes.append(tokenizer)
                env["REFINERY_TOKENIZER_URL"] = tokenizer_url
                executor, executor_url = start_service("executor", env, workdir / "executor.log")
                processes.append(executor)
                env["REFINERY_EXECUTOR_URL"] = executor_url
                gateway, url = start_service("gateway", env, workdir / "gateway.log")
                processes.append(gateway)
                figures = measure(url, executor.pid, args.calls, workdir)
            finally:
                for process in processes:
                    process.terminate()
                    process.wait(20)
    figures["code"] = str(code)
    print(json.dumps(figures))


def measure(url: str, executor_pid: int, calls: int, workdir: Path) -> dict[str, Any]:
    csv_path = workdir / "records.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([i, f"Record number {i} says hello to the sandbox, twice: hello {i}."] for i in range(200))
    headers = {"Authorization": f"Bearer {api_token(url)}"}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        project_id = client.post("/api/v1/projects", json={"name": "memory benchmark"}).json()["id"]
        with csv_path.open("rb") as handle:
            client.post(f"/api/v1/projects/{project_id}/upload", files={"file": ("records.csv", handle, "text/csv")})
        wait_jobs(client, project_id)
        task = client.post(
            f"/api/v1/projects/{project_id}/labeling-tasks",
            json={"name": "kind", "attribute": "text", "labels": [{"name": "yes"}]},
        )
        task.raise_for_status()
        task_id = task.json()["id"]
        created = client.post(
            f"/api/v1/projects/{project_id}/heuristics", json={"labeling_task_id": task_id, "name": "tokens", "source_code": CODE}
        )
        created.raise_for_status()
        sample_url = f"/api/v1/projects/{project_id}/heuristics/{created.json()['id']}/sample"
        sampler = SandboxSampler(executor_pid)
        sampler.start()
        barrier = threading.Barrier(calls)

        def call(_: int) -> tuple[int, str | None, float]:
            barrier.wait()
            started = time.monotonic()
            response = client.post(sample_url, json={"sample_size": 10})
            if response.status_code == 200 and (response.json()["error"] or response.json()["records"][0]["error"]):
                raise RuntimeError(f"the sample failed: {response.text[:2000]}")
            return response.status_code, response.headers.get("Retry-After"), time.monotonic() - started

        started = time.monotonic()
        with ThreadPoolExecutor(calls) as threads:
            outcomes = list(threads.map(call, range(calls)))
        seconds = time.monotonic() - started
        time.sleep(0.2)
        sampler.halt.set()
        sampler.join()
    return {
        "calls": calls,
        "statuses": dict(Counter(str(status) for status, _, _ in outcomes)),
        "retry_after": sorted({after for _, after, _ in outcomes if after}),
        "peak_sandbox_rss_mb": round(sampler.peak / 1024 / 1024, 1),
        "peak_sandboxes": sampler.most,
        "seconds": round(seconds, 2),
    }


if __name__ == "__main__":
    main()
