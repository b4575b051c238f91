"""Where the partitions of a run execute: the local pool (threads, each driving its own sandbox) or a Ray cluster
(``REFINERY_RAY_ADDRESS``); :func:`run_partitioned` drives a whole partitioned pass (labeling functions or an
attribute calculation) and hands the answers on in record order.

On Ray, each partition is a task of a trusted driver (:func:`ray_partition`): it checks the node's sandbox (a node
without one refuses the work, and the task is retried elsewhere), launches bubblewrap, parses the sandbox's JSON and
returns plain lists and dicts; nothing from the sandbox is unpickled. The project context (lookup lists included)
and the functions' code go into the object store once per run, so each node fetches them once, not per partition.
A worker or node that dies mid-task has its partitions retried (``executor_partition_attempts``); partitions are
pure functions of their records and code, so a retried run stores exactly what a clean one would. Cancelling
force-cancels the running tasks (their worker processes die, and bubblewrap's ``--die-with-parent`` takes the
sandbox with them).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from shared_model.jobs import JobCancelled, JobContext
from shared_model.ray_connect import cluster_cpus
from shared_model.settings import get_settings

from .partitions import InOrder, Partition, Plan, plan, run_partition
from .project_context import FULL_LIMITS, FunctionSpec, ProjectContext
from .ray_cluster import connect
from .runs import pass_workers
from .sandbox.backends import Limits, SandboxUnavailable
from .sandbox.session import SandboxError
from .scheduling import within_time_limit

WAIT_S = 0.2  # how often the driver polls for cancellation while partitions run


def _answer_or_failure(
    context: ProjectContext,
    specs: list[FunctionSpec],
    part: Partition,
    limits: Limits,
    token_counts: dict[str, str],
    poll: Callable[[], None] | None,
) -> dict[str, Any]:
    """:func:`run_partition`; a sandbox that cannot finish (time, crash) becomes ``{"failed": reason}`` (it would
    fail the same way again: not retried)."""
    try:
        return run_partition(context, specs, part, limits=limits, token_counts=token_counts, poll=poll)
    except SandboxError as exc:
        return {"group": part.group, "index": part.index, "failed": str(exc)}


def ray_partition(
    context: ProjectContext, specs: list[FunctionSpec], part: Partition, limits: Limits, token_counts: dict[str, str]
) -> dict[str, Any]:
    """The Ray task: refuse without a working sandbox on this node, else run the partition."""
    import ray

    from .sandbox.availability import check_sandbox

    node = ray.get_runtime_context().get_node_id()
    check = check_sandbox()
    if not check.usable:
        raise SandboxUnavailable(f"Ray node {node} ({os.uname().nodename}) refuses the work: {check.reason}")
    return {**_answer_or_failure(context, specs, part, limits, token_counts, None), "node": node}


class _Runner:
    """The one driver loop of both runners: submit every partition, hand on each answer as it arrives, poll for
    cancellation between waits, and stop what still runs when the loop ends (done, cancelled or failed)."""

    def _open(
        self, context: ProjectContext, plan: Plan, limits: Limits, token_counts: dict[str, str]
    ) -> Callable[[Partition], Any]:
        """Set up for one run; the function that submits one partition (returning its handle)."""
        raise NotImplementedError

    def _wait(self, pending: list[Any]) -> tuple[list[Any], list[Any]]:
        """The finished handles and the others, after at most :data:`WAIT_S`."""
        raise NotImplementedError

    def _result(self, handle: Any) -> dict[str, Any]:
        raise NotImplementedError

    def slots(self) -> int:
        """How many partitions run at once."""
        raise NotImplementedError

    def _close(self, pending: list[Any]) -> None:
        """Stop the partitions still pending and release what :meth:`_open` set up."""
        raise NotImplementedError

    def run(
        self,
        context: ProjectContext,
        plan: Plan,
        limits: Limits,
        token_counts: dict[str, str],
        poll: Callable[[], None],
    ) -> Iterator[dict[str, Any]]:
        submit = self._open(context, plan, limits, token_counts)
        pending: list[Any] = []
        try:
            pending = [submit(part) for part in plan.partitions]
            while pending:
                done, pending = self._wait(pending)
                for handle in done:
                    yield self._result(handle)
                poll()
        finally:
            self._close(pending)


class LocalRunner(_Runner):
    """Partitions on a pool of threads in this process, each driving its own sandboxed worker."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None

    def slots(self) -> int:
        return self.workers

    def _halted(self) -> None:
        if self._stop.is_set():
            raise JobCancelled()

    def _open(
        self, context: ProjectContext, plan: Plan, limits: Limits, token_counts: dict[str, str]
    ) -> Callable[[Partition], Any]:
        self._stop = threading.Event()
        pool = self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="partition")
        return lambda p: pool.submit(_answer_or_failure, context, plan.groups[p.group], p, limits, token_counts, self._halted)

    def _wait(self, pending: list[Any]) -> tuple[list[Any], list[Any]]:
        done, rest = wait(pending, timeout=WAIT_S, return_when=FIRST_COMPLETED)
        return list(done), list(rest)

    def _result(self, handle: Any) -> dict[str, Any]:
        future: Future[dict[str, Any]] = handle
        return future.result()

    def _close(self, pending: list[Any]) -> None:
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class RayRunner(_Runner):
    """Partitions as Ray tasks on the cluster at ``address``."""

    def __init__(self, address: str, attempts: int) -> None:
        self.address = address
        self.attempts = attempts
        self._ray: Any = None

    def slots(self) -> int:
        """The cluster's CPUs (one per running partition)."""
        return cluster_cpus(connect(self.address))

    def _open(
        self, context: ProjectContext, plan: Plan, limits: Limits, token_counts: dict[str, str]
    ) -> Callable[[Partition], Any]:
        ray = self._ray = connect(self.address)
        task = ray.remote(num_cpus=1, max_retries=self.attempts - 1, retry_exceptions=[SandboxUnavailable])(ray_partition)
        shared_context = ray.put(context)  # once per run: each node fetches it once
        shared_groups = [ray.put(group) for group in plan.groups]
        shared_limits = ray.put(limits)
        shared_counts = ray.put(token_counts)
        return lambda p: task.remote(shared_context, shared_groups[p.group], p, shared_limits, shared_counts)

    def _wait(self, pending: list[Any]) -> tuple[list[Any], list[Any]]:
        done, rest = self._ray.wait(pending, num_returns=1, timeout=WAIT_S)
        return list(done), list(rest)

    def _result(self, handle: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self._ray.get(handle)
        return answer

    def _close(self, pending: list[Any]) -> None:
        for ref in pending:
            self._ray.cancel(ref, force=True)


def get_runner(workers: int) -> LocalRunner | RayRunner:
    """Ray when ``ray_address`` is set, else the local pool of ``workers`` threads."""
    settings = get_settings()
    if settings.ray_address:
        return RayRunner(settings.ray_address, settings.executor_partition_attempts)
    return LocalRunner(workers)


def partitioned() -> bool:
    """Whether labeling-function runs and attribute calculations go as partitions (Ray configured, or asked for on
    the local pool)."""
    settings = get_settings()
    return bool(settings.ray_address) or settings.executor_partitions


def run_partitioned(
    ctx: JobContext,
    context: ProjectContext,
    specs: list[FunctionSpec],
    *,
    token_counts: dict[str, str],
    on_ready: Callable[[dict[str, Any]], None],
    on_batch: Callable[[dict[str, Any], int], None],
    on_partition: Callable[[int, int], None],
    halted: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """One pass of ``specs`` as (function group x record-id range) partitions on :func:`get_runner`'s runner, within
    the job's time limit. The answers are handed to ``on_ready``/``on_batch`` per group in record order (as a
    one-pass run hands its batches); ``on_partition(finished, partitions)`` after each partition. Polls for a cancel
    at most twice a second (and ``halted()``: JobCancelled); a partition that fails raises :class:`SandboxError`;
    an exception raised by a callback stops the partitions still running. The pass's timings."""
    started = time.monotonic()
    workers = pass_workers()
    settings = get_settings()
    runner = get_runner(workers)
    slots = runner.slots()
    cut = plan(context.project_id, specs, groups=workers, records_per_partition=settings.executor_partition_records, slots=slots)
    limits = within_time_limit(context.limits(FULL_LIMITS), ctx)
    order = InOrder(cut.ranges, on_ready, on_batch)
    last_poll = 0.0

    def poll() -> None:  # at most twice a second: a cancel is seen well within 5 s
        nonlocal last_poll
        if time.monotonic() - last_poll >= 0.5:
            last_poll = time.monotonic()
            ctx.check_cancelled()
        if halted():
            raise JobCancelled()

    finished = 0
    nodes: set[str] = set()
    spent = {"start": 0.0, "total": 0.0}
    for answer in runner.run(context, cut, limits, token_counts, poll):
        if "failed" in answer:
            raise SandboxError(str(answer["failed"]))
        nodes.add(str(answer.get("node", "local")))
        for key in spent:
            spent[key] += float((answer.get("seconds") or {}).get(key, 0.0))
        order.add(answer)
        finished += 1
        on_partition(finished, len(cut.partitions))
    return {
        "partitions": len(cut.partitions),
        "ranges": cut.ranges,
        "groups": len(cut.groups),
        "runner": "ray" if settings.ray_address else "local",
        "nodes": len(nodes),
        "total_s": round(time.monotonic() - started, 3),
        # what the partitions cost where they ran, summed: their sandboxes' starts and their whole runs (reading,
        # the functions, the answer); against total_s x slots it shows what the driver and the runner add
        "partition_start_s": round(spent["start"], 3),
        "partition_s": round(spent["total"], 3),
        "slots": slots,
    }
