"""Search-hit highlights for a page of records: where the filter's text conditions matched (character ranges).

Only the shown records are scanned (in Python), so highlighting costs the same at any project size (refinery#190:
highlighting lagged 2–3 s). Conditions under a negation highlight nothing (they match where the text is absent).
"""

from __future__ import annotations

from typing import Any

from .compile import NUMERIC, SEARCHABLE, wildcard_regex
from .filters import AttributeCondition, FilterGroup, Operator

MAX_SPANS = 100  # per attribute and record


def text_conditions(group: FilterGroup | None) -> list[AttributeCondition]:
    """The attribute conditions that select by presence (not under a negation)."""
    found: list[AttributeCondition] = []

    def walk(node: FilterGroup) -> None:
        if node.negate:
            return
        for child in node.conditions:
            if isinstance(child, FilterGroup):
                walk(child)
            elif isinstance(child, AttributeCondition) and not child.negate:
                found.append(child)

    if group is not None:
        walk(group)
    return found


def _spans(text: str, condition: AttributeCondition) -> list[list[int]]:
    haystack = text if condition.case_sensitive else text.lower()
    needles = [str(v) if condition.case_sensitive else str(v).lower() for v in condition.values]
    op = condition.operator
    if op == Operator.CONTAINS:
        needle, at = needles[0], 0
        spans: list[list[int]] = []
        while needle and len(spans) < MAX_SPANS:
            at = haystack.find(needle, at)
            if at < 0:
                break
            spans.append([at, at + len(needle)])
            at += len(needle)
        return spans
    if op == Operator.BEGINS_WITH and haystack.startswith(needles[0]):
        return [[0, len(needles[0])]]
    if op == Operator.ENDS_WITH and needles[0] and haystack.endswith(needles[0]):
        return [[len(text) - len(needles[0]), len(text)]]
    if op in (Operator.EQUAL, Operator.IN) and haystack in needles:
        return [[0, len(text)]]
    if op == Operator.IN_WC and any(wildcard_regex(n).fullmatch(haystack) for n in needles):
        return [[0, len(text)]]
    return []


def highlights(
    data: dict[str, Any], conditions: list[AttributeCondition], attributes: dict[str, Any]
) -> dict[str, list[list[int]]]:
    """Per text attribute of ``data``, the sorted, merged character ranges the conditions matched."""
    out: dict[str, list[list[int]]] = {}
    for condition in conditions:
        names = [condition.attribute] if condition.attribute is not None else list(attributes)
        for name in names:
            kind = attributes.get(name)
            value = data.get(name)
            if kind is None or kind in NUMERIC or kind not in SEARCHABLE or not isinstance(value, str):
                continue
            spans = _spans(value, condition)
            if spans:
                out.setdefault(name, []).extend(spans)
    for name, spans in out.items():
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out[name] = merged[:MAX_SPANS]
    return out
