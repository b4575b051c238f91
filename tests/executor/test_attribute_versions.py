"""Calculated attribute values versioned per run (shared_model.attribute_values, migration 0021): a run's values are
unseen until its one short switch, a failing run leaves the previous values, a run that dies while copying the
current version into the records is resumed, garbage is collected."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from executor.jobs import HANDLERS
from shared_model import attribute_values, jobs
from shared_model.db import session_scope
from shared_model.models import Attribute, AttributeState, DataType, Job, JobState, Record

from .factory import add_records, new_project

RECORDS = 230
CHUNK = 40  # values per chunk in these tests: several chunks per run


def _values(project_id: uuid.UUID) -> dict[int, Any]:
    with session_scope() as session:
        rows = session.execute(select(Record.id, Record.data["calc"]).where(Record.project_id == project_id)).all()
    return {int(i): v for i, v in rows}


def _run(attribute_id: uuid.UUID, project_id: uuid.UUID, code: str) -> Job:
    with session_scope() as session:
        attribute = session.get(Attribute, attribute_id)
        assert attribute is not None
        attribute.source_code = code
        attribute.state = AttributeState.RUNNING
        jobs.enqueue(
            session,
            kind="attribute_calculation",
            owner_service="versions-test",
            project_id=project_id,
            parameters={"attribute_id": str(attribute_id)},
        )
    worker = jobs.JobWorker("versions-test", HANDLERS)
    claimed = jobs.claim("versions-test", ["attribute_calculation"], worker.name)
    assert claimed is not None
    worker.run_job(claimed)
    return jobs.wait_for_job(claimed.id, 5)


@pytest.fixture
def calc(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> tuple[uuid.UUID, uuid.UUID, list[int]]:
    monkeypatch.setattr(attribute_values, "CHUNK_VALUES", CHUNK)
    data = add_records(new_project("attribute versions"), [f"r{i}" for i in range(RECORDS)])
    with session_scope() as session:
        attribute = Attribute(
            project_id=data.project_id,
            name="calc",
            data_type=DataType.TEXT,
            relative_position=2,
            user_created=True,
            state=AttributeState.INITIAL,
        )
        session.add(attribute)
        session.flush()
        attribute_id = attribute.id
    return data.project_id, attribute_id, data.record_ids


def test_values_unseen_until_the_switch_then_current(
    calc: tuple[uuid.UUID, uuid.UUID, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id, attribute_id, ids = calc
    first = _run(attribute_id, project_id, 'def ac(record):\n    return record["text"].text + "-v1"\n')
    assert first.state == JobState.DONE, first.error
    assert _values(project_id) == {i: f"r{n}-v1" for n, i in enumerate(ids)}
    assert first.result and first.result["chunks"] == -(-RECORDS // CHUNK) and first.result["longest_chunk_s"] < 2
    assert attribute_values.chunk_count(attribute_id) == 0  # copied into the records: collected

    seen_at_switch: dict[str, Any] = {}
    real_switch: Callable[..., None] = attribute_values.switch_version

    def observing_switch(session: Any, attribute: uuid.UUID, version: uuid.UUID) -> None:
        seen_at_switch["chunks"] = attribute_values.chunk_count(attribute, version)
        seen_at_switch["values"] = _values(project_id)  # another transaction: what readers see just before
        real_switch(session, attribute, version)

    monkeypatch.setattr(attribute_values, "switch_version", observing_switch)
    second = _run(attribute_id, project_id, 'def ac(record):\n    return record["text"].text + "-v2"\n')
    assert second.state == JobState.DONE, second.error
    assert seen_at_switch["chunks"] == -(-RECORDS // CHUNK)  # every value written before the switch ...
    assert set(seen_at_switch["values"].values()) == {f"r{n}-v1" for n in range(RECORDS)}  # ... and none seen
    assert _values(project_id) == {i: f"r{n}-v2" for n, i in enumerate(ids)}
    assert attribute_values.current_version(attribute_id) == (second.id, None)


def test_a_failing_run_keeps_the_previous_values_and_its_chunks_are_collected(
    calc: tuple[uuid.UUID, uuid.UUID, list[int]],
) -> None:
    project_id, attribute_id, ids = calc
    assert _run(attribute_id, project_id, 'def ac(record):\n    return record["text"].text + "-v1"\n').state == JobState.DONE
    last = f"r{RECORDS - 1}"
    failing = _run(
        attribute_id,
        project_id,
        f'def ac(record):\n    if record["text"].text == "{last}":\n        raise ValueError("boom")\n    return "new"\n',
    )
    assert failing.state == JobState.FAILED and "boom" in (failing.error or "")
    assert attribute_values.chunk_count(attribute_id, failing.id) >= 1  # it had written chunks before it failed
    assert _values(project_id) == {i: f"r{n}-v1" for n, i in enumerate(ids)}  # none of them is seen
    with session_scope() as session:
        attribute = session.get(Attribute, attribute_id)
        assert attribute is not None and attribute.state == AttributeState.FAILED
    third = _run(attribute_id, project_id, 'def ac(record):\n    return "v3"\n')
    assert third.state == JobState.DONE, third.error
    assert attribute_values.chunk_count(attribute_id, failing.id) == 0  # the dead run's chunks: garbage
    assert set(_values(project_id).values()) == {"v3"}


def test_a_run_that_dies_while_copying_is_resumed(
    calc: tuple[uuid.UUID, uuid.UUID, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id, attribute_id, ids = calc
    assert _run(attribute_id, project_id, 'def ac(record):\n    return "old"\n').state == JobState.DONE
    real_materialize = attribute_values.materialize

    def dies_after_one_chunk(attribute: uuid.UUID, progress: Callable[[int], None] | None = None) -> int:
        def die(n: int) -> None:
            raise RuntimeError("process died")

        return real_materialize(attribute, progress=die)

    monkeypatch.setattr(attribute_values, "materialize", dies_after_one_chunk)
    dead = _run(attribute_id, project_id, 'def ac(record):\n    return "new"\n')
    monkeypatch.setattr(attribute_values, "materialize", real_materialize)
    assert dead.state == JobState.FAILED
    current = attribute_values.current_version(attribute_id)
    assert current is not None and current[0] == dead.id and current[1] is not None  # switched, copy unfinished
    assert sorted(_values(project_id).values()).count("new") == CHUNK
    # the next calculation of the attribute first finishes the copy (then runs its own)
    assert attribute_values.materialize(attribute_id) == -(-RECORDS // CHUNK) - 1
    assert set(_values(project_id).values()) == {"new"}
    assert attribute_values.current_version(attribute_id) == (dead.id, None)
    assert attribute_values.collect_garbage(attribute_id) == -(-RECORDS // CHUNK)
