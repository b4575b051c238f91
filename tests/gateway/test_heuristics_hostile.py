"""Hostile labeling functions started together with good ones, through the gateway and the real executor service
(bwrap sandbox): each bad one fails alone with its own reason, naming the record; the good ones finish and store
their results; the run ends in bounded time."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared_model.jobs import wait_for_job

from ..executor.factory import Data, add_lookup_list, add_records, add_task, set_limits
from .test_heuristics import base, create, results

N = 40
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon"]
TEXTS = [f"{WORDS[i % len(WORDS)]} record number {i}" + (" channel" if i % 3 == 0 else "") for i in range(N)]
RECORD_LIMIT_S = 2
STUCK_AT = 17  # the value of the primary key ``id`` on which the looping function hangs (its 18th record)

GOOD = {
    "channel": 'def lf(record):\n    return "spam" if "channel" in record["text"].text else None\n',
    "listed": (
        'from knowledge import greek\n\ndef lf(record):\n    return "ham" if record["text"].text.split()[0] in greek else None\n'
    ),
    "even": 'def lf(record):\n    return "ham" if record["id"] % 2 == 0 else "spam"\n',
    "tokens": 'def lf(record):\n    return "spam" if len(record["text"]) > 4 else None\n',  # spaCy tokens
}
BAD = {
    "loops": f'def lf(record):\n    if record["id"] == {STUCK_AT}:\n        while True:\n            pass\n    return None\n',
    "sleeps": "import time\n\ndef lf(record):\n    time.sleep(1e9)\n",
    "reads": "import socket\n\na, b = socket.socketpair()\n\ndef lf(record):\n    return a.recv(1)\n",
    "hogs": "cache = []\n\ndef lf(record):\n    cache.append(bytearray(8 * 1024 ** 3))\n",
    # keeps what it takes until the worker's memory runs out: its globals are dropped when it fails, so that its
    # neighbours in the same worker go on
    "hoards": "cache = []\n\ndef lf(record):\n    cache.append(bytearray(96 * 1024 ** 2))\n",
    "forks": (
        "import os\n\ndef lf(record):\n    junk = bytearray(64 * 1024 ** 2)\n    try:\n        os.fork()\n"
        "    except OSError:\n        pass\n    while True:\n        junk[0] = 1\n"
    ),
}


def expected(name: str, data: Data) -> list[tuple[int, str, None, None]]:
    rows = []
    for i, record_id in enumerate(data.record_ids):
        text = TEXTS[i]
        label = {
            "channel": "spam" if "channel" in text else None,
            "listed": "ham" if text.split()[0] in ("alpha", "gamma") else None,
            "even": "ham" if i % 2 == 0 else "spam",
            "tokens": "spam" if len(text.split()) > 4 else None,
        }[name]
        if label is not None:
            rows.append((record_id, label, None, None))
    return rows


@pytest.fixture(scope="module")
def executor(services: Any) -> str:
    return str(services.start("executor").url)


def test_bad_functions_fail_alone_and_the_good_ones_are_stored(
    client: TestClient, project: dict[str, Any], executor: str
) -> None:
    data = add_records(uuid.UUID(project["id"]), TEXTS)
    add_task(data, "spam", ["spam", "ham"])
    add_lookup_list(data.project_id, "Greek", "greek", ["alpha", "gamma"])
    set_limits(data.project_id, record_time_s=RECORD_LIMIT_S, memory_mb=1024)
    ids = {name: create(client, data, name, code)["id"] for name, code in {**BAD, **GOOD}.items()}

    started = time.monotonic()
    response = client.post(f"{base(data)}/runs", json={"heuristic_ids": list(ids.values())})
    assert response.status_code == 202, response.text
    job = wait_for_job(uuid.UUID(response.json()["job"]["id"]), timeout_s=120)
    took = time.monotonic() - started
    print(f"the run of {len(ids)} heuristics took {took:.1f} s")  # shown with -s
    assert took < 60, f"the run took {took:.0f} s"

    runs = {name: client.get(f"{base(data)}/{hid}/runs").json()[0] for name, hid in ids.items()}
    for name in GOOD:
        assert runs[name]["state"] == "FINISHED", (name, runs[name]["error"])
        assert results(data, ids[name]) == expected(name, data), name
    errors = {name: runs[name]["error"] or "" for name in BAD}
    assert all(runs[name]["state"] == "FAILED" for name in BAD), errors
    limit = f"after {RECORD_LIMIT_S} s"
    assert (
        f"timed out on record {STUCK_AT + 1} (id {STUCK_AT}, record id {data.record_ids[STUCK_AT]}) {limit}" in (errors["loops"])
    )
    first = f"timed out on record 1 (id 0, record id {data.record_ids[0]}) {limit}"
    assert first in errors["sleeps"] and first in errors["reads"] and first in errors["forks"], errors
    assert "MemoryError" in errors["hogs"] and f"record {data.record_ids[0]}" in errors["hogs"], errors["hogs"]
    assert "MemoryError" in errors["hoards"] and "line 4, in lf" in errors["hoards"], errors["hoards"]
    for name in BAD:
        assert results(data, ids[name]) == []
        assert "worker.py" not in errors[name] and "/opt/refinery" not in errors[name]

    assert str(job.state) == "failed"
    message = job.error or ""
    assert message.startswith(f"{len(BAD)} of {len(ids)} heuristics failed ("), message
    assert f"the other {len(GOOD)} finished and stored their results" in message
    for name in BAD:
        assert f"{name}: " in message
    for name in GOOD:
        assert f"{name}: " not in message and f"({name}" not in message and f", {name}" not in message
