"""Test data made directly through the ORM (projects, attributes, records, tasks, labels, lookup lists)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared_model.db import session_scope
from shared_model.models import (
    Attribute,
    DataType,
    Label,
    LabelingTask,
    LookupList,
    Project,
    Record,
    TaskTarget,
    TaskType,
    Term,
)


@dataclass
class Data:
    project_id: uuid.UUID
    record_ids: list[int]
    tasks: dict[str, uuid.UUID] = field(default_factory=dict)
    labels: dict[str, dict[str, uuid.UUID]] = field(default_factory=dict)


def add_records(project_id: uuid.UUID, texts: Sequence[str], *, extra: dict[str, Any] | None = None) -> Data:
    """Attributes ``id`` (INTEGER, primary key) and ``text`` (TEXT), and one record per text."""
    with session_scope() as session:
        session.add(
            Attribute(project_id=project_id, name="id", data_type=DataType.INTEGER, is_primary_key=True, relative_position=0)
        )
        session.add(Attribute(project_id=project_id, name="text", data_type=DataType.TEXT, relative_position=1))
        records = [Record(project_id=project_id, data={"id": i, "text": t, **(extra or {})}) for i, t in enumerate(texts)]
        session.add_all(records)
        session.flush()
        return Data(project_id, [r.id for r in records])


def add_task(data: Data, name: str, labels: Sequence[str], *, extraction: bool = False) -> uuid.UUID:
    """A labeling task on ``text`` with its labels."""
    with session_scope() as session:
        attribute_id = session.query(Attribute.id).filter_by(project_id=data.project_id, name="text").scalar()
        task = LabelingTask(
            project_id=data.project_id,
            name=name,
            attribute_id=attribute_id,
            task_target=TaskTarget.ON_ATTRIBUTE,
            task_type=TaskType.INFORMATION_EXTRACTION if extraction else TaskType.MULTICLASS_CLASSIFICATION,
        )
        session.add(task)
        session.flush()
        data.tasks[name] = task.id
        data.labels[name] = {}
        for label in labels:
            row = Label(project_id=data.project_id, labeling_task_id=task.id, name=label)
            session.add(row)
            session.flush()
            data.labels[name][label] = row.id
        return task.id


def add_lookup_list(
    project_id: uuid.UUID, name: str, python_name: str, terms: Sequence[str], blacklisted: Sequence[str] = ()
) -> None:
    with session_scope() as session:
        lookup = LookupList(project_id=project_id, name=name, python_name=python_name)
        session.add(lookup)
        session.flush()
        for term in terms:
            session.add(Term(lookup_list_id=lookup.id, value=term))
        for term in blacklisted:
            session.add(Term(lookup_list_id=lookup.id, value=term, blacklisted=True))


def new_project(name: str = "executor test", settings: dict[str, Any] | None = None) -> uuid.UUID:
    """A project without members (for executor-level tests that bypass the gateway)."""
    with session_scope() as session:
        project = Project(name=name, settings=settings or {})
        session.add(project)
        session.flush()
        return project.id


def set_limits(project_id: uuid.UUID, **limits: Any) -> None:
    with session_scope() as session:
        project = session.get(Project, project_id)
        assert project is not None
        project.settings = {**project.settings, "sandbox_limits": limits}
