"""Heuristics of one run share a worker but not their state: each has its own globals and its own copy of the
project's lookup lists (real database, real bwrap sandbox, the job handler in this process)."""

from __future__ import annotations

import pytest

from .factory import Data, add_lookup_list
from .test_full_runs import TEXTS, create, data, full_run, job_module, results

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
