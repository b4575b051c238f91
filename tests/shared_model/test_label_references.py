"""record_label_association's references are checked and cascaded set-wise by statement triggers (migration 0004).

Heuristic votes live in heuristic_result since 0005; these tests use MODEL_CALLBACK rows, which name a source too.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg2
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from shared_model.db import get_engine, session_scope
from shared_model.models import (
    HeuristicType,
    InformationSource,
    Label,
    LabelingTask,
    Project,
    Record,
    RecordLabelAssociation,
    SourceType,
    TaskTarget,
    TaskType,
)
from shared_model.models.base import Base
from tests.weak_supervisor.fixtures import build_task


@dataclass
class World:
    project_id: uuid.UUID
    task_id: uuid.UUID
    labels: list[uuid.UUID]
    source_id: uuid.UUID
    record_ids: list[int]


def make_world(n_records: int = 4) -> World:
    """A project with one task (labels pos, neg), one labeling function and ``n_records`` records; no associations."""
    built = build_task(TaskType.MULTICLASS_CLASSIFICATION, ["pos", "neg"], n_records, {"lf": []})
    return World(built.project_id, built.task_id, list(built.labels.values()), built.sources["lf"], built.records)


def association(world: World, record_id: int, label: int = 0, source: bool = True) -> RecordLabelAssociation:
    return RecordLabelAssociation(
        project_id=world.project_id,
        record_id=record_id,
        labeling_task_id=world.task_id,
        label_id=world.labels[label],
        source_type=SourceType.MODEL_CALLBACK if source else SourceType.MANUAL,
        source_id=world.source_id if source else None,
    )


def count(**where: object) -> int:
    query = select(func.count()).select_from(RecordLabelAssociation)
    for column, value in where.items():
        query = query.where(getattr(RecordLabelAssociation, column) == value)
    with session_scope() as session:
        return int(session.scalar(query) or 0)


def raw_connection() -> Any:
    """A pooled DB-API connection (``close`` gives it back to the pool)."""
    return get_engine().raw_connection()


def test_migrated_database_matches_the_models_and_has_no_label_foreign_keys(clean_db: str) -> None:
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        keys = inspect(conn).get_foreign_keys("record_label_association")
        triggers = set(conn.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
    assert diff == []
    assert [k["constrained_columns"] for k in keys] == [["created_by"]]
    assert {
        "rla_check_references_insert",
        "rla_check_references_update",
        "record_deletes_label_associations",
        "label_deletes_label_associations",
        "information_source_deletes_label_associations",
        "record_id_never_changes",
        "record_truncates_label_associations",
    } <= triggers


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"record_id": -5}, "names record -5, which does not exist"),
        ({"label_id": uuid.UUID(int=7)}, f"names label {uuid.UUID(int=7)}, which does not exist"),
        ({"source_id": uuid.UUID(int=9)}, f"names information source {uuid.UUID(int=9)}, which does not exist"),
        ({"record_id": "other project"}, "belongs to another project"),
        ({"label_id": "other task"}, "belongs to another labeling task or project"),
        ({"label_id": "other task", "labeling_task_id": "other task"}, "belongs to another labeling task or project"),
        ({"source_id": "other task"}, "belongs to another labeling task"),
    ],
)
def test_a_statement_naming_a_missing_or_foreign_row_stores_nothing(
    clean_db: str, change: dict[str, object], message: str
) -> None:
    world, other = make_world(), make_world()
    with session_scope() as session:
        session.add(association(world, world.record_ids[0]))
    good = [association(world, record_id) for record_id in world.record_ids[1:]]
    bad = association(world, world.record_ids[0], label=1)
    for column, value in change.items():
        replacement = {
            ("record_id", "other project"): other.record_ids[0],
            ("label_id", "other task"): other.labels[0],
            ("source_id", "other task"): other.source_id,
            ("labeling_task_id", "other task"): other.task_id,
        }.get((column, value), value)  # type: ignore[call-overload]
        setattr(bad, column, replacement)
    with pytest.raises(IntegrityError) as caught, session_scope() as session:
        session.add_all([*good, bad])  # one INSERT statement with several rows
    assert message in str(caught.value)
    assert count() == 1  # only the row stored before; nothing of the failed statement


def test_copy_and_update_are_checked(clean_db: str) -> None:
    world = make_world()
    conn = raw_connection()
    try:
        cursor = conn.cursor()
        lines = [
            f"{world.project_id}\t{record_id}\t{world.task_id}\t{world.labels[0]}\tMODEL_CALLBACK\t{world.source_id}\tRETURN\tf\tf\n"
            for record_id in [*world.record_ids, 10**12]
        ]
        with pytest.raises(psycopg2.errors.ForeignKeyViolation, match=f"record {10**12}, which does not exist"):
            cursor.copy_expert(
                "COPY record_label_association (project_id, record_id, labeling_task_id, label_id, source_type,"
                " source_id, return_type, is_gold_star, is_valid_manual_label) FROM STDIN",
                io.StringIO("".join(lines)),
            )
        conn.rollback()
    finally:
        conn.close()
    assert count() == 0
    with session_scope() as session:
        session.add(association(world, world.record_ids[0], source=False))
    with pytest.raises(IntegrityError, match="which does not exist"), session_scope() as session:
        session.execute(text("UPDATE record_label_association SET label_id = gen_random_uuid()"))
    assert count(label_id=world.labels[0]) == 1


def test_deleting_records_labels_sources_tasks_and_projects_cascades(clean_db: str) -> None:
    world, kept = make_world(6), make_world(2)
    with session_scope() as session:
        for w in (world, kept):
            session.add_all([association(w, r, label=i % 2) for i, r in enumerate(w.record_ids)])
            session.add_all([association(w, r, source=False) for r in w.record_ids])
    with session_scope() as session:  # in SQL: the database's cascades, not the ORM's
        session.execute(text("DELETE FROM record WHERE id = ANY(:ids)"), {"ids": world.record_ids[:2]})
    assert count(project_id=world.project_id) == 8
    with session_scope() as session:
        session.execute(text("DELETE FROM label WHERE id = :id"), {"id": world.labels[1]})
    assert count(project_id=world.project_id) == 6  # the two heuristic rows with label 1 of the remaining records
    with session_scope() as session:
        session.execute(text("DELETE FROM information_source WHERE id = :id"), {"id": world.source_id})
    assert count(project_id=world.project_id) == 4 and count(source_type=SourceType.MODEL_CALLBACK) == 2
    with session_scope() as session:
        session.execute(text("DELETE FROM labeling_task WHERE id = :id"), {"id": world.task_id})
    assert count(project_id=world.project_id) == 0
    assert count(project_id=kept.project_id) == 4
    with session_scope() as session:
        session.execute(text("DELETE FROM project WHERE id = :id"), {"id": kept.project_id})
    assert count() == 0


def test_ids_of_referenced_tables_never_change(clean_db: str) -> None:
    world = make_world()
    for statement in (
        "UPDATE record SET id = id + 1000 WHERE id = :r",
        "UPDATE label SET id = gen_random_uuid() WHERE id = :l",
        "UPDATE information_source SET id = gen_random_uuid() WHERE id = :s",
    ):
        with pytest.raises(IntegrityError, match="never changes"), session_scope() as session:
            session.execute(text(statement), {"r": world.record_ids[0], "l": world.labels[0], "s": world.source_id})
    with session_scope() as session:  # other columns still change
        session.execute(text('UPDATE record SET data = \'{"t": "x"}\' WHERE id = :r'), {"r": world.record_ids[0]})


def test_a_record_deleted_while_labels_for_it_are_stored_waits_then_takes_them_along(clean_db: str) -> None:
    world = make_world()
    target = world.record_ids[0]
    writer = raw_connection()
    try:
        writer.cursor().execute(
            "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id, source_type,"
            " source_id, return_type, is_gold_star, is_valid_manual_label)"
            " VALUES (gen_random_uuid(), %s, %s, %s, %s, 'MODEL_CALLBACK', %s, 'RETURN', false, false)",
            (str(world.project_id), target, str(world.task_id), str(world.labels[0]), str(world.source_id)),
        )
        deleted = threading.Event()

        def delete_record() -> None:
            with session_scope() as session:
                session.execute(text("DELETE FROM record WHERE id = :r"), {"r": target})
            deleted.set()

        deleter = threading.Thread(target=delete_record)
        deleter.start()
        assert not deleted.wait(1.0)  # the key-share lock of the uncommitted labels holds the delete
        writer.commit()
        deleter.join(10)
        assert deleted.is_set()
    finally:
        writer.close()
    assert count(record_id=target) == 0  # the delete's cascade saw the labels committed while it waited


def test_labels_for_a_record_being_deleted_wait_then_fail(clean_db: str) -> None:
    world = make_world()
    target = world.record_ids[0]
    deleter = raw_connection()
    try:
        deleter.cursor().execute("DELETE FROM record WHERE id = %s", (target,))
        failure: list[BaseException] = []

        def store() -> None:
            try:
                with session_scope() as session:
                    session.add(association(world, target))
            except BaseException as exc:  # noqa: BLE001 - inspected below
                failure.append(exc)

        writer = threading.Thread(target=store)
        writer.start()
        time.sleep(1.0)
        assert writer.is_alive()  # waits for the delete to end
        deleter.commit()
        writer.join(10)
    finally:
        deleter.close()
    assert failure and isinstance(failure[0], IntegrityError) and "does not exist" in str(failure[0])
    assert count() == 0


def test_an_update_that_changes_no_reference_locks_nothing(clean_db: str) -> None:
    """Flag updates (valid manual label, gold star) must not wait for a delete of the label they name."""
    world = make_world()
    with session_scope() as session:
        session.add(association(world, world.record_ids[0], source=False))
    holder = raw_connection()
    try:
        holder.cursor().execute("SELECT 1 FROM label WHERE id = %s FOR UPDATE", (str(world.labels[0]),))
        with session_scope() as session:
            session.execute(text("SET LOCAL lock_timeout = '2s'"))
            session.execute(text("UPDATE record_label_association SET is_gold_star = true, is_valid_manual_label = true"))
        holder.rollback()
    finally:
        holder.close()
    assert count(is_gold_star=True) == 1


def test_deletes_under_repeatable_read_are_refused_rather_than_leaving_orphans(clean_db: str) -> None:
    world = make_world()
    with pytest.raises(OperationalError, match="needs READ COMMITTED"), session_scope() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        session.execute(text("DELETE FROM record WHERE id = :r"), {"r": world.record_ids[0]})
    with session_scope() as session:  # deleting nothing is fine at any level
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        session.execute(text("DELETE FROM record WHERE id = -1"))


def test_truncating_a_referenced_table_removes_its_associations(clean_db: str) -> None:
    world = make_world()
    with session_scope() as session:
        session.add_all([association(world, r) for r in world.record_ids])
        session.add(association(world, world.record_ids[0], source=False))
    with session_scope() as session:
        session.execute(text("TRUNCATE information_source CASCADE"))
    assert count() == 1 and count(source_type=SourceType.MANUAL) == 1
    with session_scope() as session:
        session.execute(text("TRUNCATE record CASCADE"))
    assert count() == 0


def test_upgrade_repairs_disagreeing_rows_and_downgrade_drops_orphans(scratch_database: tuple[str, Engine]) -> None:
    """On a database of its own: rows written at 0003 that 0004's checks would refuse, then a round trip."""
    from alembic import command

    from shared_model.migrate import alembic_config, upgrade

    url, engine = scratch_database
    upgrade(url, "0003")
    # the models equal the 0003 schema but for the dropped foreign keys, so the ORM writes these rows
    with Session(engine) as session, session.begin():
        projects = [Project(name=n, tokenizer="en") for n in ("a", "b")]
        session.add_all(projects)
        session.flush()
        tasks = [
            LabelingTask(
                project_id=p.id,
                name="t",
                task_target=TaskTarget.ON_WHOLE_RECORD,
                task_type=TaskType.MULTICLASS_CLASSIFICATION,
            )
            for p in projects
        ]
        session.add_all(tasks)
        session.flush()
        labels = [Label(project_id=p.id, labeling_task_id=t.id, name="x") for p, t in zip(projects, tasks, strict=True)]
        source = InformationSource(
            project_id=projects[1].id, labeling_task_id=tasks[1].id, type=HeuristicType.LABELING_FUNCTION, name="lf"
        )
        record = Record(project_id=projects[0].id, data={})
        session.add_all([*labels, source, record])
        session.flush()
        for project, task, label, src in [
            (1, 0, 0, None),  # wrong project column: repaired from the record
            (0, 1, 0, None),  # wrong task column: repaired from the label
            (0, 0, 1, None),  # a label of another project: removed
            (0, 0, 0, source),  # a source of another task: removed
        ]:
            session.add(
                RecordLabelAssociation(
                    project_id=projects[project].id,
                    record_id=record.id,
                    labeling_task_id=tasks[task].id,
                    label_id=labels[label].id,
                    source_type=SourceType.INFORMATION_SOURCE if src else SourceType.MANUAL,
                    source_id=src.id if src else None,
                )
            )
        expected = [(projects[0].id, tasks[0].id)] * 2
    upgrade(url)
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT project_id, labeling_task_id FROM record_label_association")).all()
    assert kept == expected
    with engine.begin() as conn:  # orphans only by bypassing the triggers
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("DELETE FROM record"))
    command.downgrade(alembic_config(url), "0003")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM record_label_association")) == 0
        keys = inspect(conn).get_foreign_keys("record_label_association")
    assert sorted(k["constrained_columns"][0] for k in keys) == ["created_by", "label_id", "record_id", "source_id"]
    upgrade(url)
