"""Data slices from a snapshot: this installation's slices (``filter_raw`` in our filter model) come back with their
filters' ids mapped to the new project's (tasks, labels, heuristics, slices) and the static and outlier slices'
records; slices of another format (the original refinery's filters) are counted as skipped.

An id a filter names that the snapshot did not bring (e.g. an annotator of another installation) stays as it was:
the slice is imported and reads back with its ``problem`` (docs/data-browser.md).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.orm import Session

from shared_model.models import DataSlice, DataSliceRecord, SliceType

from ..browser.filters import FilterGroup

ID_KEYS = ("task_id", "heuristic_id", "slice_id")


def _remap(node: Any, ids: dict[str, uuid.UUID]) -> Any:
    if isinstance(node, list):
        return [_remap(item, ids) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ID_KEYS and isinstance(value, str):
            out[key] = str(ids.get(value, value))
        elif key == "label_ids" and isinstance(value, list):
            out[key] = [str(ids.get(v, v)) if isinstance(v, str) else v for v in value]
        else:
            out[key] = _remap(value, ids)
    return out


def import_slices(
    session: Session,
    project_id: uuid.UUID,
    data: dict[str, Any],
    record_ids: dict[str, int],
    ids: dict[str, uuid.UUID],
    user_id: uuid.UUID | None,
) -> tuple[int, int, int]:
    """Create the snapshot's slices; returns (slices imported, their records, slices skipped). ``ids``: old -> new
    ids of tasks, labels and heuristics."""
    rows = [r for r in data.get("data_slice_data") or [] if isinstance(r, dict)]
    kinds = {t.value for t in SliceType}
    chosen: list[tuple[dict[str, Any], SliceType]] = []
    skipped = 0
    slice_ids = dict(ids)
    names: set[str] = set()
    for row in rows:
        kind = row.get("slice_type")
        raw = row.get("filter_raw")
        name = str(row.get("name") or "").strip()[:200]
        if kind not in kinds or not isinstance(raw, dict) or not name or name in names or "id" not in row:
            skipped += 1
            continue
        names.add(name)
        slice_ids[str(row["id"])] = uuid.uuid4()
        chosen.append((row, SliceType(kind)))
    imported = 0
    kept: set[str] = set()
    for row, kind in chosen:
        mapped = _remap(row.get("filter_raw") or {}, slice_ids)
        try:
            FilterGroup.model_validate(mapped)
        except ValidationError:
            skipped += 1
            continue
        new_id = slice_ids[str(row["id"])]
        session.add(
            DataSlice(
                id=new_id,
                project_id=project_id,
                name=str(row["name"]).strip()[:200],
                filter=mapped,
                type=kind,
                info=row.get("info") if isinstance(row.get("info"), dict) else {},
                created_by=user_id,
            )
        )
        kept.add(str(row["id"]))
        imported += 1
    session.flush()
    members = []
    seen: set[tuple[str, int]] = set()
    for row in data.get("data_slice_record_association_data") or []:
        if not isinstance(row, dict):
            continue
        old_slice, record = str(row.get("data_slice_id")), record_ids.get(str(row.get("record_id")))
        if old_slice not in kept or record is None or (old_slice, record) in seen:
            continue
        seen.add((old_slice, record))
        score = row.get("outlier_score")
        members.append(
            {
                "id": uuid.uuid4(),
                "data_slice_id": slice_ids[old_slice],
                "record_id": record,
                "outlier_score": float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
            }
        )
    for start in range(0, len(members), 10_000):
        session.execute(insert(DataSliceRecord), members[start : start + 10_000])
    return imported, len(members), skipped
