"""Checks of what a sandboxed pass sends back: the shape of each batch's results (a forged or broken result fails
its function, or the pass), labeling functions' values as label rows, attribute values against the attribute's type."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared_model.heuristic_results import INT32_MAX  # token positions and counts are Postgres integers
from shared_model.models import DataType

from .sandbox.session import SandboxError

MAX_INVALID_LISTED = 10


def failed_in(message: dict[str, Any]) -> set[str]:
    """The functions that a batch's message fails: an error on a record, or results refused."""
    failed = set(message.get("refused") or {})
    results = message.get("results")
    if isinstance(results, dict):
        failed.update(fid for fid, entries in results.items() if any(entry[2] is not None for entry in entries))
    return failed


def foreign_results(message: dict[str, Any], ids: set[str]) -> dict[str, str]:
    """When a worker's message speaks for functions it does not run: those entries are dropped and all of ITS
    functions are refused (the code that forged them is among them)."""
    foreign = False
    for key in ("results", "hits", "stdout"):
        part = message.get(key)
        if isinstance(part, dict):
            for fid in [f for f in part if f not in ids]:
                part.pop(fid)
                foreign = True
    return dict.fromkeys(ids, "results of code it does not run") if foreign else {}


def refuse(message: dict[str, Any], problems: dict[str, str], what: str) -> None:
    """Drop the results of the functions with ``problems``, naming each reason in ``message["refused"]``."""
    refused: dict[str, str] = {}
    for fid, problem in problems.items():
        for key in ("results", "hits", "stdout"):
            part = message.get(key)
            if isinstance(part, dict):
                part.pop(fid, None)
        refused[fid] = f"{what}: the sandbox sent {problem}"
    message["refused"] = refused


def check_results(message: dict[str, Any], ids: set[int], what: str) -> None:
    """Refuse (SandboxError) results that are not ``[record id, value, error, stdout, token count]`` entries or
    ``{value: [record ids]}`` hits, one per record of this batch and function."""
    problems = result_problems(message, ids, what)
    if problems:
        raise SandboxError(f"{what}: the sandbox sent {next(iter(problems.values()))}")


def result_problems(message: dict[str, Any], ids: set[int], what: str) -> dict[str, str]:
    """What is wrong with each function's results in a batch's message (function id -> reason; {} when all are fine).

    A message whose shape is wrong as a whole (``results``, ``hits`` or ``stdout`` not a mapping of function ids) is
    not one function's fault: SandboxError.
    """
    results = message.get("results", {})
    hits = message.get("hits", {})
    printed = message.get("stdout", {})
    if not isinstance(results, dict) or not isinstance(hits, dict) or not isinstance(printed, dict):
        raise SandboxError(f"{what}: the sandbox sent something that is not a result")
    problems: dict[str, str] = {}
    for fid in dict.fromkeys([*results, *hits]):
        problem = _function_problem(results.get(fid, []), hits.get(fid, {}), ids)
        if problem is not None:
            problems[str(fid)] = problem
    for fid, output in printed.items():
        if not isinstance(output, str):
            problems.setdefault(str(fid), "printed output that is not text")
    return problems


def _function_problem(entries: Any, grouped: Any, ids: set[int]) -> str | None:
    if not isinstance(entries, list) or not isinstance(grouped, dict):
        return "something that is not a result"
    seen: set[int] = set()
    for entry in entries:
        if not (type(entry) is list and len(entry) == 5 and type(entry[0]) is int):
            return "something that is not a result"
        if entry[0] not in ids:
            return "a result for a record it was not given"
        if entry[0] in seen:
            return f"two results for record {entry[0]}"
        seen.add(entry[0])
        n_tokens = entry[4]
        if n_tokens is not None and not (type(n_tokens) is int and 0 <= n_tokens <= INT32_MAX):
            return f"a token count {str(n_tokens)[:40]} for record {entry[0]}; token counts are ints in [0, 2**31)"
        if entry[2] is not None and not isinstance(entry[2], str):
            return f"an error that is not text for record {entry[0]}"
    for record_ids in grouped.values():
        if not (type(record_ids) is list and set(map(type, record_ids)) <= {int}):
            return "something that is not a result"
        if not ids.issuperset(record_ids):
            return "a result for a record it was not given"
        before = len(seen)
        seen.update(record_ids)
        if len(seen) != before + len(record_ids):
            return "two results for one record"
    return None


