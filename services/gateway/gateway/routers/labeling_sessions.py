"""Labeling sessions kept server-side: an ordered list of record ids (from a filter result, a slice, a heuristic's
hits or given ids) and the position reached; next/previous; any member opens one by id (a shareable link), only its
creator moves or deletes it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select

from shared_model.models import Attribute, HeuristicResult, InformationSource, LabelingSession, Record, User
from shared_model.service import problem
from shared_model.service.crud import get_in_project

from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain.browser import search, similarity, slices
from ..domain.browser.compile import ProjectCatalog
from ..domain.browser.filters import FilterGroup, InSliceCondition
from ..domain.browser.sort import MAX_SORT_KEYS, SortKey
from ..domain.browser.timeout import TimedRoute
from ..policies import Action, allow
from ..schemas import RequestModel
from .data import RecordOut, ordered_data

router = APIRouter(prefix="/api/v1/projects/{project_id}/labeling-sessions", tags=["labeling sessions"], route_class=TimedRoute)

MAX_SESSIONS_PER_USER = 100


class SessionIn(RequestModel):
    """Where the records come from: ``filter`` (+ ``sort``), ``slice_id``, ``heuristic_id`` or ``record_ids``."""

    name: str = Field(default="", max_length=200)
    filter: FilterGroup | None = None
    sort: list[SortKey] = Field(default_factory=list, max_length=MAX_SORT_KEYS)
    slice_id: uuid.UUID | None = None
    heuristic_id: uuid.UUID | None = None
    record_ids: list[int] | None = Field(default=None, max_length=search.MAX_IDS)
    position: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_source(self) -> SessionIn:
        given = [n for n in ("filter", "slice_id", "heuristic_id", "record_ids") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"give one source of records, not {' and '.join(given)}")
        if self.sort and given and given[0] != "filter":
            raise ValueError("sort applies to a filter (or to every record), not to " + given[0])
        return self


class PositionIn(RequestModel):
    position: int = Field(ge=0)


class SessionOut(BaseModel):
    id: uuid.UUID
    name: str
    source: dict[str, Any]
    total: int
    position: int
    record_id: int | None = Field(description="The record at the position (null for an empty session).")
    previous_record_id: int | None
    next_record_id: int | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class SessionRecords(BaseModel):
    offset: int
    record_ids: list[int]
    total: int


def out(row: LabelingSession) -> SessionOut:
    ids = row.record_ids
    at = row.position
    return SessionOut(
        id=row.id,
        name=row.name,
        source=row.source,
        total=len(ids),
        position=at,
        record_id=ids[at] if at < len(ids) else None,
        previous_record_id=ids[at - 1] if 0 < at <= len(ids) else None,
        next_record_id=ids[at + 1] if at + 1 < len(ids) else None,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _get(session: SessionDep, project_id: uuid.UUID, session_id: uuid.UUID) -> LabelingSession:
    return get_in_project(session, LabelingSession, session_id, project_id, "labeling session")


def _own(session: SessionDep, project_id: uuid.UUID, session_id: uuid.UUID, user: User) -> LabelingSession:
    row = _get(session, project_id, session_id)
    if row.created_by != user.id:
        raise problem(403, f"labeling session {session_id} belongs to another user; open it, but only its creator moves it")
    return row


def _record_ids(body: SessionIn, project_id: uuid.UUID, user: User, session: SessionDep) -> tuple[list[int], dict[str, Any]]:
    catalog = ProjectCatalog.load(session, project_id, user.id)
    if body.slice_id is not None:
        data_slice = slices.get_slice(session, project_id, body.slice_id)
        group = FilterGroup(conditions=[InSliceCondition(slice_id=data_slice.id)])
        return search.record_ids(session, catalog, group, []), {"slice_id": str(data_slice.id), "slice": data_slice.name}
    if body.heuristic_id is not None:
        source = session.get(InformationSource, body.heuristic_id)
        if source is None or source.project_id != project_id:
            raise problem(422, f"heuristic_id: heuristic {body.heuristic_id} does not exist in this project")
        hits = func.unnest(HeuristicResult.record_ids).table_valued("rid").render_derived()
        query = (
            select(hits.c.rid)
            .select_from(HeuristicResult)
            .join(hits, HeuristicResult.source_id == source.id)
            .group_by(hits.c.rid)
            .order_by(hits.c.rid)
            .limit(search.MAX_IDS + 1)
        )
        ids = [int(i) for i in session.scalars(query)]
        if len(ids) > search.MAX_IDS:
            raise problem(422, f"heuristic {source.name!r} hits more than {search.MAX_IDS} records; use a filter")
        return ids, {"heuristic_id": str(source.id), "heuristic": source.name}
    if body.record_ids is not None:
        wanted = list(dict.fromkeys(body.record_ids))
        found = (
            set(session.scalars(select(Record.id).where(Record.project_id == project_id, Record.id.in_(wanted))))
            if wanted
            else set()
        )
        missing = [i for i in wanted if i not in found]
        if missing:
            raise problem(
                422, f"record_ids: {len(missing)} id(s) are not records of this project: {', '.join(map(str, missing[:10]))}"
            )
        return wanted, {"record_ids": True}
    similarity.resolve(session, catalog, body.filter, body.sort)
    ids = search.record_ids(session, catalog, body.filter, body.sort)
    source_info: dict[str, Any] = {"filter": body.filter.model_dump(mode="json") if body.filter else None}
    source_info["sort"] = [key.model_dump(mode="json") for key in body.sort]
    return ids, source_info


@router.post("", response_model=SessionOut, status_code=201, dependencies=[allow(Action.BROWSE_DATA)])
def create_session(body: SessionIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> SessionOut:
    """Start a session: the records' ids in order are stored with the session (a later change of the filter's result
    does not reorder it)."""
    mine = session.scalar(
        select(func.count())
        .select_from(LabelingSession)
        .where(LabelingSession.project_id == project.id, LabelingSession.created_by == user.id)
    )
    if (mine or 0) >= MAX_SESSIONS_PER_USER:
        raise problem(409, f"you have {MAX_SESSIONS_PER_USER} labeling sessions in this project; delete one first")
    ids, source = _record_ids(body, project.id, user, session)
    if body.position > max(len(ids) - 1, 0):
        raise problem(422, f"position: {body.position} is beyond the session's {len(ids)} records")
    row = LabelingSession(
        project_id=project.id, created_by=user.id, name=body.name, source=source, record_ids=ids, position=body.position
    )
    session.add(row)
    session.flush()
    session.refresh(row)
    return out(row)


@router.get("", response_model=list[SessionOut], dependencies=[allow(Action.LABEL)])
def list_sessions(project: ProjectDep, user: CurrentUser, session: SessionDep) -> list[SessionOut]:
    """The caller's sessions in this project, newest first."""
    rows = session.scalars(
        select(LabelingSession)
        .where(LabelingSession.project_id == project.id, LabelingSession.created_by == user.id)
        .order_by(LabelingSession.created_at.desc())
    )
    return [out(row) for row in rows]


