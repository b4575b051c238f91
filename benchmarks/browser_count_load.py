"""Concurrent ``POST …/records/count`` (and search) load on a large project while a weak-supervision run writes: a
hunt for 5xx answers (issue #17: two unexplained 500s of count at 300k records).

Builds the data-browser benchmark's project (benchmarks/data_browser.py) in a throwaway database, starts one real
gateway, then for ``--seconds`` runs ``--threads`` clients sending every benchmark query's count (auto, exact,
estimate) and first page, from the first use on (attribute index builds and vote-summary builds included), while
one more thread replaces the second task's weak-supervision labels in a loop (today's write path). It prints every
5xx with its body and the gateway log's tracebacks; the last line is JSON.

Run: ``.venv/bin/python benchmarks/browser_count_load.py [--records 300000] [--threads 8] [--seconds 120]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import libpq_dsn, throwaway_database  # noqa: E402
from data_browser import build, log, login, queries, start_gateway, ws_replace_seconds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="refinery-count-load-") as tmp, throwaway_database(Path(tmp)) as db_url:
        gateway, url = start_gateway(db_url, Path(tmp))
        try:
            result = run(url, db_url, args)
        finally:
            gateway.terminate()
            gateway.wait(15)
            text = (Path(tmp) / "gateway.log").read_text(errors="replace")
            blocks = text.split("Traceback (most recent call last):")[1:]
            seen: set[str] = set()
            for block in blocks:
                last = block.strip().splitlines()[-1] if block.strip() else ""
                if last not in seen:
                    seen.add(last)
                    print("---- gateway traceback ----\nTraceback (most recent call last):" + block[-4000:], file=sys.stderr)
            result["gateway_tracebacks"] = len(blocks)
            result["distinct_tracebacks"] = sorted(seen)
    print(json.dumps(result))


def run(url: str, db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    admin = login(url)
    dsn = libpq_dsn(db_url)
    world = build(admin, dsn, args.records)
    base = f"/api/v1/projects/{world['project_id']}"
    token = admin.headers["Authorization"]
    statuses: collections.Counter[int] = collections.Counter()
    failures: list[dict[str, Any]] = []
    lock = threading.Lock()
    stop = time.monotonic() + args.seconds
    writes = [0]

    def client_loop(n: int) -> None:
        client = httpx.Client(base_url=url, timeout=600, headers={"Authorization": token})
        i = n
        work = queries(world)
        while time.monotonic() < stop:
            name, body = work[i % len(work)]
            mode = ("auto", "exact", "estimate", "page")[(i // len(work)) % 4]
            i += 1
            if mode == "page":
                response = client.post(f"{base}/records/search", json={**body, "limit": 20})
            else:
                response = client.post(f"{base}/records/count", json={"filter": body["filter"], "count": mode})
            with lock:
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append({"query": name, "mode": mode, "status": response.status_code, "body": response.text[:500]})
                    log(f"{response.status_code} on {name} ({mode}): {response.text[:300]}")

    def writer() -> None:
        while time.monotonic() < stop:
            ws_replace_seconds(dsn, world["project_id"], world["tasks"][1], args.records)
            writes[0] += 1

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.threads)]
    threads.append(threading.Thread(target=writer))
    log(f"{args.threads} clients and one weak-supervision writer for {args.seconds:.0f} s")
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "records": args.records,
        "threads": args.threads,
        "requests": sum(statuses.values()),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "ws_runs_written": writes[0],
        "failures": failures[:20],
    }


if __name__ == "__main__":
    main()
