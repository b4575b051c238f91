"""Attribute calculations as partitions (``executor.partition_runners.run_partitioned``, the driver of labeling-function
partitions) on the local pool and on a real two-node Ray cluster, over 10,000 records: the stored values equal a
one-pass run's exactly; a value that raises or has the wrong type fails the run with the one-pass run's reason (naming
the record); progress counts finished partitions; a cancel or the time limit ends the run; a node removed mid-run
still ends correct."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text, update

from executor.jobs import HANDLERS
from shared_model import attribute_values
from shared_model.db import session_scope
from shared_model.jobs import JobCancelled, JobContext, JobFailed, enqueue
from shared_model.models import Attribute, AttributeState, DataType, Job, Record
from shared_model.settings import get_settings

from ..ray_clusters import local_cluster

pytestmark = pytest.mark.timeout(900)

N = 10_000
TOPICS = ["sports", "finance", "music", "travel"]
# text values, some missing (None), the record's own text reversed: a value per record that depends on its data
CALC = (
    'def ac(record):\n    i = record["id"]\n    if i % 11 == 0:\n        return None\n'
    "    return f\"{i % 97}:{record['text'].text[::-1]}\"\n"
)
RAISES = 'def ac(record):\n    if record["id"] == 7_321:\n        raise ValueError("boom at 7321")\n    return "x"\n'
WRONG_TYPE = 'def ac(record):\n    return {"no": 1} if record["id"] % 1_000 == 999 else "x"\n'
SLOW = "import time\n\ndef ac(record):\n    time.sleep(0.002)\n    return f\"slow {record['id']}\"\n"


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


@pytest.fixture()
def world(clean_db: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A project of N records (``id``, ``text``) and its calculated TEXT attribute ``calc``."""
    from .factory import new_project

    project_id = new_project("attribute partitions")
    with session_scope() as session:
        session.add(
            Attribute(project_id=project_id, name="id", data_type=DataType.INTEGER, is_primary_key=True, relative_position=0)
        )
        session.add(Attribute(project_id=project_id, name="text", data_type=DataType.TEXT, relative_position=1))
        calc = Attribute(
            project_id=project_id,
            name="calc",
            data_type=DataType.TEXT,
            relative_position=2,
            user_created=True,
            state=AttributeState.INITIAL,
        )
        session.add(calc)
        session.flush()
        session.execute(
            text(
                "INSERT INTO record (project_id, data) SELECT :p, jsonb_build_object('id', g, 'text', 'record ' || g"
                " || ' is about ' || (ARRAY['sports','finance','music','travel'])[1 + g % 4]) FROM generate_series(1, :n) g"
            ),
            {"p": project_id, "n": N},
        )
        return project_id, calc.id


def mode(monkeypatch: pytest.MonkeyPatch, *, partitions: bool, records: int = 1_000, ray_address: str = "") -> None:
    monkeypatch.setenv("REFINERY_EXECUTOR_PARTITIONS", "true" if partitions else "false")
    monkeypatch.setenv("REFINERY_RAY_ADDRESS", ray_address)
    monkeypatch.setenv("REFINERY_EXECUTOR_PARTITION_RECORDS", str(records))
    monkeypatch.setenv("REFINERY_EXECUTOR_WORKERS", "2")
    get_settings.cache_clear()


def queue(world: tuple[uuid.UUID, uuid.UUID], code: str) -> Job:
    project_id, attribute_id = world
    with session_scope() as session:
        attribute = session.get(Attribute, attribute_id)
        assert attribute is not None
        attribute.source_code = code
        job = enqueue(
            session,
            kind="attribute_calculation",
            owner_service="in-process-test",
            project_id=project_id,
            parameters={"attribute_id": str(attribute_id)},
        )
        session.flush()
        session.expunge(job)
        return job


def calculate(world: tuple[uuid.UUID, uuid.UUID], code: str) -> tuple[dict[str, Any] | None, BaseException | None]:
    try:
        return HANDLERS["attribute_calculation"](JobContext(queue(world, code), min_interval_s=0.0)), None
    except Exception as exc:  # noqa: BLE001 - compared by the test
        return None, exc


def values(project_id: uuid.UUID) -> dict[int, Any]:
    """Each record's stored value (records without one left out)."""
    with session_scope() as session:
        rows = session.execute(
            select(Record.id, Record.data["calc"]).where(Record.project_id == project_id, Record.data.has_key("calc"))
        ).all()
    return {int(i): v for i, v in rows}


def attribute_state(attribute_id: uuid.UUID) -> tuple[AttributeState, list[str]]:
    with session_scope() as session:
        attribute = session.get(Attribute, attribute_id)
        assert attribute is not None
        return attribute.state, list(attribute.logs or [])


def one_pass(monkeypatch: pytest.MonkeyPatch, world: tuple[uuid.UUID, uuid.UUID], code: str) -> dict[int, Any]:
    mode(monkeypatch, partitions=False)
    result, error = calculate(world, code)
    assert error is None and result is not None and "partitions" not in result
    return values(world[0])


