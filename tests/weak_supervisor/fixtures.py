"""Build tasks, heuristics, their results and manual labels directly (real Postgres)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from shared_model.db import session_scope
from shared_model.heuristic_results import ResultBuffer, store_session_results
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


@dataclass
class Built:
    project_id: uuid.UUID
    task_id: uuid.UUID
    labels: dict[str, uuid.UUID]
    sources: dict[str, uuid.UUID]
    records: list[int] = field(default_factory=list)


def build_task(
    task_type: TaskType,
    labels: list[str],
    n_records: int,
    heuristics: dict[str, list[tuple[int, str] | tuple[int, str, int, int]]],
    manual: list[tuple[int, str] | tuple[int, str, int, int]] = (),  # type: ignore[assignment]
    *,
    project_id: uuid.UUID | None = None,
) -> Built:
    """A task with ``n_records`` records; heuristic results and valid manual labels by record position and label name
    (spans: position, label, token_start, token_end)."""
    with session_scope() as s:
        if project_id is None:
            project = Project(name=f"ws-{uuid.uuid4().hex[:8]}")
            s.add(project)
            s.flush()
            project_id = project.id
        task = LabelingTask(
            project_id=project_id,
            name=f"task-{uuid.uuid4().hex[:6]}",
            task_target=TaskTarget.ON_WHOLE_RECORD,
            task_type=task_type,
        )
        s.add(task)
        s.flush()
        label_ids = {}
        for name in labels:
            label = Label(project_id=project_id, labeling_task_id=task.id, name=name)
            s.add(label)
            s.flush()
            label_ids[name] = label.id
        records = [Record(project_id=project_id, data={"text": f"record {i}"}) for i in range(n_records)]
        s.add_all(records)
        s.flush()
        record_ids = [r.id for r in records]
        source_ids = {}
        for name, results in heuristics.items():
            source = InformationSource(
                project_id=project_id,
                labeling_task_id=task.id,
                type=HeuristicType.LABELING_FUNCTION,
                name=f"{name}-{task.id.hex[:6]}",
            )
            s.add(source)
            s.flush()
            source_ids[name] = source.id
            votes = ResultBuffer()
            for item in results:
                start, end = (item[2], item[3]) if len(item) == 4 else (None, None)
                votes.add(record_ids[item[0]], label_ids[item[1]], start, end)
            store_session_results(s, project_id, task.id, source.id, votes)
        for item in manual:
            s.add(_rla(project_id, task.id, record_ids, label_ids, item, SourceType.MANUAL, None))
        return Built(project_id, task.id, label_ids, source_ids, record_ids)


def _rla(project_id, task_id, record_ids, label_ids, item, source_type, source_id):  # type: ignore[no-untyped-def]
    start, end = (item[2], item[3]) if len(item) == 4 else (None, None)
    return RecordLabelAssociation(
        project_id=project_id,
        record_id=record_ids[item[0]],
        labeling_task_id=task_id,
        label_id=label_ids[item[1]],
        source_type=source_type,
        source_id=source_id,
        is_valid_manual_label=source_type == SourceType.MANUAL,
        token_start=start,
        token_end=end,
    )


def weak_labels(task_id: uuid.UUID) -> list[tuple[int, uuid.UUID, float, int | None, int | None]]:
    """(record id, label id, confidence, token_start, token_end) of the task's current weak-supervision labels."""
    from sqlalchemy import select

    from shared_model.models import WeakSupervisionAssociation as WSA

    with session_scope() as s:
        rows = s.execute(
            select(WSA.record_id, WSA.label_id, WSA.confidence, WSA.token_start, WSA.token_end)
            .where(WSA.labeling_task_id == task_id)
            .order_by(WSA.record_id, WSA.token_start)
        ).all()
        return [tuple(r) for r in rows]
