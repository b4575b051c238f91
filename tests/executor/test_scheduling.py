"""The executor's scheduling pieces in-process: the interactive pool, its memory share, run time limits."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from executor.interactive import InteractivePool, interactive_limits
from executor.sandbox.backends import Limits
from executor.scheduling import job_time_limit, runs_per_project, within_time_limit
from shared_model.jobs import JobContext, JobTimedOut
from shared_model.models import Job
from shared_model.run_limits import project_run_time_limit, run_time_limit_problem
from shared_model.service.errors import ProblemError
from shared_model.settings import get_settings

from .factory import new_project


@pytest.fixture()
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set REFINERY_ variables for one test (the settings cache is cleared before and after)."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_a_full_pool_answers_429_with_retry_after_at_once() -> None:
    pool = InteractivePool(2, "REFINERY_EXECUTOR_INTERACTIVE_POOL")
    inside = threading.Barrier(3)
    leave = threading.Event()

    def hold() -> None:
        with pool.slot("run on sample"):
            inside.wait()
            leave.wait(10)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    inside.wait()
    started = time.monotonic()
    with pytest.raises(ProblemError) as refused:
        with pool.slot("run on sample"):
            pytest.fail("a third call ran while both places were taken")
    assert time.monotonic() - started < 0.5
    assert refused.value.status == 429
    assert int(refused.value.headers["Retry-After"]) >= 1
    assert "all 2 interactive sandboxes are busy (REFINERY_EXECUTOR_INTERACTIVE_POOL)" in refused.value.detail
    leave.set()
    for thread in holders:
        thread.join()
    assert pool.busy == 0
    with pool.slot("run on sample"):  # places are given back
        assert pool.busy == 1


def test_each_interactive_sandbox_gets_its_share_of_the_memory(settings: pytest.MonkeyPatch) -> None:
    settings.setenv("REFINERY_EXECUTOR_INTERACTIVE_POOL", "4")
    settings.setenv("REFINERY_EXECUTOR_INTERACTIVE_MEMORY_MB", "2048")
    get_settings.cache_clear()
    assert interactive_limits(Limits(memory_mb=4096)).memory_mb == 512  # 4 x 512 <= 2048
    assert interactive_limits(Limits(memory_mb=300)).memory_mb == 300  # a smaller project limit stays


def test_one_project_leaves_a_place_to_others(settings: pytest.MonkeyPatch) -> None:
    settings.setenv("REFINERY_EXECUTOR_RUN_CONCURRENCY", "4")
    get_settings.cache_clear()
    assert runs_per_project() == 3
    settings.setenv("REFINERY_EXECUTOR_RUN_CONCURRENCY", "1")
    get_settings.cache_clear()
    assert runs_per_project() == 1


def test_a_project_time_limit_within_the_maximum(clean_db: str, settings: pytest.MonkeyPatch) -> None:
    settings.setenv("REFINERY_RUN_TIME_LIMIT_MAX_S", "100")
    settings.setenv("REFINERY_RUN_TIME_LIMIT_DEFAULT_S", "60")
    get_settings.cache_clear()
    assert run_time_limit_problem(100) is None
    assert "maximum of 100 s" in (run_time_limit_problem(101) or "")
    assert project_run_time_limit({}) == 60
    assert project_run_time_limit({"run_time_limit_s": 5}) == 5
    assert project_run_time_limit({"run_time_limit_s": 500}) == 100  # the maximum was lowered since
    project = new_project("limited", settings={"run_time_limit_s": 7})
    assert job_time_limit(Job(kind="heuristic_run", owner_service="executor", project_id=project)) == 7
    assert job_time_limit(Job(kind="heuristic_run", owner_service="executor", project_id=uuid.uuid4())) == 60


def test_the_sandbox_wall_time_ends_with_the_run_time_limit() -> None:
    job = Job(id=uuid.uuid4(), kind="heuristic_run", owner_service="executor")
    ctx = JobContext(job, time_limit_s=10.0)
    limits = within_time_limit(Limits(wall_time_s=3600.0), ctx)
    assert 10.0 <= limits.wall_time_s <= 11.0
    assert within_time_limit(Limits(wall_time_s=5.0), ctx).wall_time_s == 5.0  # a smaller limit stays
    late = JobContext(job, time_limit_s=1.0, started=time.monotonic() - 2)
    with pytest.raises(JobTimedOut, match="time limit of 1 s"):
        within_time_limit(Limits(), late)
