"""Sorting the data browser's results and paging them by key (a cursor holds the last row's sort values).

Sort keys: an attribute (numbers as numbers), the weak-supervision confidence of a task, or a random order from a
seed. Missing values sort last in either direction; the record id breaks ties, so every order is total and a cursor
names one place in it.

Random order: every record has a fixed pseudo-random shuffle key, ``hashint8(id)`` (Postgres's 32-bit hash of the
id); a large project gets a partial B-tree index over it (``attribute_indexes``, built in the background on the first
random order, as attribute indexes are). The seed picks an offset in the key's range and the order is the project's
shuffle rotated to start there: the records whose key is at least the offset, by key, then those below it, by key
(ties by id). So a page is two index range scans stopping at the page's end (not a sort of every matching record),
the same seed gives the same order on every page, and every record comes exactly once. Two seeds give the same
cycle from different starting points.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Numeric,
    all_,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from shared_model.models import Record, TaskType
from shared_model.models import WeakSupervisionResult as WSR
from shared_model.service import problem

from .compile import NUMERIC, ProjectCatalog, numeric_value, similar_hits, text_value
from .filters import SimilarityQuery

MAX_SORT_KEYS = 5


class SortKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: Literal["attribute", "confidence", "random", "id", "similarity"]
    attribute: str | None = Field(default=None, max_length=200, description="With by=attribute.")
    task_id: uuid.UUID | None = Field(default=None, description="With by=confidence: the task's weak-supervision confidence.")
    seed: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="With by=random: where the order starts in the project's fixed shuffle of its records (each "
        "record has a fixed pseudo-random key; the order is by that key from the seed's offset, wrapping around). The "
        "same seed gives the same order on every page; another seed starts the same cycle elsewhere.",
    )
    similar_to: SimilarityQuery | None = Field(
        default=None,
        description="With by=similarity: the cosine similarity to a record or a text (neural search's top_k; records "
        "outside them have no score and sort last). Use direction desc for the most similar first.",
    )
    direction: Literal["asc", "desc"] = "asc"

    @model_validator(mode="after")
    def _needs(self) -> SortKey:
        need = {"attribute": "attribute", "confidence": "task_id", "random": "seed", "similarity": "similar_to"}.get(self.by)
        if need and getattr(self, need) is None:
            raise ValueError(f"sorting by {self.by} needs {need}")
        return self


@dataclass
class _Column:
    expr: ColumnElement[Any]
    descending: bool
    kind: str  # "bool", "numeric", "float", "text", "int" (the record id), "random"
    joins: list[tuple[Any, Any]] = field(default_factory=list)
    inner_joins: list[tuple[Any, Any]] = field(default_factory=list)
    where: list[ColumnElement[bool]] = field(default_factory=list)
    constant: bool = False  # the same on every row of the query (not ordered by: Postgres refuses constants there)


Split = Literal["labeled", "unlabeled"]


def split_sort(catalog: ProjectCatalog, keys: list[SortKey]) -> bool:
    """Whether a page is read in two parts: when the first sort key is an attribute, or the confidence of a
    single-label classification task (at most one weak-supervision row per record). The records with a value come
    first in the order of an index (the attribute's expression index, ``ix_weak_supervision_result_confidence``), read only up to
    the page's end; then, when the page is not full, those without a value. A first random key reads the records at
    or after the seed's offset in the shuffle index, then (when the page is not full) those before it."""
    if not keys:
        return False
    first = keys[0]
    if first.by == "random":
        return True
    if first.by == "attribute":
        return first.attribute in catalog.attributes
    if first.by == "similarity":
        return True
    if first.by == "confidence" and first.task_id is not None:
        return catalog.task_types.get(first.task_id) == TaskType.MULTICLASS_CLASSIFICATION
    return False


def sort_columns(catalog: ProjectCatalog, keys: list[SortKey], split: Split | None = None) -> list[_Column]:
    """The ORDER BY columns (a null flag before each nullable value, the record id last).

    ``split`` (see :func:`split_sort`): the first key's records with a value (``labeled``; a confidence: joined to
    their one weak-supervision row), or those without one (``unlabeled``); the columns and cursors are the same as
    without a split, so a cursor of either part continues the one order."""
    if len(keys) > MAX_SORT_KEYS:
        raise problem(422, f"sort: at most {MAX_SORT_KEYS} keys, not {len(keys)}")
    if any(key.by == "random" for key in keys):
        catalog.used_shuffle = True  # a large project's shuffle index (attribute_indexes)
    if keys and keys[0].by == "random":  # (shuffle key, id) is a total order: later keys never decide
        return _random_columns(keys[0], 0, split)
    return _key_columns(catalog, keys, split)


def _key_columns(catalog: ProjectCatalog, keys: list[SortKey], split: Split | None) -> list[_Column]:
    columns: list[_Column] = []
    joins: list[tuple[Any, Any]] = []
    for i, key in enumerate(keys):
        where = f"sort[{i}]"
        if key.by == "id":
            columns.append(_Column(Record.id.expression, key.direction == "desc", "int"))
            continue
        if key.by == "random":
            columns.extend(_random_columns(key, i, split))
            continue
        if key.by == "similarity":
            assert key.similar_to is not None
            hits = similar_hits(catalog, key.similar_to, f"{where}.similar_to")
            if i == 0 and split is not None:
                columns.extend(_split_similarity(hits, key.direction == "desc", split))
                continue
            scores = hits_table(hits, f"similarity_{i}")
            joins.append((scores, scores.c.record_id == Record.id))
            columns.append(_Column(scores.c.score.is_(None), False, "bool"))
            columns.append(_Column(scores.c.score, key.direction == "desc", "float"))
            continue
        if key.by == "attribute":
            assert key.attribute is not None
            kind = catalog.attributes.get(key.attribute)
            if kind is None:
                raise problem(422, f"{where}: attribute {key.attribute!r} does not exist in this project")
            expr: ColumnElement[Any]
            if kind in NUMERIC:
                expr = numeric_value(key.attribute)
                value_kind = "numeric"
            else:
                expr = text_value(key.attribute, case_sensitive=True)
                value_kind = "text"
            catalog.used_attributes.add(key.attribute)
            if i == 0 and split is not None:
                columns.extend(_split_value(expr, value_kind, key.direction == "desc", split))
                continue
        else:
            assert key.task_id is not None
            if key.task_id not in catalog.tasks:
                raise problem(422, f"{where}: labeling task {key.task_id} does not exist in this project")
            version = catalog.ws_version(key.task_id)
            if i == 0 and split is not None:
                columns.extend(_split_confidence(version, key, split))
                continue
            # an outer join of the task's current weak-supervision version (one row per record, its highest
            # confidence), not an aggregate over label rows
            confidences = aliased(WSR, name=f"ws_confidence_{i}")
            joins.append((confidences, (confidences.version_id == version) & (confidences.record_id == Record.id)))
            expr = confidences.confidence.expression
            value_kind = "float"
        columns.append(_Column(expr.is_(None), False, "bool"))
        columns.append(_Column(expr, key.direction == "desc", value_kind))
    if not any(c.kind == "int" for c in columns):
        columns.append(_Column(Record.id.expression, False, "int"))
    if joins:
        columns[0].joins = joins
    return columns


def _split_value(expr: ColumnElement[Any], kind: str, descending: bool, split: Split) -> list[_Column]:
    if split == "unlabeled":
        flag = _Column(literal(True), False, "bool", where=[expr.is_(None)], constant=True)
        return [flag, _Column(null(), descending, kind, constant=True)]
    flag = _Column(literal(False), False, "bool", where=[expr.is_not(None)], constant=True)
    return [flag, _Column(expr, descending, kind)]


def hits_table(hits: list[tuple[int, float]], name: str) -> Any:
    """Neural search's hits as a table (record_id, score)."""
    ids = cast(literal([h[0] for h in hits], ARRAY(BigInteger)), ARRAY(BigInteger))
    scores = cast(literal([h[1] for h in hits], ARRAY(Float)), ARRAY(Float))
    return select(func.unnest(ids).label("record_id"), func.unnest(scores).label("score")).subquery(name)


def _split_similarity(hits: list[tuple[int, float]], descending: bool, split: Split) -> list[_Column]:
    """The hits (joined to their scores), then the other records (not one of the hits)."""
    if split == "unlabeled":
        ids = cast(literal([h[0] for h in hits], ARRAY(BigInteger)), ARRAY(BigInteger))
        flag = _Column(literal(True), False, "bool", where=[Record.id != all_(ids)], constant=True)
        return [flag, _Column(null().cast(Float), descending, "float", constant=True)]
    scores = hits_table(hits, "similarity_sort")
    flag = _Column(literal(False), False, "bool", inner_joins=[(scores, scores.c.record_id == Record.id)], constant=True)
    return [flag, _Column(scores.c.score, descending, "float")]


def _split_confidence(version: uuid.UUID, key: SortKey, split: Split) -> list[_Column]:
    """A single-label task's records with a weak-supervision label (its row in the current version, read in the order
    of the version's (version, confidence) index), then those without."""
    if split == "unlabeled":
        none = ~exists().where(WSR.version_id == version, WSR.record_id == Record.id)
        flag = _Column(literal(True), False, "bool", where=[none], constant=True)
        return [flag, _Column(null().cast(Float), key.direction == "desc", "float", constant=True)]
    row = aliased(WSR, name="ws_sort")
    on = (row.version_id == version) & (row.record_id == Record.id)
    flag = _Column(literal(False), False, "bool", inner_joins=[(row, on)], constant=True)
    return [flag, _Column(row.confidence.expression, key.direction == "desc", "float")]


def sorted_from(query: Any, columns: list[_Column]) -> Any:
    """``query`` (on ``record``) with the joins (and conditions) the sort columns need."""
    for column in columns:
        for target, onclause in column.inner_joins:
            query = query.join(target, onclause)
        for target, onclause in column.joins:
            query = query.outerjoin(target, onclause)
        if column.where:
            query = query.where(*column.where)
    return query


KEY_RANGE = 2**32  # hashint8 is a 32-bit signed integer


def shuffle_key() -> ColumnElement[Any]:
    """The record's fixed shuffle key (a function of the id: every write path has it; an edit keeps it)."""
    return func.hashint8(Record.id)


def seed_offset(seed: str) -> int:
    """Where the seed's order starts in the shuffle key's range (a signed 32-bit integer)."""
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big")
    return value - KEY_RANGE // 2


def random_key(seed: str) -> ColumnElement[Any]:
    """The seed's order as one integer per record (a random key after the first, and sorts that read every record):
    the shuffle key's distance from the seed's offset, going up and wrapping around, ``0 … 2**32 - 1``."""
    return (cast(shuffle_key(), BigInteger) + (KEY_RANGE - seed_offset(seed))) % KEY_RANGE


def _random_columns(key: SortKey, i: int, split: Split | None) -> list[_Column]:
    """A random key's columns: first, read in two parts (``split``) or as one integer with the id in the key's
    direction (ties as the split reads them: the same order); after another key, the integer alone."""
    descending = key.direction == "desc"
    if i == 0 and split is not None:
        return _split_random(key.seed or "", descending, split)
    rotated = _Column(random_key(key.seed or ""), descending, "random")
    return [rotated, _Column(Record.id.expression, descending, "int")] if i == 0 else [rotated]


def _split_random(seed: str, descending: bool, split: Split) -> list[_Column]:
    """A first random key read in two index range scans: ascending, the keys at or after the seed's offset, then
    those before it; descending, the reverse (below the offset downwards, then from the top down to it). The flag
    names the part, the key and the id (in the same direction, as the index reads them) order within it."""
    key = shuffle_key()
    offset = literal(seed_offset(seed))
    first_part = key < offset if descending else key >= offset
    second_part = key >= offset if descending else key < offset
    flag = literal(split == "unlabeled")
    where = first_part if split == "labeled" else second_part
    return [
        _Column(flag, False, "bool", where=[where], constant=True),
        _Column(key, descending, "random"),
        _Column(Record.id.expression, descending, "int"),
    ]


def order_by(columns: list[_Column]) -> list[Any]:
    return [c.expr.desc() if c.descending else c.expr.asc() for c in columns if not c.constant]


def encode_cursor(values: list[Any]) -> str:
    plain = [str(v) if v is not None and not isinstance(v, bool | int | float | str) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """A cursor's values (422 when it is not a cursor)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError:
        raise problem(422, "cursor: not a cursor of this query's sort order (send the same sort as for the first page)") from None
    if not isinstance(values, list):
        raise problem(422, "cursor: not a cursor of this query's sort order (send the same sort as for the first page)")
    return values


def after_cursor(columns: list[_Column], cursor: str) -> ColumnElement[bool]:
    """Rows after the cursor's place in the order (422 for a cursor that does not fit this sort)."""
    try:
        values = decode_cursor(cursor)
        if len(values) != len(columns):
            raise ValueError("length")
        typed = [_typed(c, v) for c, v in zip(columns, values, strict=True)]
    except (ValueError, TypeError):
        raise problem(422, "cursor: not a cursor of this query's sort order (send the same sort as for the first page)") from None
    alternatives: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for column, value in zip(columns, typed, strict=True):
        if value is None:
            beyond: ColumnElement[bool] = false()
            same: ColumnElement[bool] = column.expr.is_(None)
        else:
            beyond = column.expr < value if column.descending else column.expr > value
            same = column.expr == value
        alternatives.append(and_(*equal, beyond) if equal else beyond)
        equal.append(same)
    if len(columns) > 2 and columns[0].constant and columns[1].kind == "random" and typed[1] is not None:
        # a split random order: the key's bound as a plain comparison too, so that the shuffle index starts the scan
        # at the cursor (under the OR alone it would read the part from its start: deep pages as slow as sorting)
        bound = columns[1].expr <= typed[1] if columns[1].descending else columns[1].expr >= typed[1]
        return or_(alternatives[0], and_(equal[0], bound, or_(*alternatives[1:])))
    return or_(*alternatives)


def _typed(column: _Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("bool")
        return literal(value)
    if column.kind in ("int", "random"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("int")
        return literal(value)
    if column.kind == "numeric":
        return cast(literal(str(value)), Numeric)
    if column.kind == "float":
        return literal(float(value), Float)
    if not isinstance(value, str):
        raise ValueError("text")
    return literal(value).collate("C")