@dataclass
class LabelChecker:
    """Turns a labeling function's raw results into (label id, span) rows, collecting the invalid ones."""

    labels: dict[str, uuid.UUID]
    extraction: bool
    invalid: list[str] = field(default_factory=list)
    invalid_count: int = 0

    def _reject(self, record_id: int, reason: str) -> None:
        self.invalid_count += 1
        if len(self.invalid) < MAX_INVALID_LISTED:
            self.invalid.append(f"record {record_id}: {reason}")

    def check(self, record_id: int, value: Any, n_tokens: int | None) -> list[tuple[uuid.UUID, int | None, int | None]]:
        """The rows for one record's result ([] = abstain); invalid results are recorded and give no rows."""
        if not self.extraction:
            if value is None:
                return []
            if not isinstance(value, str):
                self._reject(record_id, f"returned {describe(value)}; return a label name (str) or None")
                return []
            label_id = self.labels.get(value)
            if label_id is None:
                self._reject(record_id, f"unknown label {value!r} (labels: {', '.join(sorted(self.labels))})")
                return []
            return [(label_id, None, None)]
        if not isinstance(value, list):
            self._reject(record_id, f"returned {describe(value)}; yield (label, start, end) tuples")
            return []
        rows: list[tuple[uuid.UUID, int | None, int | None]] = []
        for item in value:
            problem = self._span_problem(item, n_tokens)
            if problem:
                self._reject(record_id, problem)
                return []
            rows.append((self.labels[item[0]], int(item[1]), int(item[2])))
        return rows

    def _span_problem(self, item: Any, n_tokens: int | None) -> str | None:
        if not (isinstance(item, list) and len(item) == 3):
            return f"yielded {describe(item)}; yield label, start_token, end_token"
        label, start, end = item
        if not isinstance(label, str):
            return f"yielded a label of type {describe(label)}; labels are str"
        if label not in self.labels:
            return f"unknown label {label!r} (labels: {', '.join(sorted(self.labels))})"
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            return f"span ({describe(start)}, {describe(end)}) must be two int token indices"
        if start < 0 or end <= start or end > INT32_MAX or (n_tokens is not None and end > n_tokens):
            return f"span [{start}, {end}) is out of range (the text has {n_tokens} tokens; end is exclusive)"
        return None

    def summary(self) -> str:
        listed = "; ".join(self.invalid)
        more = f" (and {self.invalid_count - len(self.invalid)} more)" if self.invalid_count > len(self.invalid) else ""
        return f"{self.invalid_count} record(s) got invalid results: {listed}{more}"


def describe(value: Any) -> str:
    """A short description of a result value for error messages."""
    if isinstance(value, dict) and "__type__" in value:
        return f"a {value['__type__']} ({value.get('__repr__', '')})"
    if isinstance(value, list):
        return f"a list {str(value)[:80]}"
    return f"a {type(value).__name__} {value!r}"[:120]


ATTRIBUTE_TYPE_RULES: dict[DataType, tuple[str, Callable[[Any], bool]]] = {
    DataType.INTEGER: ("an int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    DataType.FLOAT: ("an int or float", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    DataType.BOOLEAN: ("a bool", lambda v: isinstance(v, bool)),
    DataType.CATEGORY: ("a non-empty str", lambda v: isinstance(v, str) and v != ""),
    DataType.TEXT: ("a str", lambda v: isinstance(v, str)),
    DataType.EMBEDDING_LIST: ("a list of str", lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v)),
}


def attribute_value_problem(data_type: DataType, value: Any) -> str | None:
    """Why ``value`` does not fit an attribute of ``data_type`` (None: it fits; None values are missing values)."""
    if value is None:
        return None
    expected, rule = ATTRIBUTE_TYPE_RULES[data_type]
    if rule(value):
        return None
    return f"returned {describe(value)}; a {data_type} attribute needs {expected}"
