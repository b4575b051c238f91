"""A snapshot's weak-supervision labels, imported as each task's current weak-supervision version (migration 0023).

The original keeps a run's labels as ``WEAK_SUPERVISION`` associations (a confidence each; spans as token rows) whose
``weak_supervision_id`` names the run in ``weak_supervision_task_data``; a new run replaced them, so a file normally
holds one run's labels per task. Here they become one version per task, made current in the import's transaction
(a finished version: readers see all of it or, should the import fail, nothing): its rows are written with COPY as a
run writes its own (:mod:`shared_model.weak_supervision_results`). When a task's labels name several runs, those of
the latest one (by the runs' ``created_at``; a run the file does not list counts as older) are kept and the others
are listed as skipped; so are a second label of a single-label record and repeated (label, span) pairs.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from shared_model import weak_supervision_results as results
from shared_model.models import TaskType

from .rows import ref, rows_of


@dataclass
class WeakLabel:
    record_id: int
    label_id: uuid.UUID
    start: int | None
    end: int | None
    confidence: float | None


@dataclass
class WeakLabels:
    """Collected per task and run (old ids), then written per task."""

    run_times: dict[str, str]
    labels: dict[uuid.UUID, dict[str | None, list[WeakLabel]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, task_id: uuid.UUID, run: str | None, label: WeakLabel) -> None:
        self.labels[task_id][run].append(label)

    def _latest(self, runs: dict[str | None, list[WeakLabel]]) -> str | None:
        return max(runs, key=lambda r: (r in self.run_times, self.run_times.get(r or "", ""), len(runs[r])))

    def store(self, session: Session, project_id: uuid.UUID, task_types: dict[uuid.UUID, TaskType]) -> int:
        """Write each task's labels as its current version; returns the labels written."""
        written = 0
        cursor = session.connection().connection.cursor()
        for task_id, runs in self.labels.items():
            kept = self._latest(runs)
            older = sum(len(v) for r, v in runs.items() if r != kept)
            if older:
                self.skipped["weak_supervision_labels_of_older_runs"] += older
            per_record: dict[int, dict[tuple[uuid.UUID, int | None, int | None], WeakLabel]] = defaultdict(dict)
            single = task_types[task_id] == TaskType.MULTICLASS_CLASSIFICATION
            for label in sorted(runs[kept], key=lambda x: -(x.confidence if x.confidence is not None else -1.0)):
                mine = per_record[label.record_id]
                key = (label.label_id, label.start, label.end)
                if key in mine:
                    self.skipped["duplicate_weak_supervision_labels"] += 1
                elif single and mine:  # the most confident one stays
                    self.skipped["conflicting_weak_supervision_labels"] += 1
                else:
                    mine[key] = label
            version = uuid.uuid4()
            results.begin_version(session, task_id, version)
            lines = []
            record_ids = sorted(per_record)
            for record_id in record_ids:
                labels = sorted(
                    per_record[record_id].values(),
                    key=lambda x: (-1 if x.start is None else x.start, -1 if x.end is None else x.end, str(x.label_id)),
                )
                spans = labels[0].start is not None
                lines.append(
                    results.row_line(
                        str(version),
                        record_id,
                        str(task_id),
                        str(project_id),
                        [str(x.label_id) for x in labels],
                        [x.confidence for x in labels],
                        [x.start for x in labels] if spans else None,  # type: ignore[misc]
                        [x.end for x in labels] if spans else None,  # type: ignore[misc]
                    )
                )
                written += len(labels)
            for at in range(0, len(lines), results.CHUNK_ROWS):
                chunk = slice(at, at + results.CHUNK_ROWS)
                results.write_rows(cursor, project_id, version, lines[chunk], record_ids[chunk])
            results.switch_version(session, task_id, version)
        return written


def weak_labels(data: dict[str, Any]) -> WeakLabels:
    """An empty collection that knows the file's runs (old id -> created_at)."""
    runs = {}
    for row in rows_of(data, "weak_supervision_task_data"):
        run = ref(row.get("id"))
        if run is not None:
            runs[run] = str(row.get("created_at") or "")
    return WeakLabels(runs)
