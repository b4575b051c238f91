"""A pool of Ray actors that outlives the loss of a node (docs/scale-out.md): the tokenizer's actors holding the spaCy
pipeline and the embedder's actors holding the model. Ray's own actor restarts do not help when a node goes away: an
actor restarted after its node died needs a CPU (or GPU) that the remaining nodes' actors already hold, so it stays
pending, and the calls queued on it never finish. Here an actor is never restarted in place (``max_restarts=0``): a
call whose actor or node died fails at once (Ray reports the death when the cluster notices the node is gone), and
:class:`ActorCall` sends it again to another live actor, at most ``attempts`` times in all; the pool starts a
replacement actor for each that died. Every actor takes calls only once it has started (a replacement may never start,
when the cluster has no room left; nor may an actor counted on a node that has just died): calls never queue on an
actor that may never run them. An error raised by the call itself (the actor's method) is not retried: the same input
fails the same way; it fails the call with its reason, as does the last failed attempt. ``ray`` is only imported by
the caller (:func:`shared_model.ray_connect.connect`); this module gets it as an argument.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

WAIT_TICK_S = 0.2


@dataclass(eq=False)
class ActorSlot:
    """One actor of the pool: its handle, its readiness while it starts (None once usable), its calls in flight."""

    handle: Any
    ready: Any = None  # the ``__ray_ready__`` reference of a replacement still starting
    dead: bool = False
    calls: set[ActorCall] = field(default_factory=set)


class ActorPool:
    """``count`` actors of ``actor_class(*args)`` on the cluster, each with the Ray ``options`` (e.g. ``num_cpus``)."""

    def __init__(
        self,
        ray: Any,
        actor_class: type,
        args: tuple[Any, ...],
        count: int,
        options: dict[str, Any],
        *,
        attempts: int = 3,
        wait_s: float = 120.0,
        start_s: float = 600.0,
        what: str = "actor",
    ) -> None:
        self.ray = ray
        self.args = args
        self.count = max(1, count)
        self.attempts = max(1, attempts)
        self.wait_s = wait_s  # how long a call sent again waits for a live actor (when none is left)
        self.start_s = start_s  # how long a new call waits for the first actor to start (loading its model)
        self.what = what
        self.remote = ray.remote(max_restarts=0, max_task_retries=0, **options)(actor_class)
        self.slots: list[ActorSlot] = []
        self.started = 0
        self.deaths: list[str] = []
        for _ in range(self.count):
            self._start()
        self._wait_started()

    def _wait_started(self, settle_s: float = 10.0) -> None:
        """Wait (up to ``start_s``) for the actors to start (their models loaded); once one has, at most ``settle_s``
        more for the others (an actor that cannot be placed, e.g. counted on a node that has just died, is then
        left starting, and used if it ever starts)."""
        deadline = time.monotonic() + self.start_s
        first: float | None = None
        while True:
            starting = [s.ready for s in self.slots if s.ready is not None and not s.dead]
            now = time.monotonic()
            if self.usable() and first is None:
                first = now
            if not starting or now > deadline or (first is not None and now - first > settle_s):
                return
            self.ray.wait(starting, num_returns=1, timeout=WAIT_TICK_S)

    def call(self, method: str, *args: Any, max_in_flight: int = 0) -> ActorCall | None:
        """Start ``method(*args)`` on the least busy live actor; None when each has ``max_in_flight`` calls already
        (0: no limit) or none is usable now."""
        for slot in list(self.slots):  # the calls that finished meanwhile free their actor (or go to another)
            for running in list(slot.calls):
                running.done()
        slots = self.usable()
        if max_in_flight > 0:
            slots = [s for s in slots if len(s.calls) < max_in_flight]
        if not slots:
            return None
        made = ActorCall(self, method, args)
        made.start(min(slots, key=lambda s: len(s.calls)))
        return made

    def usable(self) -> list[ActorSlot]:
        """The live actors that take calls now (a replacement once it has started)."""
        for slot in self.slots:
            if slot.ready is None or slot.dead:
                continue
            done, _ = self.ray.wait([slot.ready], timeout=0)
            if done:
                try:
                    self.ray.get(slot.ready)
                    slot.ready = None
                except Exception as exc:  # noqa: BLE001 - its constructor failed or its node went: never used
                    self.lost(slot, exc)
        return [s for s in self.slots if not s.dead and s.ready is None]

    def lost(self, slot: ActorSlot, reason: BaseException) -> None:
        """``slot``'s actor died (or its node did): end it, and start a replacement while the pool is below
        ``count`` live actors (at most ``count × attempts`` starts in all, so actors failing to start end it)."""
        if slot.dead:
            return
        slot.dead = True
        self.deaths.append(str(reason).splitlines()[0][:300] if str(reason) else type(reason).__name__)
        try:
            self.ray.kill(slot.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        live = sum(1 for s in self.slots if not s.dead)
        if live < self.count and self.started < self.count * self.attempts:
            self._start()

    def _start(self) -> None:
        handle = self.remote.remote(*self.args)
        self.slots.append(ActorSlot(handle, ready=handle.__ray_ready__.remote()))
        self.started += 1

    def starting(self) -> bool:
        """Whether an actor is still starting."""
        return any(s.ready is not None and not s.dead for s in self.slots)

    def close(self) -> None:
        """End every actor (calls still running on them are lost)."""
        for slot in self.slots:
            try:
                self.ray.kill(slot.handle, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.slots = []


class ActorCall:
    """One call on the pool's actors: its value once done, or the reason it failed (:attr:`error`)."""

    def __init__(self, pool: ActorPool, method: str, args: tuple[Any, ...]) -> None:
        self.pool = pool
        self.method = method
        self.args = args
        self.ref: Any = None
        self.slot: ActorSlot | None = None
        self.tries = 0
        self.value: Any = None
        self.error: str | None = None
        self.finished = False
        self.waiting_since = time.monotonic()
        self.failures: list[str] = []

    def start(self, slot: ActorSlot) -> None:
        self.slot = slot
        self.tries += 1
        slot.calls.add(self)
        self.ref = getattr(slot.handle, self.method).remote(*self.args)

    def done(self) -> bool:
        """Whether it finished (with a value or an error), without waiting; sends it again when its actor died."""
        if self.finished:
            return True
        if self.ref is None:
            self._restart()
            return self.finished
        ready, _ = self.pool.ray.wait([self.ref], timeout=0)
        if ready:
            self._settle()
        return self.finished

    def wait(self, timeout_s: float = WAIT_TICK_S) -> bool:
        """Wait up to ``timeout_s`` for it to finish; whether it did."""
        if not self.done() and self.ref is not None:
            self.pool.ray.wait([self.ref], timeout=timeout_s)
        elif not self.finished:
            time.sleep(min(timeout_s, WAIT_TICK_S))
        return self.done()

    def cancel(self) -> None:
        """Ask Ray to cancel it (an actor's call is not force-cancellable; the pool's actors are killed at its end)."""
        if self.ref is not None and not self.finished:
            try:
                self.pool.ray.cancel(self.ref)
            except Exception:  # noqa: BLE001 - finished meanwhile
                pass

    def _settle(self) -> None:
        ray = self.pool.ray
        slot = self.slot
        try:
            self.value = ray.get(self.ref)
            self.finished = True
        except ray.exceptions.RayTaskError as exc:  # the method itself raised: the same input fails the same way
            self._fail(f"{self.pool.what} failed: {exc}")
        except ray.exceptions.RayError as exc:  # the actor, its worker process or its node died, or its result is lost
            if slot is not None and isinstance(exc, ray.exceptions.RayActorError | ray.exceptions.NodeDiedError):
                self.pool.lost(slot, exc)
            self.failures.append(str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)
            if self.tries >= self.pool.attempts:
                self._fail(
                    f"{self.pool.what} failed {self.tries} times (its actor or node died, or its result was lost);"
                    f" last: {self.failures[-1]}"
                )
            else:
                self.ref = None
                self.waiting_since = time.monotonic()
                self._restart()
        finally:
            if slot is not None:
                slot.calls.discard(self)

    def _restart(self) -> None:
        """Send it to the least busy live actor other than the one it last ran on (that one if it is the only)."""
        slots = self.pool.usable()
        others = [s for s in slots if s is not self.slot] or slots
        if others:
            self.start(min(others, key=lambda s: len(s.calls)))
            return
        limit = self.pool.wait_s if self.tries else self.pool.start_s
        if not self.pool.starting() or time.monotonic() - self.waiting_since > limit:
            died = f" (died: {'; '.join(self.pool.deaths[-3:])})" if self.pool.deaths else ""
            self._fail(f"{self.pool.what} found no live actor on the cluster within {limit:g} s{died}")

    def _fail(self, reason: str) -> None:
        self.error = reason[:2000]
        self.finished = True
        self.ref = None
