"""Heuristic votes as chunks of arrays (migration 0005): stored, read, checked, cleaned up after record deletes.

One module (over 400 lines): every test builds its world with the same helpers (``world``, ``votes``, ``store``)
against one migration's tables and triggers."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg2
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shared_model.db import get_engine, new_session, session_scope
from shared_model.heuristic_results import (
    CHUNK_IDS,
    ResultBuffer,
    delete_results,
    record_votes,
    result_count,
    result_counts,
    store_results,
    store_session_results,
)
from shared_model.models import (
    HeuristicType,
    InformationSource,
    Label,
    LabelingTask,
    Project,
    Record,
    RecordLabelAssociation,
    ReturnType,
    SourceType,
    TaskTarget,
    TaskType,
)
from tests.weak_supervisor.fixtures import Built, build_task


def world(n_records: int = 6, task_type: TaskType = TaskType.MULTICLASS_CLASSIFICATION) -> Built:
    return build_task(task_type, ["pos", "neg"], n_records, {"lf": [], "other": []})


def votes(built: Built) -> list[tuple[Any, ...]]:
    """(record id, label, heuristic, start, end, confidence) of every vote of the built task, sorted."""
    names = {v: k for k, v in built.labels.items()}
    sources = {v: k for k, v in built.sources.items()}
    with session_scope() as session:
        rows = session.execute(
            text(
                "SELECT record_id, label_id, source_id, token_start, token_end, confidence FROM heuristic_association"
                " WHERE labeling_task_id = :t"
            ),
            {"t": built.task_id},
        ).all()
    return sorted((r[0], names[r[1]], sources[r[2]], r[3], r[4], round(r[5], 6)) for r in rows)


def store(built: Built, buffer: ResultBuffer, source: str = "lf") -> None:
    with session_scope() as session:
        store_session_results(session, built.project_id, built.task_id, built.sources[source], buffer)


def test_the_migrated_database_has_the_triggers_and_the_view(clean_db: str) -> None:
    with get_engine().connect() as conn:
        triggers = set(conn.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
        views = set(conn.scalars(text("SELECT viewname FROM pg_views WHERE schemaname = current_schema()")))
    assert {
        "heuristic_result_check_insert",
        "heuristic_result_check_update",
        "record_deletes_heuristic_results",
        "record_truncates_heuristic_results",
    } <= triggers
    assert "heuristic_association" in views


def test_votes_are_stored_as_chunks_and_read_back_one_per_row(clean_db: str) -> None:
    built = world()
    r = built.records
    buffer = ResultBuffer()
    buffer.add_records(built.labels["pos"], [r[0], r[1]])
    buffer.add(r[2], built.labels["neg"])
    buffer.add(r[3], built.labels["neg"], confidence=0.25)  # the label's earlier votes get 1.0
    assert len(buffer) == 4
    store(built, buffer)
    with session_scope() as session:
        chunks = session.execute(text("SELECT cardinality(record_ids), confidences FROM heuristic_result ORDER BY 1")).all()
        assert result_count(session, built.sources["lf"]) == 4
        assert result_counts(session, label_id=built.labels["neg"]) == 2
        assert result_counts(session, task_id=built.task_id) == 4
        on_record = record_votes(session, built.project_id, r[3])
    assert chunks == [(2, None), (2, [1.0, 0.25])]
    assert votes(built) == [
        (r[0], "pos", "lf", None, None, 1.0),
        (r[1], "pos", "lf", None, None, 1.0),
        (r[2], "neg", "lf", None, None, 1.0),
        (r[3], "neg", "lf", None, None, 0.25),
    ]
    assert [(v["label_id"], v["confidence"], v["position"]) for v in on_record] == [(built.labels["neg"], 0.25, 2)]
    with session_scope() as session:
        delete_results(session, built.sources["lf"])
    assert votes(built) == []


def test_spans_and_big_buffers_are_split_into_chunks(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    built = world(task_type=TaskType.INFORMATION_EXTRACTION)
    r = built.records
    monkeypatch.setattr("shared_model.heuristic_results.CHUNK_IDS", 2)
    buffer = ResultBuffer()
    for i, record_id in enumerate(r[:5]):
        buffer.add(record_id, built.labels["pos"], i, i + 2)
    with pytest.raises(ValueError, match="with and without spans"):
        buffer.add(r[0], built.labels["pos"])
    store(built, buffer)
    with session_scope() as session:
        assert session.scalar(text("SELECT count(*) FROM heuristic_result")) == 3
    assert votes(built) == [(record_id, "pos", "lf", i, i + 2, 1.0) for i, record_id in enumerate(r[:5])]
    assert CHUNK_IDS == 100_000


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("missing record", "names record 999999999, which does not exist"),
        ("record of another project", "belongs to another project"),
        ("label of another task", "its label belongs to another labeling task"),
        ("heuristic of another task", "its heuristic belongs to another labeling task"),
        ("empty span", "invalid span"),
        ("negative span", "invalid span"),
    ],
)
def test_a_chunk_naming_a_missing_or_foreign_row_stores_nothing(clean_db: str, what: str, message: str) -> None:
    built, other = world(), world()
    buffer = ResultBuffer()
    buffer.add_records(built.labels["pos"], built.records[:3])
    source, label = built.sources["lf"], built.labels["neg"]
    bad = ResultBuffer()
    if what == "missing record":
        bad.add(999_999_999, label)
    elif what == "record of another project":
        bad.add(other.records[0], label)
    elif what == "label of another task":
        bad.add(built.records[0], other.labels["pos"])
    elif what == "heuristic of another task":
        bad.add(built.records[0], label)
        source = other.sources["lf"]
    elif what == "empty span":
        bad.add(built.records[0], label, 2, 2)
    else:
        bad.add(built.records[0], label, -1, 2)
    with pytest.raises(psycopg2.IntegrityError, match=message), session_scope() as session:
        store_session_results(session, built.project_id, built.task_id, built.sources["lf"], buffer)
        store_session_results(session, built.project_id, built.task_id, source, bad)
    assert votes(built) == []  # nothing of the transaction


def test_deleting_records_removes_them_from_the_arrays(clean_db: str) -> None:
    built = world(100, TaskType.INFORMATION_EXTRACTION)
    r = built.records
    buffer = ResultBuffer()
    for i, record_id in enumerate(r):
        buffer.add(record_id, built.labels["pos" if i % 2 else "neg"], i % 7, i % 7 + 1, confidence=i / 100)
    store(built, buffer)
    only = ResultBuffer()
    only.add(r[0], built.labels["neg"], 0, 3)
    store(built, only, "other")
    expected = votes(built)
    with session_scope() as session:  # few records: found by array overlap; the "other" chunk empties and goes
        session.execute(text("DELETE FROM record WHERE id = ANY(:ids)"), {"ids": [r[0], r[5]]})
    expected = [v for v in expected if v[0] not in (r[0], r[5])]
    assert votes(built) == expected
    with session_scope() as session:
        left = session.scalar(text("SELECT count(*) FROM heuristic_result WHERE source_id = :s"), {"s": built.sources["other"]})
    assert left == 0
    many = r[10:90]  # more than 64: found by a hash join
    with session_scope() as session:
        session.execute(text("DELETE FROM record WHERE id = ANY(:ids)"), {"ids": many})
    assert votes(built) == [v for v in expected if v[0] not in many]


def test_deleting_labels_heuristics_tasks_and_projects_cascades(clean_db: str) -> None:
    built, kept = world(), world()
    for w in (built, kept):
        for source in ("lf", "other"):
            buffer = ResultBuffer()
            buffer.add_records(w.labels["pos"], w.records[:3])
            buffer.add_records(w.labels["neg"], w.records[3:])
            store(w, buffer, source)

    def count(where: str, value: Any) -> int:
        with session_scope() as session:
            return int(session.scalar(text(f"SELECT count(*) FROM heuristic_association WHERE {where} = :v"), {"v": value}))

    with session_scope() as session:
        session.execute(text("DELETE FROM label WHERE id = :id"), {"id": built.labels["neg"]})
    assert count("project_id", built.project_id) == 6
    with session_scope() as session:
        session.execute(text("DELETE FROM information_source WHERE id = :id"), {"id": built.sources["lf"]})
    assert count("project_id", built.project_id) == 3
    with session_scope() as session:
        session.execute(text("DELETE FROM labeling_task WHERE id = :id"), {"id": built.task_id})
    assert count("project_id", built.project_id) == 0 and count("project_id", kept.project_id) == 12
    with session_scope() as session:
        session.execute(text("DELETE FROM project WHERE id = :id"), {"id": kept.project_id})
    with session_scope() as session:
        assert session.scalar(text("SELECT count(*) FROM heuristic_result")) == 0


def test_replacing_results_while_a_record_they_name_is_deleted_does_not_deadlock(clean_db: str) -> None:
    """delete_results takes the project's lock before the chunks: the record delete (which takes it exclusively, then
    rewrites chunks) waits for the run, which then stores and commits."""
    built = world()
    r, pos, source = built.records, built.labels["pos"], built.sources["lf"]
    old = ResultBuffer()
    old.add_records(pos, r)
    store(built, old)
    errors: list[BaseException] = []
    writer = new_session()
    try:
        delete_results(writer, source)

        def delete_record() -> None:
            try:
                with session_scope() as session:
                    session.execute(text("DELETE FROM record WHERE id = :r"), {"r": r[0]})
            except BaseException as exc:  # noqa: BLE001 - inspected below
                errors.append(exc)

        deleter = threading.Thread(target=delete_record)
        deleter.start()
        time.sleep(0.5)
        new = ResultBuffer()
        new.add_records(pos, r)
        store_session_results(writer, built.project_id, built.task_id, source, new)
        writer.commit()
        deleter.join(15)
    finally:
        writer.close()
    assert not errors, errors
    assert [v[0] for v in votes(built)] == r[1:]  # the delete ran after the commit and took its record along


def test_a_record_is_looked_up_in_the_chunks_whose_range_holds_it(clean_db: str) -> None:
    built = world(40)
    r, pos = built.records, built.labels["pos"]
    for part in (r[:10], r[10:20], r[20:]):  # three chunks with disjoint ranges, as a run stores them
        buffer = ResultBuffer()
        buffer.add_records(pos, part)
        store(built, buffer)
    with session_scope() as session:
        ranges = session.execute(text("SELECT first_record_id, last_record_id FROM heuristic_result ORDER BY 1")).all()
        plan = "\n".join(
            session.scalars(
                text(
                    "EXPLAIN SELECT id FROM heuristic_result WHERE project_id = :p AND first_record_id <= :r"
                    " AND last_record_id >= :r"
                ),
                {"p": built.project_id, "r": r[15]},
            )
        )
        found = record_votes(session, built.project_id, r[15])
    assert ranges == [(r[0], r[9]), (r[10], r[19]), (r[20], r[39])]
    assert [v["position"] for v in found] == [6]
    assert "heuristic_result" in plan
    with session_scope() as session:  # a cleanup keeps the range columns right
        session.execute(text("DELETE FROM record WHERE id = ANY(:ids)"), {"ids": [r[10], r[19]]})
        ranges = session.execute(text("SELECT first_record_id, last_record_id FROM heuristic_result ORDER BY 1")).all()
    assert ranges == [(r[0], r[9]), (r[11], r[18]), (r[20], r[39])]


def test_a_range_that_does_not_match_the_ids_is_refused(clean_db: str) -> None:
    built = world()
    conn = get_engine().raw_connection()
    try:
        with pytest.raises(psycopg2.errors.CheckViolation, match="outside its chunk's range"):
            conn.cursor().execute(
                "INSERT INTO heuristic_result (project_id, labeling_task_id, source_id, label_id, record_ids,"
                " first_record_id, last_record_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    str(built.project_id),
                    str(built.task_id),
                    str(built.sources["lf"]),
                    str(built.labels["pos"]),
                    built.records[:3],
                    built.records[1],
                    built.records[2],
                ),
            )
        conn.rollback()
        with pytest.raises(psycopg2.errors.CheckViolation, match="must be ids of the chunk"):
            conn.cursor().execute(
                "INSERT INTO heuristic_result (project_id, labeling_task_id, source_id, label_id, record_ids,"
                " first_record_id, last_record_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    str(built.project_id),
                    str(built.task_id),
                    str(built.sources["lf"]),
                    str(built.labels["pos"]),
                    [built.records[0], built.records[3]],
                    built.records[0] - 1,
                    built.records[3],
                ),
            )
    finally:
        conn.rollback()
        conn.close()


def test_spans_beyond_int32_are_refused_by_the_buffer() -> None:
    with pytest.raises(ValueError, match="beyond 2"):
        ResultBuffer().add(1, uuid.uuid4(), 0, 2**31)


def test_a_record_deleted_while_votes_for_it_are_stored_waits_then_takes_them_along(clean_db: str) -> None:
    built = world()
    target = built.records[0]
    writer = get_engine().raw_connection()
    try:
        buffer = ResultBuffer()
        buffer.add_records(built.labels["pos"], built.records[:2])
        store_results(writer.cursor(), built.project_id, built.task_id, built.sources["lf"], buffer)
        deleted = threading.Event()

        def delete_record() -> None:
            with session_scope() as session:
                session.execute(text("DELETE FROM record WHERE id = :r"), {"r": target})
            deleted.set()

        deleter = threading.Thread(target=delete_record)
        deleter.start()
        assert not deleted.wait(1.0)  # the writer's lock on the project holds the delete
        writer.commit()
        deleter.join(10)
        assert deleted.is_set()
    finally:
        writer.close()
    assert [v[0] for v in votes(built)] == [built.records[1]]


def test_votes_for_a_record_being_deleted_wait_then_fail(clean_db: str) -> None:
    built = world()
    target = built.records[0]
    deleter = get_engine().raw_connection()
    try:
        deleter.cursor().execute("DELETE FROM record WHERE id = %s", (target,))
        failure: list[BaseException] = []

        def write() -> None:
            try:
                buffer = ResultBuffer()
                buffer.add(target, built.labels["pos"])
                store(built, buffer)
            except BaseException as exc:  # noqa: BLE001 - inspected below
                failure.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(1.0)
        assert writer.is_alive()
        deleter.commit()
        writer.join(10)
    finally:
        deleter.close()
    assert failure and isinstance(failure[0], psycopg2.IntegrityError) and "does not exist" in str(failure[0])
    assert votes(built) == []


def test_record_deletes_under_repeatable_read_are_refused_and_truncate_empties(clean_db: str) -> None:
    built = world()
    buffer = ResultBuffer()
    buffer.add_records(built.labels["pos"], built.records)
    store(built, buffer)
    with pytest.raises(OperationalError, match="needs READ COMMITTED"), session_scope() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        session.execute(text("DELETE FROM record WHERE id = :r"), {"r": built.records[0]})
    with session_scope() as session:
        session.execute(text("TRUNCATE record CASCADE"))
    assert votes(built) == []


def test_record_label_association_refuses_heuristic_rows(clean_db: str) -> None:
    built = world()
    conn = get_engine().raw_connection()
    try:
        with pytest.raises(psycopg2.errors.CheckViolation, match="no_heuristic_rows"):
            conn.cursor().execute(
                "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id,"
                " source_type, source_id, return_type, is_gold_star, is_valid_manual_label)"
                " VALUES (gen_random_uuid(), %s, %s, %s, %s, 'INFORMATION_SOURCE', %s, 'RETURN', false, false)",
                (str(built.project_id), built.records[0], str(built.task_id), str(built.labels["pos"]), str(built.sources["lf"])),
            )
    finally:
        conn.rollback()
        conn.close()


def test_upgrade_moves_heuristic_rows_into_chunks_and_downgrade_moves_them_back(scratch_database: tuple[str, Engine]) -> None:
    """On a database of its own: heuristic rows written at 0004 become chunks, and come back on a downgrade."""
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    rows = (
        "SELECT record_id, label_id::text, source_id::text, token_start, token_end, coalesce(confidence, 1.0),"
        " return_type FROM record_label_association WHERE source_type = 'INFORMATION_SOURCE' ORDER BY 1, 4, 2"
    )
    upgrade(url, "0004")
    with Session(engine) as session, session.begin():  # the models equal the 0004 schema for these tables
        project = Project(name="p", tokenizer="en")
        session.add(project)
        session.flush()
        task = LabelingTask(
            project_id=project.id,
            name="t",
            task_target=TaskTarget.ON_WHOLE_RECORD,
            task_type=TaskType.INFORMATION_EXTRACTION,
        )
        session.add(task)
        session.flush()
        label = Label(project_id=project.id, labeling_task_id=task.id, name="x")
        source = InformationSource(
            project_id=project.id, labeling_task_id=task.id, type=HeuristicType.LABELING_FUNCTION, name="lf"
        )
        record_rows = [Record(project_id=project.id, data={}) for _ in range(3)]
        session.add_all([label, source, *record_rows])
        session.flush()
        records = [r.id for r in record_rows]
        for record_id, start, confidence in [(records[0], 0, None), (records[0], 3, 0.5), (records[2], 1, 1.0)]:
            session.add(
                RecordLabelAssociation(
                    project_id=project.id,
                    record_id=record_id,
                    labeling_task_id=task.id,
                    label_id=label.id,
                    source_type=SourceType.INFORMATION_SOURCE,
                    source_id=source.id,
                    return_type=ReturnType.YIELD,
                    confidence=confidence,
                    token_start=start,
                    token_end=start + 2,
                )
            )
    with engine.connect() as conn:
        before = conn.execute(text(rows)).all()
    upgrade(url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM heuristic_result")) == 1
        assert conn.scalar(text("SELECT count(*) FROM record_label_association")) == 0
        moved = conn.execute(
            text("SELECT record_id, token_start, token_end, confidence FROM heuristic_association ORDER BY 1, 2")
        ).all()
    assert moved == [(records[0], 0, 2, 1.0), (records[0], 3, 5, 0.5), (records[2], 1, 3, 1.0)]
    command.downgrade(alembic_config(url), "0004")
    with engine.connect() as conn:
        assert conn.execute(text(rows)).all() == before
    upgrade(url)
