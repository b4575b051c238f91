"""The data browser: search records with a typed filter, sort and keyset paging; unique values for dropdowns;
bulk labeling of a filter result."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from shared_model import jobs
from shared_model.models import Attribute, DataType
from shared_model.service import problem

from ..deps import CurrentUser, ProjectDep, SessionDep
from ..domain import labeling
from ..domain.browser import attribute_indexes, bulk_delete, search, similarity, timeout
from ..domain.browser.compile import ProjectCatalog, compile_filter
from ..domain.browser.filters import FilterGroup
from ..domain.browser.sort import MAX_SORT_KEYS, SortKey
from ..domain.browser.timeout import TimedRoute
from ..domain.browser.to_labeling_function import labeling_function
from ..domain.label_history import Via
from ..policies import Action, allow
from ..schemas import JobOut, RequestModel

router = APIRouter(prefix="/api/v1/projects/{project_id}/records", tags=["data browser"], route_class=TimedRoute)

BULK_CONFIRM_OVER = 1000


class SearchIn(RequestModel):
    filter: FilterGroup | None = Field(default=None, description="null selects every record.")
    sort: list[SortKey] = Field(default_factory=list, max_length=MAX_SORT_KEYS, description="The record id breaks ties.")
    limit: int = Field(default=20, ge=1, le=search.MAX_PAGE)
    cursor: str | None = Field(default=None, max_length=4000, description="next_cursor of the previous page.")
    count: Literal["exact", "estimate", "auto", "none"] = Field(
        default="auto",
        description="The total: counted exactly, the planner's estimate (fast), auto (exact when the "
        "count is quick, else the estimate; total_estimated says which), or not at all.",
    )


class RecordLabel(BaseModel):
    labeling_task_id: uuid.UUID
    label_id: uuid.UUID
    source_type: str
    confidence: float | None
    created_by: uuid.UUID | None
    is_gold_star: bool
    is_valid_manual_label: bool
    token_start: int | None
    token_end: int | None


class FoundRecord(BaseModel):
    id: int
    data: dict[str, Any]
    labels: list[RecordLabel]
    highlights: dict[str, list[list[int]]] = Field(
        default_factory=dict,
        description="Per text attribute, the character ranges [start, end) the filter's text conditions matched.",
    )


class SearchOut(BaseModel):
    items: list[FoundRecord]
    total: int | None = Field(description="Records the filter selects (null with count=none).")
    total_estimated: bool = Field(description="true when total is the planner's estimate.")
    next_cursor: str | None


class CountIn(RequestModel):
    filter: FilterGroup | None = None
    count: Literal["exact", "estimate", "auto"] = Field(
        default="auto", description="exact, the planner's estimate, or auto (exact when quick, else the estimate; see search)."
    )


class CountOut(BaseModel):
    total: int
    total_estimated: bool


class UniqueValues(BaseModel):
    values: list[str] = Field(description="The distinct values (as text), sorted; empty when there are more than max_values.")
    more: bool = Field(description="true when the attribute has more than max_values distinct values.")


class BulkLabelIn(RequestModel):
    filter: FilterGroup | None = Field(description="The records to label; null = every record of the project.")
    labeling_task_id: uuid.UUID
    label_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
    confirm_count: int | None = Field(
        default=None,
        ge=0,
        description=f"Required when the filter selects more than {BULK_CONFIRM_OVER} records: the count the caller "
        "confirms (a 409 names it); a different count is refused, so nothing is labeled that the caller did not see.",
    )


class BulkLabelOut(BaseModel):
    records: int = Field(description="Records labeled.")
    labels_written: int
    labeling_task_id: uuid.UUID


def _filter_catalog(session: SessionDep, project_id: uuid.UUID, user_id: uuid.UUID) -> ProjectCatalog:
    return ProjectCatalog.load(session, project_id, user_id)


@router.post("/search", response_model=SearchOut, dependencies=[allow(Action.BROWSE_DATA)])
def search_records(body: SearchIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> SearchOut:
    """The records a filter selects, sorted, ``limit`` at a time: pass ``next_cursor`` as ``cursor`` (with the same
    filter and sort) for the next page. A bad condition is a 422 naming its place (``filter.conditions[1]``)."""
    catalog = _filter_catalog(session, project.id, user.id)
    similarity.resolve(session, catalog, body.filter, body.sort)
    found = search.page(session, catalog, body.filter, body.sort, body.limit, body.cursor, body.count)
    return SearchOut.model_validate(found, from_attributes=True)


@router.post("/count", response_model=CountOut, dependencies=[allow(Action.BROWSE_DATA)])
def count_records(body: CountIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> CountOut:
    """How many records a filter selects."""
    catalog = _filter_catalog(session, project.id, user.id)
    similarity.resolve(session, catalog, body.filter, [])
    search.tune(session)
    total, estimated = search.count(session, catalog, body.filter, body.count)
    attribute_indexes.request(session, catalog)
    return CountOut(total=total, total_estimated=estimated)


@router.get("/unique-values", response_model=dict[str, UniqueValues], dependencies=[allow(Action.BROWSE_DATA)])
def unique_values(
    project: ProjectDep,
    session: SessionDep,
    attribute: list[str] | None = Query(
        None, max_length=50, description="Attribute names; default: every CATEGORY and BOOLEAN attribute."
    ),
    max_values: int = Query(20, ge=1, le=1000),
) -> dict[str, UniqueValues]:
    """Distinct values of low-cardinality attributes, for filter dropdowns."""
    types: dict[str, Any] = dict(
        session.execute(select(Attribute.name, Attribute.data_type).where(Attribute.project_id == project.id)).tuples().all()
    )
    if attribute:
        for name in attribute:
            if name not in types:
                raise problem(422, f"attribute: {name!r} does not exist in this project")
        names = list(dict.fromkeys(attribute))
    else:
        names = [n for n, t in types.items() if t in (DataType.CATEGORY, DataType.BOOLEAN)]
    catalog = ProjectCatalog.load(session, project.id, None)
    found = search.unique_values(session, catalog, names, max_values)
    return {name: UniqueValues(**value) for name, value in found.items()}


@router.post("/bulk-label", response_model=BulkLabelOut, dependencies=[allow(Action.BULK_LABEL)])
def bulk_label(body: BulkLabelIn, project: ProjectDep, user: CurrentUser, session: SessionDep) -> BulkLabelOut:
    """Set the caller's classification label(s) on every record a filter selects (refinery#23), in one transaction.

    Over 1,000 records the call needs ``confirm_count`` equal to the number selected; otherwise it is a 409 whose
    ``affected`` names that number."""
    task = labeling.get_task(session, project.id, body.labeling_task_id)
    labeling.require_classification(task)
    labels = labeling.labels_of_task(session, task, body.label_ids)
    catalog = _filter_catalog(session, project.id, user.id)
    similarity.resolve(session, catalog, body.filter, [])
    ids = search.record_ids(session, catalog, body.filter, [])
    if len(ids) > BULK_CONFIRM_OVER and body.confirm_count != len(ids):
        raise problem(
            409,
            f"the filter selects {len(ids)} records (over {BULK_CONFIRM_OVER}); send confirm_count={len(ids)} to label them"
            + ("" if body.confirm_count is None else f" (confirm_count was {body.confirm_count})"),
            affected=len(ids),
        )
    timeout.lift(session)  # the confirmed write is not cut short by the browser's query timeout
    written = labeling.set_classification(session, task, user, ids, labels, via=Via.BULK)
    return BulkLabelOut(records=len(ids), labels_written=written, labeling_task_id=task.id)


class BulkDeleteIn(RequestModel):
    filter: FilterGroup | None = Field(description="The records to delete; null = every record of the project.")
    confirm_count: int | None = Field(
        default=None,
        ge=0,
        description=f"Required when the filter selects more than {BULK_CONFIRM_OVER} records: the count the caller "
        "confirms (a 409 names it); a different count is refused and nothing is deleted.",
    )


class BulkDeleteOut(BaseModel):
    records: int = Field(description="Records deleted (at once), or selected and to be deleted by the job.")
    job: JobOut | None = Field(
        default=None, description=f"Over {bulk_delete.INLINE_MAX} records: the records_delete job that deletes them."
    )


@router.post(
    "/bulk-delete",
    response_model=BulkDeleteOut,
    responses={202: {"model": BulkDeleteOut, "description": "A records_delete job deletes them."}},
    dependencies=[allow(Action.EDIT_PROJECT)],
)
def bulk_delete_records(
    body: BulkDeleteIn, project: ProjectDep, user: CurrentUser, session: SessionDep, response: Response
) -> BulkDeleteOut:
    """Delete every record a filter selects, with their labels, votes, tokens, comments and slice memberships.

    Over 1,000 records the call needs ``confirm_count`` equal to the number selected (else a 409 whose ``affected``
    names it). Up to 10,000 records are deleted at once (200); more by a ``records_delete`` job (202), which deletes
    what the filter selects among the records that existed when it was asked (never records uploaded since)."""
    catalog = _filter_catalog(session, project.id, user.id)
    search.tune(session)
    total, _ = search.count(session, catalog, body.filter, "exact")
    if total > BULK_CONFIRM_OVER and body.confirm_count != total:
        raise problem(
            409,
            f"the filter selects {total} records (over {BULK_CONFIRM_OVER}); send confirm_count={total} to delete them"
            + ("" if body.confirm_count is None else f" (confirm_count was {body.confirm_count})"),
            affected=total,
        )
    max_id = bulk_delete.largest_id(session, project.id)
    if total <= bulk_delete.INLINE_MAX:
        timeout.lift(session)  # the confirmed delete is not cut short by the browser's query timeout
        deleted = bulk_delete.delete_chunk(session, catalog, body.filter, max_id, bulk_delete.INLINE_MAX)
        return BulkDeleteOut(records=deleted)
    job = jobs.enqueue(
        session,
        kind="records_delete",
        owner_service="gateway",
        project_id=project.id,
        created_by=user.id,
        parameters={
            "filter": body.filter.model_dump(mode="json") if body.filter else None,
            "max_id": max_id,
            "expected": total,
            "user_id": str(user.id),
        },
    )
    response.status_code = 202
    return BulkDeleteOut(records=total, job=JobOut.model_validate(job, from_attributes=True))


class LabelingFunctionIn(RequestModel):
    filter: FilterGroup = Field(description="Attribute conditions only (in groups, negated or not).")
    label: str = Field(min_length=1, max_length=200, description="The label the function returns where the filter holds.")


class LabelingFunctionOut(BaseModel):
    source_code: str


@router.post("/labeling-function", response_model=LabelingFunctionOut, dependencies=[allow(Action.RUN_CODE)])
def filter_to_labeling_function(
    body: LabelingFunctionIn, project: ProjectDep, user: CurrentUser, session: SessionDep
) -> LabelingFunctionOut:
    """The Python source of a labeling function selecting the same records as an attribute filter (refinery#21)."""
    catalog = _filter_catalog(session, project.id, user.id)
    compile_filter(catalog, body.filter)  # the same 422s as a search
    return LabelingFunctionOut(source_code=labeling_function(catalog, body.filter, body.label))
