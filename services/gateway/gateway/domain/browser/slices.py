"""Data slices: dynamic (a stored filter, evaluated when used) and static (the filter's records frozen at save).

A static slice keeps the filter it was frozen from; it is *outdated* when that filter now selects other records.
Outlier slices (STATIC_OUTLIER) come from the neural search service and have no filter.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import BigInteger, delete, exists, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared_model.models import DataSlice, DataSliceRecord, Record, SliceType
from shared_model.service import ProblemError, problem
from shared_model.service.crud import get_in_project

from .compile import ProjectCatalog
from .filters import FilterGroup
from .search import matching, tune


def get_slice(session: Session, project_id: uuid.UUID, slice_id: uuid.UUID) -> DataSlice:
    return get_in_project(session, DataSlice, slice_id, project_id, "data slice")


def check_name(session: Session, project_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None) -> str:
    name = name.strip()
    if not name:
        raise problem(422, "name: a slice name must not be empty")
    clash = session.scalar(
        select(DataSlice.id).where(DataSlice.project_id == project_id, DataSlice.name == name, DataSlice.id != exclude)
    )
    if clash is not None:
        raise problem(409, f"a data slice named {name!r} already exists")
    return name


def stored_filter(data_slice: DataSlice) -> FilterGroup | None:
    return FilterGroup.model_validate(data_slice.filter) if data_slice.filter else None


def freeze(session: Session, catalog: ProjectCatalog, data_slice: DataSlice, group: FilterGroup | None) -> int:
    """Replace a static slice's records by the filter's current result (set-wise, in the database)."""
    tune(session)
    session.execute(delete(DataSliceRecord).where(DataSliceRecord.data_slice_id == data_slice.id))
    return add_filter_result(session, catalog, data_slice, group)


def add_filter_result(session: Session, catalog: ProjectCatalog, data_slice: DataSlice, group: FilterGroup | None) -> int:
    """Add the filter's records to a static slice (those already in it stay once); returns how many were added."""
    if data_slice.type == SliceType.DYNAMIC_DEFAULT:
        raise problem(409, f"data slice {data_slice.name!r} is dynamic: its records are its filter's; add to a static slice")
    tune(session)
    already = exists().where(DataSliceRecord.data_slice_id == data_slice.id, DataSliceRecord.record_id == Record.id)
    chosen = select(func.gen_random_uuid(), literal(data_slice.id), Record.id).where(matching(catalog, group), ~already)
    result = session.execute(
        insert(DataSliceRecord).from_select(["id", "data_slice_id", "record_id"], chosen).returning(DataSliceRecord.id)
    )
    added = len(result.all())
    data_slice.updated_at = func.now()
    return added


def add_records(session: Session, project_id: uuid.UUID, data_slice: DataSlice, record_ids: list[int]) -> int:
    """Add records by id to a static slice (422 naming ids that are not the project's)."""
    if data_slice.type == SliceType.DYNAMIC_DEFAULT:
        raise problem(409, f"data slice {data_slice.name!r} is dynamic: its records are its filter's; add to a static slice")
    wanted = sorted(set(record_ids))
    found = set(
        session.scalars(
            select(Record.id).where(Record.project_id == project_id, Record.id == func.any(literal(wanted, ARRAY(BigInteger))))
        )
    )
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(map(str, missing[:10]))
        raise problem(422, f"record_ids: {len(missing)} id(s) are not records of this project: {shown}")
    have = set(
        session.scalars(
            select(DataSliceRecord.record_id).where(
                DataSliceRecord.data_slice_id == data_slice.id,
                DataSliceRecord.record_id == func.any(literal(wanted, ARRAY(BigInteger))),
            )
        )
    )
    new = [i for i in wanted if i not in have]
    if new:
        session.execute(
            insert(DataSliceRecord), [{"id": uuid.uuid4(), "data_slice_id": data_slice.id, "record_id": i} for i in new]
        )
    data_slice.updated_at = func.now()
    return len(new)


def describe(session: Session, catalog: ProjectCatalog, data_slice: DataSlice) -> dict[str, Any]:
    """The slice with its record count and, for a static slice with a filter, whether it is outdated."""
    tune(session)
    group = stored_filter(data_slice)
    outdated: bool | None = None
    count: int | None = None
    broken: str | None = None
    frozen = select(DataSliceRecord.record_id).where(DataSliceRecord.data_slice_id == data_slice.id)
    if data_slice.type != SliceType.DYNAMIC_DEFAULT:
        count = int(session.scalar(select(func.count()).select_from(frozen.subquery())) or 0)
    try:
        if data_slice.type == SliceType.DYNAMIC_DEFAULT:
            count = int(session.scalar(select(func.count()).select_from(Record).where(matching(catalog, group))) or 0)
        elif data_slice.type == SliceType.STATIC_DEFAULT:
            now = select(Record.id).where(matching(catalog, group))
            outdated = bool(session.scalar(select(exists(now.except_(frozen)) | exists(frozen.except_(now)))))
    except ProblemError as exc:  # the filter names something deleted since: the slice is listed, with the reason
        broken = exc.detail
    return {
        "problem": broken,
        "id": data_slice.id,
        "name": data_slice.name,
        "type": str(data_slice.type),
        "filter": data_slice.filter or None,
        "count": count,
        "outdated": outdated,
        "info": data_slice.info,
        "created_by": data_slice.created_by,
        "created_at": data_slice.created_at,
        "updated_at": data_slice.updated_at,
    }
