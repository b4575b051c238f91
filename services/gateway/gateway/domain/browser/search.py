"""Run a filter: one sorted page of records (keyset), the total count (exact or estimated), record ids in order,
and the unique values of low-cardinality attributes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, cast, false, func, literal, null, select, text, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared_model.models import DataType, Record, SourceType
from shared_model.models import RecordLabelAssociation as RLA
from shared_model.models import WeakSupervisionAssociation as WSA
from shared_model.service import problem
from shared_model.settings import get_settings

from . import attribute_indexes, timeout
from .compile import ProjectCatalog, compile_filter, text_value
from .explain import Explain, plan_rows
from .filters import FilterGroup
from .highlights import highlights, text_conditions
from .sort import (
    SortKey,
    after_cursor,
    decode_cursor,
    encode_cursor,
    order_by,
    sort_columns,
    sorted_from,
    split_sort,
)

MAX_PAGE = 500
MAX_IDS = 100_000  # record ids one call may collect (sessions, bulk work)
QUERY_WORK_MEM = "64MB"  # lets Postgres hash the vote chunks' record ids instead of rescanning them


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int | None
    total_estimated: bool
    next_cursor: str | None


def tune(session: Session) -> None:
    """Per-transaction settings for browser queries: more work memory, and the statement timeout."""
    session.execute(text(f"SET LOCAL work_mem = '{QUERY_WORK_MEM}'"))
    timeout.limit(session)


def matching(catalog: ProjectCatalog, group: FilterGroup | None) -> ColumnElement[bool]:
    """The WHERE condition: the project's records that the filter selects."""
    return (
        Record.project_id == catalog.project_id
        if group is None
        else ((Record.project_id == catalog.project_id) & compile_filter(catalog, group))
    )


CountMode = Literal["exact", "estimate", "auto"]


def count(session: Session, catalog: ProjectCatalog, group: FilterGroup | None, mode: CountMode) -> tuple[int, bool]:
    """How many records the filter selects, and whether that is an estimate.

    ``exact`` counts; ``estimate`` is Postgres's planner estimate (cheap at any size; marked estimated); ``auto``
    counts exactly within ``browser_exact_count_ms`` (in a savepoint) and answers the estimate when that runs out.
    (The planner's estimate alone cannot tell which counts are cheap: a selective filter may still scan.)"""
    query = select(func.count()).select_from(Record).where(matching(catalog, group))
    if mode == "exact":
        return int(session.scalar(query) or 0), False
    if mode == "estimate":
        return _estimate(session, query), True
    budget = get_settings().browser_exact_count_ms
    try:
        with session.begin_nested():
            session.execute(text(f"SET LOCAL statement_timeout = {int(budget)}"))
            exact = int(session.scalar(query) or 0)
            # back to the browser's limit before RELEASE SAVEPOINT: under the budget, a release that the CPU-starved
            # server starts late is cancelled too, and a failed release aborts the whole transaction (issue #17: the
            # 500s of count at 300k records under load)
            timeout.limit(session, reset=True)
    except DBAPIError as exc:
        if not timeout.is_timeout(exc):
            raise
        if not session.in_nested_transaction() and _aborted(session):
            # the savepoint could not be rolled back to (its release or rollback was cancelled): this read-only
            # request starts a new transaction for the estimate
            session.rollback()
            tune(session)
        return _estimate(session, query), True  # the savepoint's rollback also undid its SET LOCAL
    return exact, False


def _aborted(session: Session) -> bool:
    """Whether the session's transaction failed (Postgres ignores every command until it ends)."""
    try:
        with session.begin_nested():
            session.execute(text("SELECT 1"))
    except DBAPIError:
        return True
    return False


def _estimate(session: Session, query: Select[Any]) -> int:
    return plan_rows(session.execute(Explain(query)).scalar())  # the filter's values stay bound parameters


def page(
    session: Session,
    catalog: ProjectCatalog,
    group: FilterGroup | None,
    sort: list[SortKey],
    limit: int,
    cursor: str | None,
    count_mode: CountMode | Literal["none"],
) -> Page:
    """One page of the filter's records in sort order, with their manual and weak-supervision labels."""
    tune(session)
    if not split_sort(catalog, sort):
        rows = _page_rows(session, catalog, group, sort_columns(catalog, sort), limit, cursor)
    else:  # records with a confidence in index order, then (when the page is not full) those without
        in_unlabeled = cursor is not None and _cursor_in_unlabeled(cursor)
        labeled = sort_columns(catalog, sort, "labeled")
        rows = [] if in_unlabeled else _page_rows(session, catalog, group, labeled, limit, cursor)
        if len(rows) <= limit:
            unlabeled = sort_columns(catalog, sort, "unlabeled")
            rest = limit - len(rows)
            rows += _page_rows(session, catalog, group, unlabeled, rest, cursor if in_unlabeled else None)
    shown = rows[:limit]
    next_cursor = encode_cursor(list(shown[-1][2:])) if len(rows) > limit and shown else None
    labels = record_labels(session, [row[0] for row in shown])
    marked = text_conditions(group)
    items = [
        {
            "id": row[0],
            "data": row[1],
            "labels": labels.get(row[0], []),
            "highlights": highlights(row[1], marked, catalog.attributes) if marked else {},
        }
        for row in shown
    ]
    total: int | None = None
    estimated = False
    if count_mode != "none":
        total, estimated = count(session, catalog, group, count_mode)
    attribute_indexes.request(session, catalog)
    return Page(items, total, estimated, next_cursor)


