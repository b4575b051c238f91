"""``./start --ray`` end to end: a local Ray head of its own, the platform's health shows it, a labeling-function run
queued for the platform's executor runs as partitions on it, and ``./stop`` ends the head (its process group, nothing
else)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import text

from shared_model.db import session_scope
from shared_model.jobs import enqueue, wait_for_job
from shared_model.models import HeuristicRun, HeuristicType, InformationSource, JobState

from ..executor.factory import add_records, add_task, new_project
from .test_platform_scripts import Platform, platform  # noqa: F401 - the fixture

pytest.importorskip("ray")
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

LF = 'def lf(record):\n    return "even" if record["id"] % 2 == 0 else "odd"\n'


def _group_alive(group: int) -> list[psutil.Process]:
    alive = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except (psutil.Error, OSError):
            continue
    return alive


def _queue_run(records: int) -> tuple[uuid.UUID, uuid.UUID]:
    data = add_records(new_project("start --ray"), [f"record {i}" for i in range(records)])
    add_task(data, "kind", ["even", "odd"])
    with session_scope() as session:
        source = InformationSource(
            project_id=data.project_id,
            labeling_task_id=data.tasks["kind"],
            type=HeuristicType.LABELING_FUNCTION,
            name="parity",
            source_code=LF,
        )
        session.add(source)
        session.flush()
        run = HeuristicRun(project_id=data.project_id, source_id=source.id, source_code=LF)
        session.add(run)
        session.flush()
        job = enqueue(
            session,
            kind="heuristic_run",
            owner_service="executor",
            project_id=data.project_id,
            parameters={"run_ids": [str(run.id)]},
        )
        run.job_id = job.id
        return job.id, source.id


def test_start_ray_runs_partitions_on_its_own_head_and_stop_ends_it(platform: Platform) -> None:  # noqa: F811
    started = platform.run("start", "--ray", timeout=400)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "a local Ray head runs labeling-function partitions" in started.stdout
    group = int((platform.data_dir / "run" / "ray-head.pid").read_text())
    address = (platform.data_dir / "run" / "ray-head.address").read_text().strip()
    assert _group_alive(group)

    body: dict[str, Any] = httpx.get(platform.health_url, timeout=90).json()
    assert body["ray"]["address"] == address and body["ray"]["nodes_usable"] == 1, body.get("ray")

    job_id, source_id = _queue_run(300)  # the platform's executor claims it
    job = wait_for_job(job_id, 240)
    assert job.state == JobState.DONE, job.error
    assert job.result and job.result["timings"]["runner"] == "ray" and job.result["timings"]["nodes"] == 1, job.result
    with session_scope() as session:
        votes = session.execute(
            text(
                "SELECT l.name, count(*) FROM heuristic_association a JOIN label l ON l.id = a.label_id"
                " WHERE a.source_id = :s GROUP BY l.name"
            ),
            {"s": source_id},
        ).tuples()
        assert dict(votes.all()) == {"even": 150, "odd": 150}

    again = platform.run("start", "--ray", timeout=120)
    assert again.returncode == 0 and "already up" in again.stdout, again.stdout + again.stderr

    stopped = platform.run("stop", timeout=90)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "stopped the local Ray head" in stopped.stdout
    assert not _group_alive(group)
    assert not (platform.data_dir / "run" / "ray-head.pid").exists()
