"""Per-project indexes on record attributes, created when a large project's browser filters or sorts by them.

``record.data`` is JSONB; without an index every attribute filter, count and sort reads each record's JSON. For a
project of at least ``browser_index_min_records`` records (planner estimate), the first browser query that filters
or sorts on an INTEGER, FLOAT, CATEGORY or BOOLEAN attribute starts, in the background, a partial B-tree index on
``record`` (``WHERE project_id = …``) over exactly the expressions the filter compiler and the sort emit
(:func:`~.compile.numeric_value`, :func:`~.compile.text_value`); a full-text condition gets a GIN index over
:func:`~.compile.text_document`; a substring condition on a TEXT attribute a GIN index over its trigrams
(:func:`~.compile.trigram_value`, migration 0022); a random order the records' shuffle key
(:func:`~.sort.shuffle_key`, ``hashint8(id)``). ``CREATE INDEX CONCURRENTLY``: uploads and labeling go on while
it builds; queries use it once it is valid. TEXT attributes get no B-tree (long values do not fit its entries). Indexes of
deleted projects are dropped by the next build (those of a deleted attribute stay until the project goes).

Names: ``ix_ra_<project id hex>_<12 hex of the expression's hash>``, so existing ones are found in ``pg_class``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.orm import Session

from shared_model.db import get_engine
from shared_model.models import DataType, Record
from shared_model.settings import get_settings

from .compile import ProjectCatalog, numeric_value, text_document, text_value, trigram_value
from .explain import Explain, plan_rows
from .index_names import PREFIX, existing, index_name, sql_of
from .sort import shuffle_key

log = logging.getLogger(__name__)

_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attribute-index")
_lock = threading.Lock()
_pending: dict[str, Future[None]] = {}
_known: set[str] = set()  # names known to exist (this process)
_small: dict[uuid.UUID, float] = {}  # project -> when it was last found too small for indexes
RECHECK_SMALL_S = 60.0


def expressions(name: str, kind: DataType) -> list[ColumnElement[Any]]:
    """The indexed expressions of one attribute: what its filters (case-insensitive, the default) and sorts compare."""
    if kind in (DataType.INTEGER, DataType.FLOAT):
        return [numeric_value(name)]
    if kind in (DataType.CATEGORY, DataType.BOOLEAN):
        return [text_value(name, case_sensitive=False), text_value(name, case_sensitive=True)]
    return []


def wanted(
    catalog: ProjectCatalog,
    attributes: set[str],
    full_text: set[str | None] | None = None,
    substring: set[str] | None = None,
    shuffle: bool = False,
) -> dict[str, str]:
    """Index name -> CREATE INDEX statement for these attributes of the project (B-tree), for the full-text
    documents searched (GIN; None: all the record's string values), for the TEXT attributes searched by
    substring (GIN over their trigrams, :func:`~.compile.trigram_value`) and, with ``shuffle``, the records' fixed
    shuffle key that a random order reads (B-tree over :func:`~.sort.shuffle_key`)."""
    specs: list[tuple[str, str]] = []  # (method, expression SQL)
    if shuffle:
        specs.append(("btree", sql_of(shuffle_key())))
    for attribute in sorted(attributes):
        kind = catalog.attributes.get(attribute)
        if kind is not None:
            specs += [("btree", sql_of(expression)) for expression in expressions(attribute, kind)]
    for attribute in sorted(substring or set()):
        if catalog.attributes.get(attribute) == DataType.TEXT:
            specs.append(("gin", sql_of(trigram_value(attribute))))
    for name in sorted(full_text or set(), key=lambda n: n or ""):
        if name is None or name in catalog.attributes:
            specs.append(("gin", sql_of(text_document(name))))
    out = {}
    for method, sql in specs:
        name = index_name(catalog.project_id, sql)
        out[name] = (
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON record USING {method} (({sql})) "
            f"WHERE project_id = '{catalog.project_id}'::uuid"
        )
    return out


def _estimated_records(session: Session, project_id: uuid.UUID) -> int:
    query = select(Record.id).where(Record.project_id == project_id)
    return plan_rows(session.execute(Explain(query)).scalar())


def request(session: Session, catalog: ProjectCatalog) -> list[Future[None]]:
    """Start (in the background) the missing indexes of the attributes the catalog's compiled filters and sorts
    named, when the project is large enough; the futures of the builds started or running."""
    if not catalog.used_attributes and not catalog.used_full_text and not catalog.used_substring and not catalog.used_shuffle:
        return []
    todo = {
        name: sql
        for name, sql in wanted(
            catalog, catalog.used_attributes, catalog.used_full_text, catalog.used_substring, catalog.used_shuffle
        ).items()
        if name not in _known
    }
    if not todo:
        return []
    with _lock:
        running = [_pending[name] for name in todo if name in _pending]
        todo = {name: sql for name, sql in todo.items() if name not in _pending}
    if not todo:
        return running
    checked = _small.get(catalog.project_id)
    if checked is not None and time.monotonic() - checked < RECHECK_SMALL_S:
        return running
    if _estimated_records(session, catalog.project_id) < get_settings().browser_index_min_records:
        _small[catalog.project_id] = time.monotonic()
        return running
    _small.pop(catalog.project_id, None)
    have = existing(session, catalog.project_id)
    with _lock:
        _known.update(have)
        for name, sql in todo.items():
            if name in have or name in _pending:
                continue
            _pending[name] = _pool.submit(_build, name, sql)
            running.append(_pending[name])
    return running


def _build(name: str, sql: str) -> None:
    """One index, built concurrently (a failed build leaves an invalid index: dropped and reported)."""
    try:
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            _drop_orphans(conn)
            conn.execute(text(sql))
            valid = conn.scalar(
                text("SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = :n"),
                {"n": name},
            )
            if valid:
                _known.add(name)
                log.info("attribute index %s built", name)
                if "browser_trigrams" in sql:  # the planner's statistics of the new expression (how selective)
                    conn.execute(text("ANALYZE record"))
            else:
                conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
    except Exception:  # a build that fails (e.g. the database went away) only costs the speed-up
        log.exception("attribute index %s was not built", name)
    finally:
        with _lock:
            _pending.pop(name, None)


def _drop_orphans(conn: Any) -> None:
    """Drop attribute indexes of projects that no longer exist (their predicate names a deleted project id)."""
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c WHERE c.relkind = 'i' AND c.relname LIKE :prefix"
            " AND NOT EXISTS (SELECT 1 FROM project p WHERE replace(p.id::text, '-', '') = substr(c.relname, :start, 32))"
        ),
        {"prefix": f"{PREFIX}%", "start": len(PREFIX) + 1},
    ).all()
    for (name,) in rows:
        conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))


def wait() -> None:
    """Wait for the builds running now (tests, benchmarks)."""
    with _lock:
        futures = list(_pending.values())
    for future in futures:
        future.result()