def _page_rows(
    session: Session, catalog: ProjectCatalog, group: FilterGroup | None, columns: list[Any], limit: int, cursor: str | None
) -> list[Any]:
    query: Select[Any] = sorted_from(
        select(Record.id, Record.data, *[c.expr.label(f"k{i}") for i, c in enumerate(columns)]).select_from(Record), columns
    ).where(matching(catalog, group))
    if cursor:
        query = query.where(after_cursor(columns, cursor))
    return list(session.execute(query.order_by(*order_by(columns)).limit(limit + 1)).all())


def _cursor_in_unlabeled(cursor: str) -> bool:
    """Whether a cursor of a split sort stands among the records without a value of the first key."""
    values = decode_cursor(cursor)
    return bool(values and values[0] is True)


def record_labels(session: Session, record_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Manual and weak-supervision labels of these records."""
    if not record_ids:
        return {}
    manual = select(
        RLA.record_id,
        RLA.labeling_task_id,
        RLA.label_id,
        cast(RLA.source_type, String).label("source_type"),
        RLA.confidence,
        RLA.created_by,
        RLA.is_gold_star,
        RLA.is_valid_manual_label,
        RLA.token_start,
        RLA.token_end,
    ).where(RLA.record_id.in_(record_ids), RLA.source_type == SourceType.MANUAL)
    weak = select(  # the current weak-supervision version's labels, as the label rows they used to be
        WSA.record_id,
        WSA.labeling_task_id,
        WSA.label_id,
        literal(SourceType.WEAK_SUPERVISION.value, String).label("source_type"),
        WSA.confidence,
        null().label("created_by"),
        false().label("is_gold_star"),
        false().label("is_valid_manual_label"),
        WSA.token_start,
        WSA.token_end,
    ).where(WSA.record_id.in_(record_ids))
    both = union_all(manual, weak).subquery()
    rows = session.execute(
        select(both).order_by(both.c.record_id, both.c.labeling_task_id, both.c.source_type, both.c.token_start)
    ).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row.record_id, []).append(
            {
                "labeling_task_id": row.labeling_task_id,
                "label_id": row.label_id,
                "source_type": str(row.source_type),
                "confidence": row.confidence,
                "created_by": row.created_by,
                "is_gold_star": row.is_gold_star,
                "is_valid_manual_label": row.is_valid_manual_label,
                "token_start": row.token_start,
                "token_end": row.token_end,
            }
        )
    return out


def record_ids(
    session: Session, catalog: ProjectCatalog, group: FilterGroup | None, sort: list[SortKey], limit: int = MAX_IDS
) -> list[int]:
    """The ids of the filter's records in sort order, at most ``limit`` (422 when there are more)."""
    tune(session)
    columns = sort_columns(catalog, sort)
    query = sorted_from(select(Record.id).select_from(Record), columns).where(matching(catalog, group))
    query = query.order_by(*order_by(columns)).limit(limit + 1)
    ids = list(session.scalars(query))
    if len(ids) > limit:
        raise problem(422, f"the filter selects more than {limit} records; narrow it down")
    return ids


def unique_values(session: Session, catalog: ProjectCatalog, attributes: list[str], max_values: int) -> dict[str, dict[str, Any]]:
    """Per attribute its distinct values (sorted) when there are at most ``max_values``; else ``values`` is empty
    and ``more`` is true (not a low-cardinality attribute).

    A CATEGORY or BOOLEAN attribute with its expression index (built for large projects, see ``attribute_indexes``)
    is read by a skip scan: one index descent per distinct value, up to ``max_values + 1``, instead of reading every
    record's JSON; others are grouped over the project's records."""
    indexed = attribute_indexes.existing(session, catalog.project_id)
    out: dict[str, dict[str, Any]] = {}
    for name in attributes:
        if catalog.attributes.get(name) in (DataType.CATEGORY, DataType.BOOLEAN):
            catalog.used_attributes.add(name)
        value = text_value(name, case_sensitive=True)
        if attribute_indexes.index_name(catalog.project_id, attribute_indexes.sql_of(value)) in indexed:
            found = _distinct_by_skip_scan(session, catalog.project_id, value, max_values + 1)
        else:
            raw = Record.data[name].astext
            found = list(
                session.scalars(
                    select(raw)
                    .where(Record.project_id == catalog.project_id, raw.is_not(None))
                    .group_by(raw)
                    .order_by(raw.collate("C"))
                    .limit(max_values + 1)
                )
            )
        more = len(found) > max_values
        out[name] = {"values": [] if more else found, "more": more}
    attribute_indexes.request(session, catalog)
    return out


def _distinct_by_skip_scan(session: Session, project_id: uuid.UUID, value: ColumnElement[Any], limit: int) -> list[str]:
    """The first ``limit`` distinct non-null values of ``value`` (in its index's order): a recursive query that
    asks the index for the next value after the last one found."""
    first = select(value.label("v")).where(Record.project_id == project_id, value.is_not(None)).order_by(value).limit(1)
    found = select(first.subquery().c.v).cte("found", recursive=True)
    following = select(value).where(Record.project_id == project_id, value > found.c.v).order_by(value).limit(1).scalar_subquery()
    found = found.union_all(select(following.label("v")).where(found.c.v.is_not(None)))
    return list(session.scalars(select(found.c.v).where(found.c.v.is_not(None)).limit(limit)))
