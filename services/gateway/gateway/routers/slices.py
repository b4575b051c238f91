"""Data slices: dynamic (a stored filter) and static (frozen record ids) — create, list, read, update, delete, and
add a filter result or record ids to a static slice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from shared_model.models import Comment, CommentTarget, DataSlice, SliceType
from shared_model.service import problem

from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain.browser import slices
from ..domain.browser.compile import ProjectCatalog, compile_filter
from ..domain.browser.filters import FilterGroup
from ..domain.browser.search import MAX_IDS
from ..domain.browser.timeout import TimedRoute
from ..policies import Action, allow
from ..schemas import RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}/slices", tags=["data slices"], route_class=TimedRoute)


class SliceIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    type: Literal["DYNAMIC_DEFAULT", "STATIC_DEFAULT"] = "DYNAMIC_DEFAULT"
    filter: FilterGroup | None = Field(default=None, description="null: every record.")


class SliceUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    filter: FilterGroup | None = None
    refreeze: bool = Field(default=False, description="Static slice: freeze the (new) filter's current records.")


class SliceRecordsIn(RequestModel):
    """Records to add to a static slice: a filter's result or ids (exactly one)."""

    filter: FilterGroup | None = None
    record_ids: list[int] | None = Field(default=None, max_length=MAX_IDS)

    @model_validator(mode="after")
    def _one(self) -> SliceRecordsIn:
        if (self.filter is None) == (self.record_ids is None):
            raise ValueError("give exactly one of filter or record_ids")
        return self


class SliceOut(BaseModel):
    id: uuid.UUID
    name: str
    type: str
    filter: dict[str, Any] | None
    count: int | None = Field(description="Records in the slice now (null for a dynamic slice whose filter is broken).")
    outdated: bool | None = Field(description="Static slice: its filter now selects other records than the frozen ones.")
    problem: str | None = Field(
        default=None, description="Why the stored filter no longer works (it names something deleted since), else null."
    )
    info: dict[str, Any]
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class AddedOut(BaseModel):
    added: int
    slice: SliceOut


def _catalog(session: SessionDep, project_id: uuid.UUID, user_id: uuid.UUID) -> ProjectCatalog:
    return ProjectCatalog.load(session, project_id, user_id)


@router.get("", response_model=list[SliceOut], dependencies=[allow(Action.BROWSE_DATA)])
def list_slices(project: ProjectDep, user: CurrentUser, session: SessionDep) -> list[SliceOut]:
    """Every slice of the project with its count (and outdated flag for static slices)."""
    catalog = _catalog(session, project.id, user.id)
    found = session.scalars(select(DataSlice).where(DataSlice.project_id == project.id).order_by(DataSlice.created_at))
    return [SliceOut(**slices.describe(session, catalog, s)) for s in found]


@router.post("", response_model=SliceOut, status_code=201, dependencies=[allow(Action.EDIT_PROJECT)])
def create_slice(body: SliceIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> SliceOut:
    """Save a filter as a dynamic slice, or freeze its current records as a static slice."""
    catalog = _catalog(session, project.id, user.id)
    compile_filter(catalog, body.filter)  # a bad filter is refused before anything is stored
    data_slice = DataSlice(
        project_id=project.id,
        name=slices.check_name(session, project.id, body.name),
        type=SliceType(body.type),
        filter=body.filter.model_dump(mode="json") if body.filter else {},
        created_by=user.id,
    )
    session.add(data_slice)
    session.flush()
    if data_slice.type == SliceType.STATIC_DEFAULT:
        slices.freeze(session, catalog, data_slice, body.filter)
    session.flush()
    session.refresh(data_slice)
    catalog.slices[data_slice.id] = data_slice
    return SliceOut(**slices.describe(session, catalog, data_slice))


@router.get("/{slice_id}", response_model=SliceOut, dependencies=[allow(Action.BROWSE_DATA)])
def get_slice(slice_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> SliceOut:
    catalog = _catalog(session, project.id, user.id)
    return SliceOut(**slices.describe(session, catalog, slices.get_slice(session, project.id, slice_id)))


@router.patch("/{slice_id}", response_model=SliceOut, dependencies=[allow(Action.EDIT_PROJECT)])
def update_slice(slice_id: uuid.UUID, body: SliceUpdate, project: ProjectDep, user: CurrentUser, session: SessionDep) -> SliceOut:
    """Rename, change the filter, and (static slices) re-freeze the filter's current records."""
    catalog = _catalog(session, project.id, user.id)
    data_slice = slices.get_slice(session, project.id, slice_id)
    if body.name is not None:
        data_slice.name = slices.check_name(session, project.id, body.name, exclude=data_slice.id)
    if "filter" in body.model_fields_set:
        catalog.slices.pop(data_slice.id, None)  # a slice cannot select through itself
        compile_filter(catalog, body.filter)
        data_slice.filter = body.filter.model_dump(mode="json") if body.filter else {}
    if body.refreeze:
        if data_slice.type != SliceType.STATIC_DEFAULT:
            raise problem(409, f"data slice {data_slice.name!r} is {data_slice.type}; only STATIC_DEFAULT slices are re-frozen")
        slices.freeze(session, catalog, data_slice, slices.stored_filter(data_slice))
    session.flush()
    session.refresh(data_slice)
    catalog.slices[data_slice.id] = data_slice
    return SliceOut(**slices.describe(session, catalog, data_slice))


@router.post("/{slice_id}/records", response_model=AddedOut, dependencies=[allow(Action.EDIT_PROJECT)])
def add_to_slice(
    slice_id: uuid.UUID, body: SliceRecordsIn, project: ProjectDep, user: CurrentUser, session: SessionDep
) -> AddedOut:
    """Add a filter's records (bulk action on a filter result) or record ids to a static slice."""
    catalog = _catalog(session, project.id, user.id)
    data_slice = slices.get_slice(session, project.id, slice_id)
    if body.record_ids is not None:
        added = slices.add_records(session, project.id, data_slice, body.record_ids)
    else:
        added = slices.add_filter_result(session, catalog, data_slice, body.filter)
    session.flush()
    session.refresh(data_slice)
    return AddedOut(added=added, slice=SliceOut(**slices.describe(session, catalog, data_slice)))


@router.delete("/{slice_id}", status_code=204, dependencies=[allow(Action.EDIT_PROJECT)])
def delete_slice(slice_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> Response:
    """Delete a slice (its frozen record list and comments; the records stay)."""
    data_slice = slices.get_slice(session, project.id, slice_id)
    session.query(Comment).filter(Comment.target_type == CommentTarget.DATA_SLICE, Comment.target_id == str(slice_id)).delete()
    session.delete(data_slice)
    return Response(status_code=204)