@router.get("/{session_id}", response_model=SessionOut, dependencies=[allow(Action.LABEL)])
def get_session(session_id: uuid.UUID, project: ProjectDep, session: SessionDep) -> SessionOut:
    """A session by id (any member of the project: the shareable link)."""
    return out(_get(session, project.id, session_id))


@router.get("/{session_id}/records", response_model=SessionRecords, dependencies=[allow(Action.LABEL)])
def session_records(
    session_id: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
) -> SessionRecords:
    """A window of the session's record ids."""
    row = _get(session, project.id, session_id)
    return SessionRecords(offset=offset, record_ids=row.record_ids[offset : offset + limit], total=len(row.record_ids))


class SessionWindow(BaseModel):
    offset: int
    total: int
    record_ids: list[int] = Field(description="The window's record ids in session order.")
    records: list[RecordOut] = Field(description="Those records' data in the same order; a record deleted since is left out.")


@router.get("/{session_id}/window", response_model=SessionWindow, dependencies=[allow(Action.LABEL)])
def session_window(
    session_id: uuid.UUID,
    project: ProjectDep,
    session: SessionDep,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
) -> SessionWindow:
    """A window of the session's records with their data (what the labeling suite shows), in session order."""
    row = _get(session, project.id, session_id)
    ids = row.record_ids[offset : offset + limit]
    found: dict[int, dict[str, Any]] = (
        dict(
            session.execute(select(Record.id, Record.data).where(Record.project_id == project.id, Record.id.in_(ids)))
            .tuples()
            .all()
        )
        if ids
        else {}
    )
    order = list(
        session.scalars(select(Attribute.name).where(Attribute.project_id == project.id).order_by(Attribute.relative_position))
    )
    records = [RecordOut(id=i, data=ordered_data(found[i], order)) for i in ids if i in found]
    return SessionWindow(offset=offset, total=len(row.record_ids), record_ids=ids, records=records)


def _move(row: LabelingSession, position: int) -> SessionOut:
    if not 0 <= position < max(len(row.record_ids), 1):
        raise problem(422, f"position: {position} is outside the session's {len(row.record_ids)} records")
    row.position = position
    row.updated_at = datetime.now().astimezone()
    return out(row)


@router.post("/{session_id}/next", response_model=SessionOut, dependencies=[allow(Action.LABEL)])
def next_record(session_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> SessionOut:
    """Move to the next record (409 at the last one)."""
    row = _own(session, project.id, session_id, user)
    if row.position + 1 >= len(row.record_ids):
        raise problem(409, "the session is at its last record")
    return _move(row, row.position + 1)


@router.post("/{session_id}/previous", response_model=SessionOut, dependencies=[allow(Action.LABEL)])
def previous_record(session_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> SessionOut:
    """Move to the previous record (409 at the first one)."""
    row = _own(session, project.id, session_id, user)
    if row.position == 0:
        raise problem(409, "the session is at its first record")
    return _move(row, row.position - 1)


@router.put("/{session_id}/position", response_model=SessionOut, dependencies=[allow(Action.LABEL)])
def set_position(
    session_id: uuid.UUID, body: PositionIn, project: ProjectDep, user: CurrentUser, session: SessionDep
) -> SessionOut:
    """Jump to a position."""
    return _move(_own(session, project.id, session_id, user), body.position)


@router.delete("/{session_id}", status_code=204, dependencies=[allow(Action.LABEL)])
def delete_session(session_id: uuid.UUID, project: ProjectDep, user: CurrentUser, session: SessionDep) -> Response:
    session.delete(_own(session, project.id, session_id, user))
    return Response(status_code=204)
