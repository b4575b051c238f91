"""Turn an attribute filter into the Python source of an equivalent labeling function (refinery#21).

The function returns the label for the records the filter selects and abstains (``None``) otherwise. Only attribute
conditions (in groups, negated or not) translate; another kind is a 422 naming its place. The generated code has the
same semantics as the SQL: numbers compare as numbers on INTEGER/FLOAT attributes, other values as their text (by
code point, lower-cased unless case-sensitive), a missing value never matches, IN_WC wildcards ``* % ? _``.
"""

from __future__ import annotations

from typing import Any

from shared_model.service import problem

from .compile import NUMERIC, SEARCHABLE, ProjectCatalog
from .filters import AttributeCondition, FilterGroup, check_limits

HELPER = """
    from decimal import Decimal, InvalidOperation
    import re

    def _text(value):
        value = getattr(value, "text", value)  # a spaCy Doc for TEXT attributes
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def _number(value):
        if isinstance(value, bool):
            return None
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError):
            return None

    def _compare(value, op, args):
        if op == "EQUAL":
            return value == args[0]
        if op == "IN":
            return value in args
        if op == "BETWEEN":
            return args[0] <= value <= args[1]
        return {"GREATER": value > args[0], "GREATER_EQUAL": value >= args[0],
                "LESS": value < args[0], "LESS_EQUAL": value <= args[0]}[op]

    def _wildcards(pattern):
        return re.compile("".join(".*" if c in "*%" else "." if c in "?_" else re.escape(c) for c in pattern), re.DOTALL)

    def _attr(name, numeric, op, values, case_sensitive, lenient=False):
        value = record.get(name)
        if value is None:
            return False
        if numeric and op not in ("BEGINS_WITH", "ENDS_WITH", "CONTAINS", "IN_WC"):
            numbers = [_number(v) for v in values]
            if any(n is None for n in numbers):
                return False
            number = _number(getattr(value, "text", value))
            return number is not None and _compare(number, op, numbers)
        text = _text(value)
        texts = [_text(v) for v in values]
        if not case_sensitive:
            text, texts = text.lower(), [t.lower() for t in texts]
        if op == "BEGINS_WITH":
            return text.startswith(texts[0])
        if op == "ENDS_WITH":
            return text.endswith(texts[0])
        if op == "CONTAINS":
            return texts[0] in text
        if op == "IN_WC":
            return any(_wildcards(t).fullmatch(text) for t in texts)
        return _compare(text, op, texts)
"""


def labeling_function(catalog: ProjectCatalog, group: FilterGroup, label: str) -> str:
    """The source of ``def lf(record)`` returning ``label`` where the filter holds."""
    check_limits(group)
    condition = _group(catalog, group, "filter")
    return f"def lf(record):{HELPER}\n    if {condition}:\n        return {label!r}\n    return None\n"


def _group(catalog: ProjectCatalog, group: FilterGroup, path: str) -> str:
    parts = []
    for i, child in enumerate(group.conditions):
        where = f"{path}.conditions[{i}]"
        if isinstance(child, FilterGroup):
            parts.append(_group(catalog, child, where))
        elif isinstance(child, AttributeCondition):
            parts.append(_attribute(catalog, child, where))
        else:
            raise problem(
                422, f"{where}: a {child.kind} condition has no labeling-function equivalent; only attribute conditions do"
            )
    joined = "True" if not parts else f" {group.join.lower()} ".join(f"({p})" for p in parts)
    return f"not ({joined})" if group.negate else joined


def _attribute(catalog: ProjectCatalog, node: AttributeCondition, path: str) -> str:
    values: list[Any] = list(node.values)
    if node.attribute is None:
        names = sorted(name for name, kind in catalog.attributes.items() if kind in SEARCHABLE)
        calls = [
            f"_attr({name!r}, {catalog.attributes[name] in NUMERIC}, {node.operator.value!r}, {values!r}, {node.case_sensitive})"
            for name in names
        ]
        expression = " or ".join(calls) if calls else "False"
    else:
        kind = catalog.attributes.get(node.attribute)
        if kind is None:
            raise problem(422, f"{path}: attribute {node.attribute!r} does not exist in this project", condition=path)
        if kind not in SEARCHABLE:
            raise problem(422, f"{path}: attribute {node.attribute!r} is {kind}; it cannot be filtered", condition=path)
        expression = f"_attr({node.attribute!r}, {kind in NUMERIC}, {node.operator.value!r}, {values!r}, {node.case_sensitive})"
    return f"not ({expression})" if node.negate else expression
