"""Attribute type inference over the staged (text) columns, as the original does with pandas.

Rules, on the non-null values of a column:

* all integers (``^[+-]?[0-9]+$``) → INTEGER, or TEXT if one lies outside the 32-bit range (the original's
  "int above 2^31−1 → TEXT");
* all numbers (integers, decimals, exponents) → FLOAT;
* all ``true``/``false`` (any case) → BOOLEAN;
* otherwise CATEGORY when the distinct values are at most 20 % of the rows and the longest is under 50 characters,
  else TEXT. A column with no value at all is TEXT.

A JSON or XLSX column holding any string is never numeric or boolean (its values stay text). Each check is an
``EXISTS`` query that stops at the first counter-example, so a text column costs one scan (its length), an integer
column one (plus one for the primary-key check).
"""

from __future__ import annotations

from typing import Any

from shared_model.models import DataType

INT_RE = r"^[+-]?[0-9]+$"
FLOAT_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
CATEGORY_MAX_UNIQUE_SHARE = 0.2
CATEGORY_MAX_LENGTH = 50

# Which inferred types an existing attribute of a type accepts on append (None: a column with no value).
ACCEPTS: dict[DataType, set[DataType]] = {
    DataType.INTEGER: {DataType.INTEGER},
    DataType.FLOAT: {DataType.INTEGER, DataType.FLOAT},
    DataType.BOOLEAN: {DataType.BOOLEAN},
    DataType.CATEGORY: {DataType.INTEGER, DataType.FLOAT, DataType.BOOLEAN, DataType.CATEGORY, DataType.TEXT},
    DataType.TEXT: {DataType.INTEGER, DataType.FLOAT, DataType.BOOLEAN, DataType.CATEGORY, DataType.TEXT},
}


def _exists(cursor: Any, table: str, condition: str, params: tuple[Any, ...] = ()) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {condition})", params)
    return bool(cursor.fetchone()[0])


def infer_type(cursor: Any, table: str, column: str, rows: int, strings_only: bool) -> DataType:
    """The data type of staged text column ``column`` of ``table`` (``rows`` rows in all)."""
    c = column
    if not _exists(cursor, table, f"{c} IS NOT NULL"):
        return DataType.TEXT
    if not strings_only:
        int32 = (
            f"{c} IS NOT NULL AND CASE WHEN {c} !~ %s OR length({c}) > 40 THEN true ELSE {c}::numeric NOT BETWEEN %s AND %s END"
        )
        if not _exists(cursor, table, int32, (INT_RE, INT32_MIN, INT32_MAX)):
            return DataType.INTEGER
        if not _exists(cursor, table, f"{c} IS NOT NULL AND {c} !~ %s", (INT_RE,)):
            return DataType.TEXT  # integers, but beyond the 32-bit range
        if not _exists(cursor, table, f"{c} IS NOT NULL AND {c} !~ %s", (FLOAT_RE,)):
            return DataType.FLOAT
        if not _exists(cursor, table, f"{c} IS NOT NULL AND lower({c}) NOT IN ('true', 'false')"):
            return DataType.BOOLEAN
    if _exists(cursor, table, f"length({c}) >= %s", (CATEGORY_MAX_LENGTH,)):
        return DataType.TEXT
    most = int(CATEGORY_MAX_UNIQUE_SHARE * rows)
    # hashed DISTINCT with a LIMIT stops as soon as there are too many values for a category
    cursor.execute(f"SELECT count(*) FROM (SELECT DISTINCT {c} FROM {table} WHERE {c} IS NOT NULL LIMIT %s) d", (most + 1,))
    unique = int(cursor.fetchone()[0])
    return DataType.CATEGORY if unique <= most else DataType.TEXT


def json_value_sql(column: str, data_type: DataType) -> str:
    """SQL turning staged text into the JSON value stored in ``record.data`` for an attribute of ``data_type``."""
    if data_type == DataType.INTEGER:
        return f"{column}::bigint"
    if data_type == DataType.FLOAT:
        return f"{column}::numeric"
    if data_type == DataType.BOOLEAN:
        return f"{column}::boolean"
    return column


def is_unique(cursor: Any, table: str, column: str) -> bool:
    """Whether an INTEGER column has a value in every row and no value twice (a usable primary key)."""
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} IS NULL)")
    if cursor.fetchone()[0]:
        return False
    distinct = f"SELECT count(*) FROM (SELECT DISTINCT {column}::bigint FROM {table}) d"
    cursor.execute(f"SELECT ({distinct}) = (SELECT count(*) FROM {table})")
    return bool(cursor.fetchone()[0])


def not_unique(cursor: Any, table: str, column: str) -> str | None:
    """Why an INTEGER staged column is no usable primary key (a row without a value, a value twice), None if it is."""
    cursor.execute(f"SELECT _n FROM {table} WHERE {column} IS NULL ORDER BY _n LIMIT 1")
    empty = cursor.fetchone()
    if empty is not None:
        return f"has no value in row {empty[0]}"
    if is_unique(cursor, table, column):
        return None
    cursor.execute(
        f"SELECT {column}::bigint, (array_agg(_n ORDER BY _n))[1:2] FROM {table} GROUP BY 1 HAVING count(*) > 1"
        " ORDER BY min(_n) LIMIT 1"
    )
    value, rows = cursor.fetchone()
    return f"has the value {value} in rows {rows[0]} and {rows[1]}"
