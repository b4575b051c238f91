"""Search-hit highlights for a page of records: where the filter's text conditions matched (character ranges).

Only the shown records are scanned (in Python), so highlighting costs the same at any project size (refinery#190:
highlighting lagged 2–3 s). Conditions under a negation highlight nothing (they match where the text is absent).
"""

from __future__ import annotations

import re
from typing import Any

from .compile import NUMERIC, SEARCHABLE, wildcard_regex
from .filters import AttributeCondition, FilterGroup, FullTextCondition, Operator

MAX_SPANS = 100  # per attribute and record


Marked = AttributeCondition | FullTextCondition


def text_conditions(group: FilterGroup | None) -> list[Marked]:
    """The attribute and full-text conditions that select by presence (not under a negation)."""
    found: list[Marked] = []

    def walk(node: FilterGroup) -> None:
        if node.negate:
            return
        for child in node.conditions:
            if isinstance(child, FilterGroup):
                walk(child)
            elif isinstance(child, AttributeCondition | FullTextCondition) and not child.negate:
                found.append(child)

    if group is not None:
        walk(group)
    return found


def query_words(query: str) -> list[str]:
    """The words a full-text query looks for (lower-cased; not those after ``-``, nor the ``or`` operator)."""
    words = []
    for match in re.finditer(r'(^|[\s(])(-?)"?([^\s"()]+)', query):
        if match.group(2):
            continue
        words += [w.lower() for w in re.findall(r"\w+", match.group(3))]
    phrases = re.findall(r'"([^"]*)"', query)
    words += [w.lower() for phrase in phrases for w in re.findall(r"\w+", phrase)]
    return sorted({w for w in words if w != "or"})


def _word_spans(text: str, words: list[str]) -> list[list[int]]:
    spans: list[list[int]] = []
    for match in re.finditer(r"\w+", text):
        if match.group(0).lower() in words:
            spans.append([match.start(), match.end()])
            if len(spans) >= MAX_SPANS:
                break
    return spans


def _spans(text: str, condition: Marked) -> list[list[int]]:
    if isinstance(condition, FullTextCondition):
        return _word_spans(text, query_words(condition.query))
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


def highlights(data: dict[str, Any], conditions: list[Marked], attributes: dict[str, Any]) -> dict[str, list[list[int]]]:
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
