"""Data-parallel work units of a labeling-function run or an attribute calculation: (function group x record-id range)
partitions.

Each partition reads only its own record-id range, runs its group's functions in a sandbox of its own (one worker
session: bubblewrap, as every pass) and returns a compact, JSON-shaped answer: per function the records it labels,
grouped by label (``hits``), the other results as entries, the refusals and the printed output. The same units run
on the local pool and on Ray (:mod:`executor.partition_runners`); the answers are merged in record order, so a
partitioned run stores exactly the votes of the one-pass run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from shared_model.db import session_scope

from .project_context import FunctionSpec, ProjectContext
from .runs import run_functions, split_specs
from .sandbox.backends import Limits

STDOUT_CAP = 100_000  # printed output kept per function and partition
TRUNCATED = "[output truncated:"  # how a cut output ends


@dataclass(frozen=True)
class Partition:
    """A work unit: the functions of group ``group`` over the records with ids in ``[first_id, last_id]`` (``last_id``
    None: no upper end). ``index`` orders the ranges (0, 1, ... by record id)."""

    group: int
    index: int
    first_id: int
    last_id: int | None


@dataclass
class Plan:
    """A run cut into partitions: the groups of functions and every (group, range) unit."""

    groups: list[list[FunctionSpec]]
    partitions: list[Partition]
    ranges: int


def range_starts(project_id: uuid.UUID, records_per_partition: int) -> list[int]:
    """The first record id of each range of ``records_per_partition`` records (in id order)."""
    with session_scope() as session:
        rows = session.execute(
            text(
                "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM record WHERE project_id = :p) s"
                " WHERE (n - 1) % :size = 0 ORDER BY id"
            ),
            {"p": project_id, "size": records_per_partition},
        )
        return [int(row[0]) for row in rows]


def plan(
    project_id: uuid.UUID, specs: list[FunctionSpec], *, groups: int, records_per_partition: int, slots: int | None = None
) -> Plan:
    """Cut a run of ``specs`` into at most ``groups`` groups times the project's record ranges. With ``slots`` (how
    many partitions run at once), only as many groups as needed to give every slot a partition: with at least as
    many ranges as slots, one group, so that each record is read and decoded once and each range starts one sandbox
    (a group per slot read every range once per group: half the partitions' starts and reads were spent on that)."""
    starts = range_starts(project_id, records_per_partition)
    if slots is not None:
        groups = min(groups, max(1, -(-slots // max(1, len(starts)))))
    dealt = split_specs(specs, groups)
    bounds = [(start, starts[i + 1] - 1 if i + 1 < len(starts) else None) for i, start in enumerate(starts)]
    partitions = [
        Partition(group=g, index=i, first_id=first, last_id=last)
        for i, (first, last) in enumerate(bounds)
        for g in range(len(dealt))
    ]
    return Plan(dealt, partitions, len(bounds))


def partition_record_ids(project_id: uuid.UUID, part: Partition) -> list[int]:
    with session_scope() as session:
        rows = session.execute(
            text(
                "SELECT id FROM record WHERE project_id = :p AND id >= :first"
                " AND (CAST(:last AS bigint) IS NULL OR id <= CAST(:last AS bigint)) ORDER BY id"
            ),
            {"p": project_id, "first": part.first_id, "last": part.last_id},
        )
        return [int(row[0]) for row in rows]


@dataclass
class _Merged:
    """A partition's batch messages merged into one (results in record order)."""

    results: dict[str, list[Any]] = field(default_factory=dict)
    hits: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    stdout: dict[str, str] = field(default_factory=dict)

    def add(self, message: dict[str, Any], _done: int) -> None:
        for fid, reason in (message.get("refused") or {}).items():
            self.refused.setdefault(fid, reason)
        for fid, entries in (message.get("results") or {}).items():
            self.results.setdefault(fid, []).extend(entries)
        for fid, grouped in (message.get("hits") or {}).items():
            mine = self.hits.setdefault(fid, {})
            for value, ids in grouped.items():
                mine.setdefault(value, []).extend(ids)
        for fid, printed in (message.get("stdout") or {}).items():
            if printed:
                joined = self.stdout.get(fid, "") + str(printed)
                if len(joined) > STDOUT_CAP:  # cut, and say so (as the sandbox's own cap does)
                    kept = joined[:STDOUT_CAP]
                    more = len(joined) - STDOUT_CAP
                    joined = kept + (f"\n[output truncated: {more} more characters]" if TRUNCATED not in kept else "")
                self.stdout[fid] = joined

    def message(self) -> dict[str, Any]:
        return {"results": self.results, "hits": self.hits, "refused": self.refused, "stdout": self.stdout}


def run_partition(
    context: ProjectContext,
    specs: list[FunctionSpec],
    part: Partition,
    *,
    limits: Limits,
    token_counts: dict[str, str],
    poll: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run ``specs`` over the partition's records in one sandboxed worker; the compact answer (JSON-shaped):
    ``{"group", "index", "records", "ready", "message"}``. The records are read by one ``COPY`` of the partition's
    id range (decoded in the sandbox), or in batches with their DocBins when the code needs tokens. Labeling
    functions' plain labels come grouped (``hits``); an attribute calculation's values come as entries in record
    order. Raises what :func:`run_functions` raises."""
    merged = _Merged()
    done = 0
    started = time.perf_counter()
    ready_at = started

    def on_ready(_readiness: dict[str, Any]) -> None:
        nonlocal ready_at
        ready_at = time.perf_counter()

    def on_batch(message: dict[str, Any], records: int) -> None:
        nonlocal done
        done = max(done, records)
        merged.add(message, records)

    ready = run_functions(
        context,
        specs,
        record_ids=None,
        id_range=(part.first_id, part.last_id),
        limits=limits,
        on_ready=on_ready,
        on_batch=on_batch,
        stop_on_error=True,
        poll=poll,
        token_counts=token_counts,
        compact_hits=all(spec.mode == "lf" for spec in specs),
        refuse_per_function=True,
        workers=1,
    )
    ready.pop("__timings__", None)
    seconds = {"start": round(ready_at - started, 4), "total": round(time.perf_counter() - started, 4)}
    return {
        "group": part.group,
        "index": part.index,
        "records": done,
        "ready": ready,
        "message": merged.message(),
        "seconds": seconds,  # the sandbox's start (until its functions were ready) and the whole partition
    }


class InOrder:
    """Answers of partitions arriving in any order, handed on per group in range order (so votes are stored in the
    order of a one-pass run); the readiness of each function is handed on once, before its first results."""

    def __init__(
        self,
        ranges: int,
        on_ready: Callable[[dict[str, Any]], None],
        on_batch: Callable[[dict[str, Any], int], None],
    ) -> None:
        self.ranges = ranges
        self.on_ready = on_ready
        self.on_batch = on_batch
        self.next: dict[int, int] = {}
        self.waiting: dict[tuple[int, int], dict[str, Any]] = {}
        self.ready_seen: set[str] = set()
        self.records = 0

    def add(self, answer: dict[str, Any]) -> None:
        group = int(answer["group"])
        self.waiting[(group, int(answer["index"]))] = answer
        while (group, self.next.get(group, 0)) in self.waiting:
            current = self.waiting.pop((group, self.next.get(group, 0)))
            self.next[group] = self.next.get(group, 0) + 1
            fresh = {fid: info for fid, info in current["ready"].items() if fid not in self.ready_seen}
            self.ready_seen.update(fresh)
            if fresh:
                self.on_ready(fresh)
            self.records += int(current["records"])
            self.on_batch(current["message"], self.records)
