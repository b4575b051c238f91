"""Heuristics of one run share a worker but not their state: each has its own globals and its own copy of the
project's lookup lists (real database, real bwrap sandbox, the job handler in this process)."""

from __future__ import annotations

import pytest

from shared_model.models import RunState
from shared_model.settings import get_settings

from .factory import Data, add_lookup_list
from .test_full_runs import TEXTS, create, data, full_run, job_module, last_state, results

__all__ = ["data"]  # the fixture, shared with test_full_runs

MATCHER = """from knowledge import words

def lf(record):
    return "exact" if record["text"].text in words else None
"""
APPENDER = """import knowledge

seen = []

def lf(record):
    knowledge.words.append(record["text"].text)  # every text becomes a "word"
    seen.append(1)
    return "other"
"""
CLEARER = """def lf(record):
    import knowledge
    knowledge.words.clear()
    globals()["seen"] = None  # another function's global of the same name
    return None
"""


@pytest.fixture()
def one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """All heuristics of a run in ONE worker process (the case where they could see each other's state)."""
    monkeypatch.setattr(job_module, "pass_workers", lambda: 1)


def test_a_function_mutating_a_lookup_list_does_not_change_another_functions_hits(data: Data, one_worker: None) -> None:
    words = [TEXTS[1], TEXTS[6]]
    add_lookup_list(data.project_id, "words", "words", words)
    matcher = create(data, "matcher", MATCHER)
    _, failure = full_run(data, matcher)
    assert failure is None
    alone = [record_id for _, record_id, _ in results(matcher)]
    assert len(alone) == len(data.record_ids) * 2 // len(TEXTS)  # the two listed texts, and only those

    appender = create(data, "appender", APPENDER)
    clearer = create(data, "clearer", CLEARER)
    _, failure = full_run(data, appender, clearer, matcher)  # the mutators run first on every record
    assert failure is None, failure
    assert [record_id for _, record_id, _ in results(matcher)] == alone
    assert len(results(appender)) == len(data.record_ids)  # its own list and globals worked for it throughout


def test_a_function_that_hangs_at_start_or_kills_its_worker_fails_alone(
    data: Data, one_worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In ONE worker: module-level code that never finishes, and a call that kills the process on the 5th record; the
    neighbours finish in a new worker (which gets the interrupted batch again) and store every record's result."""
    monkeypatch.setenv("REFINERY_EXECUTOR_START_TIMEOUT_S", "2")
    get_settings.cache_clear()
    try:
        before = create(data, "before", 'def lf(record):\n    return "other"\n')
        stuck = create(data, "stuck", "import time\ntime.sleep(1e9)\n\ndef lf(record):\n    return None\n")
        crash = create(data, "crash", 'import os\n\ndef lf(record):\n    if record["id"] == 4:\n        os._exit(7)\n')
        after = create(data, "after", 'def lf(record):\n    return "exact"\n')
        _, failure = full_run(data, before, stuck, crash, after)
    finally:
        get_settings.cache_clear()
    assert failure is not None and failure.startswith("2 of 4 heuristics failed (stuck, crash)"), failure
    assert len(results(before)) == len(results(after)) == len(data.record_ids)
    assert [last_state(s)[0] for s in (before, after)] == [RunState.FINISHED] * 2
    state, error = last_state(stuck)
    assert state == RunState.FAILED and "took more than 2 s to start" in (error or ""), error
    state, error = last_state(crash)
    assert state == RunState.FAILED and error is not None
    assert f"exited with status 7 on record 5 (id 4, record id {data.record_ids[4]})" in error, error
