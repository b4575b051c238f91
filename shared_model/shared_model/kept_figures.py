"""Figures kept with the marks of what they were computed from (``metric_cache``, migration 0024): computed again
only when a mark differs. A task's mark (``record_task_label_mark``) is bumped by statement triggers wherever its
manual labels change; a weak-supervision version's mark is its last count row (``weak_supervision_count``: every
change to the version's rows appends one). The gateway reads them; the jobs that change what they depend on (a
weak-supervision run, a snapshot import) compute them right after, so the first reader finds them kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from .models import (
    LabelingTask,
    MetricCache,
    ProjectRecordCount,
    RecordTaskLabel,
    WeakSupervisionCurrent,
    WeakSupervisionLabel,
)
from .models import RecordTaskLabelMark as Mark
from .models import WeakSupervisionCount as Count

MANUALLY_LABELED = "project-manually-labeled"  # metric_cache's name for a project card's manual count
WEAKLY_SUPERVISED = "project-weakly-supervised"  # metric_cache's name for a project card's weakly supervised count


def manual_mark(session: Session, task_id: uuid.UUID) -> int:
    """The task's mark, bumped by every change to its ``record_task_label`` rows' manual labels (migration 0024)."""
    return int(session.scalar(select(Mark.mark).where(Mark.labeling_task_id == task_id)) or 0)


def version_mark(session: Session, version: uuid.UUID) -> int:
    """The version's last count row: every change to the version's rows appends one (or folds them into new ones)."""
    return int(session.scalar(select(func.max(Count.id)).where(Count.version_id == version)) or 0)


def cached(session: Session, task_id: uuid.UUID, metric: str, marks: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` (JSON), kept per task and metric with ``marks`` (what it was computed from, read by the caller
    before): the kept value while the marks are the same, otherwise computed again and kept."""
    found = session.execute(
        select(MetricCache.value).where(
            MetricCache.labeling_task_id == task_id, MetricCache.metric == metric, MetricCache.marks == marks
        )
    ).scalar_one_or_none()
    if found is not None:
        return found
    value = compute()
    session.execute(
        insert(MetricCache)
        .values(labeling_task_id=task_id, metric=metric, marks=marks, value=value)
        .on_conflict_do_update(index_elements=["labeling_task_id", "metric"], set_={"marks": marks, "value": value})
    )
    return value


def _versions(session: Session, project_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    """(project, task, current version) of the projects' tasks that have one, by project and task."""
    return [
        (p, t, v)
        for p, t, v in session.execute(
            select(LabelingTask.project_id, LabelingTask.id, WeakSupervisionCurrent.version_id)
            .join(WeakSupervisionCurrent, WeakSupervisionCurrent.labeling_task_id == LabelingTask.id)
            .where(LabelingTask.project_id.in_(project_ids))
            .order_by(LabelingTask.project_id, LabelingTask.id)
        ).tuples()
    ]


def version_records(session: Session, versions: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Rows (records with weak-supervision labels) per version; a version without rows is left out."""
    if not versions:
        return {}
    found = session.execute(
        select(Count.version_id, func.sum(Count.records))
        .where(Count.version_id.in_(versions), Count.label_id.is_(None))
        .group_by(Count.version_id)
    ).tuples()
    return {version: int(n) for version, n in found if n}


def weakly_supervised(session: Session, project_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Records with a weak-supervision label in any task, per project (the project card's figure).

    From the current versions' counts where they decide it: a project with one version that has rows (its rows are
    its records), or one whose version has a row for each of its records. Otherwise the distinct records of the
    current versions' rows, kept under the project's first task with every version's mark (computed again after a
    write to one of them or a switch)."""
    current = _versions(session, project_ids)
    rows = version_records(session, [v for _, _, v in current])
    records = dict(
        session.execute(
            select(ProjectRecordCount.project_id, ProjectRecordCount.records).where(
                ProjectRecordCount.project_id.in_(project_ids)
            )
        )
        .tuples()
        .all()
    )
    per_project: dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID]]] = {}
    for project_id, task_id, version in current:
        if version in rows:
            per_project.setdefault(project_id, []).append((task_id, version))
    out: dict[uuid.UUID, int] = {}
    for project_id, versions in per_project.items():
        counts = [rows[v] for _, v in versions]
        if len(counts) == 1 or max(counts) == records.get(project_id):
            out[project_id] = max(counts)
            continue
        first = versions[0][0]  # the project's first task with labels (by id): where the figure is kept
        marks = ",".join(f"{v}:{version_mark(session, v)}" for _, v in versions)

        def count(project_id: uuid.UUID = project_id) -> int:  # the current versions' rows, one per record and task
            return int(
                session.scalar(
                    select(func.count(func.distinct(WeakSupervisionLabel.record_id))).where(
                        WeakSupervisionLabel.project_id == project_id
                    )
                )
                or 0
            )

        out[project_id] = int(cached(session, first, WEAKLY_SUPERVISED, marks, count))
    return out


def manually_labeled(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Records with a manual label (in any task) per project: the read model's rows (record_task_label, one per
    labeled (record, task)) from the partial index on manually labeled rows (migration 0022), counted again only when
    one of the project's tasks' rows changed (kept in metric_cache under its first task with every task's mark,
    migration 0024)."""
    tasks = session.execute(
        select(LabelingTask.project_id, LabelingTask.id, func.coalesce(Mark.mark, 0))
        .outerjoin(Mark, Mark.labeling_task_id == LabelingTask.id)
        .where(LabelingTask.project_id.in_(ids))
        .order_by(LabelingTask.project_id, LabelingTask.id)
    ).all()
    marks: dict[uuid.UUID, list[str]] = {}
    first: dict[uuid.UUID, uuid.UUID] = {}
    for project_id, task_id, mark in tasks:
        first.setdefault(project_id, task_id)
        marks.setdefault(project_id, []).append(f"{task_id}:{mark}")
    kept = {
        task_id: (marks_then, value)
        for task_id, marks_then, value in session.execute(
            select(MetricCache.labeling_task_id, MetricCache.marks, MetricCache.value).where(
                MetricCache.labeling_task_id.in_(list(first.values())), MetricCache.metric == MANUALLY_LABELED
            )
        )
    }
    out: dict[uuid.UUID, int] = {}
    for project_id, task_id in first.items():
        marks_now = ",".join(marks[project_id])
        if task_id in kept and kept[task_id][0] == marks_now:  # every project's kept figure read in one query
            out[project_id] = int(kept[task_id][1])
            continue

        def count(project_id: uuid.UUID = project_id) -> int:
            return int(
                session.scalar(
                    select(func.count(func.distinct(RecordTaskLabel.record_id))).where(
                        RecordTaskLabel.project_id == project_id,
                        RecordTaskLabel.manual,  # (bare: the partial index's predicate)
                    )
                )
                or 0
            )

        out[project_id] = int(cached(session, task_id, MANUALLY_LABELED, marks_now, count))
    return out