def test_local_partitions_store_exactly_the_values_of_one_pass(
    world: tuple[uuid.UUID, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id, attribute_id = world
    monkeypatch.setattr(attribute_values, "CHUNK_VALUES", 700)  # chunks that straddle the partitions
    expected = one_pass(monkeypatch, world, CALC)
    assert len(expected) == N - N // 11 and "10:cisum tuoba si 01 drocer" in expected.values()
    with session_scope() as session:  # the next run must write every value itself
        session.execute(text("UPDATE record SET data = data - 'calc' WHERE project_id = :p"), {"p": project_id})
    messages: list[str] = []
    original = JobContext.progress

    def progress(self: JobContext, fraction: float, message: str | None = None, *, force: bool = False) -> None:
        messages.append(message or "")
        original(self, fraction, message, force=force)

    monkeypatch.setattr(JobContext, "progress", progress)
    mode(monkeypatch, partitions=True)
    result, error = calculate(world, CALC)
    assert error is None and result is not None
    assert result["partitions"]["partitions"] == 10 and result["partitions"]["runner"] == "local"
    assert values(project_id) == expected
    assert attribute_state(attribute_id)[0] == AttributeState.USABLE
    counted = [m for m in messages if m.endswith(" partitions")]
    assert counted[-1] == "10/10 partitions" and len(counted) == 10


@pytest.mark.parametrize("code", [RAISES, WRONG_TYPE], ids=["raises", "wrong-type"])
def test_a_failing_value_fails_the_partitioned_run_as_one_pass_does(
    world: tuple[uuid.UUID, uuid.UUID], monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    project_id, attribute_id = world
    mode(monkeypatch, partitions=False)
    _, expected = calculate(world, code)
    assert isinstance(expected, JobFailed)
    named = "boom at 7321" if code == RAISES else "10 record(s) got values of the wrong type: record "
    assert named in str(expected)
    mode(monkeypatch, partitions=True)
    result, error = calculate(world, code)
    assert result is None and isinstance(error, JobFailed)
    assert str(error) == str(expected)
    assert attribute_state(attribute_id)[0] == AttributeState.FAILED
    assert values(project_id) == {}  # nothing stored


def test_a_cancel_ends_a_partitioned_calculation(world: tuple[uuid.UUID, uuid.UUID], monkeypatch: pytest.MonkeyPatch) -> None:
    project_id, attribute_id = world
    mode(monkeypatch, partitions=True, records=5_000)  # two partitions of ~10 s
    job = queue(world, SLOW)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            HANDLERS["attribute_calculation"](JobContext(job, min_interval_s=0.0))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    time.sleep(3.0)
    assert thread.is_alive()
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    asked = time.monotonic()
    thread.join(30)
    assert not thread.is_alive() and time.monotonic() - asked < 5.0
    assert isinstance(outcome.get("error"), JobCancelled)
    assert attribute_state(attribute_id)[0] == AttributeState.FAILED and values(project_id) == {}


def test_the_time_limit_fails_a_partitioned_calculation(
    world: tuple[uuid.UUID, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id, attribute_id = world
    mode(monkeypatch, partitions=True, records=5_000)  # two partitions of ~10 s
    started = time.monotonic()
    with pytest.raises(JobFailed, match="time limit of 3 s"):
        HANDLERS["attribute_calculation"](JobContext(queue(world, SLOW), min_interval_s=0.0, time_limit_s=3.0))
    assert time.monotonic() - started < 8.0
    state, logs = attribute_state(attribute_id)
    assert state == AttributeState.FAILED and "time limit" in logs[-1] and values(project_id) == {}


@pytest.fixture(scope="module")
def cluster(database_url: str) -> Iterator[tuple[Any, Any]]:
    pytest.importorskip("ray")
    with local_cluster({}) as (made, (worker,)):
        yield made, worker


def test_ray_partitions_store_exactly_the_values_of_one_pass(
    cluster: tuple[Any, Any], world: tuple[uuid.UUID, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id, attribute_id = world
    expected = one_pass(monkeypatch, world, CALC)
    with session_scope() as session:
        session.execute(text("UPDATE record SET data = data - 'calc' WHERE project_id = :p"), {"p": project_id})
    mode(monkeypatch, partitions=False, records=2_500, ray_address=cluster[0].address)
    result, error = calculate(world, CALC)
    assert error is None and result is not None
    timings = result["partitions"]
    assert timings["runner"] == "ray" and timings["partitions"] == 4 and timings["nodes"] == 2
    assert values(project_id) == expected
    _, failure = calculate(world, RAISES)  # a failing value on Ray: the run fails naming the record
    assert isinstance(failure, JobFailed) and "raised an error on record" in str(failure) and "boom at 7321" in str(failure)
    assert values(project_id) == expected  # the previous values stay


def test_a_node_removed_mid_calculation_still_ends_correct(
    cluster: tuple[Any, Any], world: tuple[uuid.UUID, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    from .test_ray_partitions import sandboxes

    project_id, attribute_id = world
    mode(monkeypatch, partitions=False, records=1_000, ray_address=cluster[0].address)  # ten partitions of ~2 s
    job = queue(world, SLOW)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = HANDLERS["attribute_calculation"](JobContext(job, min_interval_s=0.0))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    made, worker = cluster
    raylet = next(process for kind, process in worker.live_processes() if kind == "raylet")
    deadline = time.monotonic() + 120
    while not sandboxes(under=raylet.pid):  # the second node is running a partition
        assert thread.is_alive(), outcome
        assert time.monotonic() < deadline, "the second node ran no partition"
        time.sleep(0.05)
    made.remove_node(worker)  # its partition dies with it, and is retried on the head
    thread.join(300)
    assert not thread.is_alive() and "error" not in outcome, outcome
    assert [n["Alive"] for n in ray.nodes()].count(True) == 1
    with session_scope() as session:
        pairs = session.execute(
            text("SELECT data->>'calc', data->>'id' FROM record WHERE project_id = :p"), {"p": project_id}
        ).all()
    assert len(pairs) == N and all(calc == f"slow {i}" for calc, i in pairs)  # every value, the right one
    assert outcome["result"]["partitions"]["partitions"] == 10
    assert attribute_state(attribute_id)[0] == AttributeState.USABLE
