"""One sandboxed worker for one run: send the setup, then record batches; read results within the run's limits."""

from __future__ import annotations

import json
import mmap
import os
import pickle
import re
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from shared_model.settings import get_settings

from .backends import SANDBOX_EXTRA, SANDBOX_WORKER, WORKER_PATH, Backend, Limits, SandboxProcess

_HEADER = struct.Struct(">I")
STDERR_KEEP = 16_000
WATCH_INTERVAL_S = 0.2  # how often the watchdog looks at the worker's progress while the executor waits for it
# The worker's progress page (see worker.py): batch number, record position, function index, "in our own code".
_BATCH, _POSITION, _FUNCTION, _OURS = 0, 1, 2, 3
_IDLE, _STARTING = -1, -2


@dataclass(frozen=True)
class Culprit:
    """The function that was running when a worker had to be stopped, and where."""

    function: int  # its index in the worker's setup
    position: int  # the record's position in the batch being worked on; -1 while the function's code started
    limit_s: float | None  # the time limit it ran past (the worker was stopped), None: the worker died under it


class SandboxError(Exception):
    """The sandboxed run could not finish; the message is meant for the user.

    ``reason`` is the message without its "where" prefix; ``culprit``, when known, the function that was running.
    """

    def __init__(self, message: str, *, reason: str | None = None, culprit: Culprit | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message
        self.culprit = culprit


_OUR_FRAME = re.compile(r'^\s*File "(?!<)[^"]*", line \d+')
_PYTHON_PATH = re.compile(r"/[^\s\"'()<>:]*/(?:site-packages|dist-packages|lib/python3\.\d+)/")


def scrub(text: str) -> str:
    """What the sandbox wrote, for the user: no frames of files but their own code ("<name>") and no paths of our
    installation (Python's library shows as ``<python>/json/decoder.py``)."""
    lines = []
    for line in text.splitlines():
        if _OUR_FRAME.match(line):
            continue
        for path in (SANDBOX_WORKER, str(WORKER_PATH)):
            line = line.replace(path, "<sandbox>")
        line = line.replace(SANDBOX_EXTRA + "/", "<python>/")
        line = _PYTHON_PATH.sub("<python>/", line)
        for prefix in {sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}:
            if len(prefix) > 1:
                line = line.replace(prefix, "<python>")
        lines.append(line)
    return "\n".join(lines)


class _Watchdog:
    """Reads the worker's progress page: which function runs on which record since when (outside the sandbox)."""

    def __init__(self, record_s: float, start_s: float) -> None:
        self.record_s = record_s
        self.start_s = start_s
        self.fd = os.memfd_create("refinery-progress", 0)
        os.ftruncate(self.fd, mmap.PAGESIZE)
        self.page = mmap.mmap(self.fd, mmap.PAGESIZE)
        self.slots = memoryview(self.page).cast("q")
        self.slots[_POSITION] = _IDLE
        self.seen: tuple[int, ...] = ()
        self.since = time.monotonic()

    def where(self) -> tuple[int, int, int, int]:
        slots = self.slots
        return slots[_BATCH], slots[_POSITION], slots[_FUNCTION], slots[_OURS]

    def overdue(self) -> tuple[Culprit, float] | None:
        """The function that has run longer than its limit on one record (or while starting), and the limit."""
        now = time.monotonic()
        seen = self.where()
        if seen != self.seen:
            self.seen, self.since = seen, now
            return None
        _, position, function, ours = seen
        if ours or position == _IDLE:
            return None
        limit = self.start_s if position == _STARTING else self.record_s
        if now - self.since <= limit:
            return None
        return Culprit(function, position if position >= 0 else -1, limit), limit

    def culprit(self) -> Culprit | None:
        """Who was running when the worker died (None: it was between records, in the worker's own code)."""
        _, position, function, ours = self.where()
        if ours or position == _IDLE:
            return None
        return Culprit(function, position if position >= 0 else -1, None)

    def close(self) -> None:
        self.slots.release()
        self.page.close()
        os.close(self.fd)


class WorkerSession:
    """Drives one worker process; every read and write respects the run's wall-time deadline."""

    def __init__(
        self,
        backend: Backend,
        limits: Limits,
        extra_dir: Path | None = None,
        poll: Callable[[], None] | None = None,
        deadline: float | None = None,
    ) -> None:
        self.backend = backend
        self.poll = poll  # called about once a second while waiting (e.g. raises when the job is cancelled)
        self.limits = limits
        self.extra_dir = extra_dir
        self.process: SandboxProcess | None = None
        self.deadline = 0.0
        self.given_deadline = deadline  # a replacement worker keeps the run's deadline
        self.watchdog: _Watchdog | None = None
        self._polled = 0.0
        self._stderr = bytearray()
        self._stderr_total = 0
        self._drain: threading.Thread | None = None
        self.max_frame = max(64 * 1024 * 1024, limits.max_output_bytes * 4)

    @property
    def progress_fd(self) -> int | None:
        """The descriptor of the progress page in the worker (for its setup), None where the backend cannot pass it."""
        return self.watchdog.fd if self.watchdog is not None else None

    def __enter__(self) -> WorkerSession:
        self.deadline = self.given_deadline or time.monotonic() + self.limits.wall_time_s
        settings = get_settings()
        if getattr(self.backend, "passes_fds", False):
            self.watchdog = _Watchdog(self.limits.record_time_s or settings.executor_record_timeout_s,
                                      settings.executor_start_timeout_s)  # fmt: skip
        try:
            if self.watchdog is not None:
                self.process = self.backend.start(self.limits, self.extra_dir, pass_fds=(self.watchdog.fd,))
            else:
                self.process = self.backend.start(self.limits, self.extra_dir)
        except BaseException:
            if self.watchdog is not None:
                self.watchdog.close()
                self.watchdog = None
            raise
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True, name="sandbox-stderr")
        self._drain.start()
        os.set_blocking(self.process.stdin.fileno(), False)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (it gets a moment to exit on its own after the end of input)."""
        if self.process is None:
            return
        try:
            self.process.stdin.close()
        except OSError:
            pass
        if self.process.wait(0.5) is None:
            self.process.kill()
        for stream in (self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass
        self.process = None
        if self.watchdog is not None:
            self.watchdog.close()
            self.watchdog = None

    def _drain_stderr(self) -> None:
        assert self.process is not None
        fd = self.process.stderr.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self._stderr_total += len(chunk)
            room = STDERR_KEEP - len(self._stderr)
            if room > 0:
                self._stderr += chunk[:room]

    def stderr_text(self) -> str:
        """What the worker wrote to stderr (its first part)."""
        text = self._stderr.decode("utf-8", "replace")
        if self._stderr_total > len(self._stderr):
            text += f"\n[{self._stderr_total - len(self._stderr)} more bytes of output dropped]"
        return text

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _fail(self, message: str) -> SandboxError:
        if self.process is not None:
            self.process.kill()
        return SandboxError(message)

    def _waited(self, what: str) -> None:
        """Between two looks at the pipes: the watchdog (a function past its time on one record stops the worker),
        and about once a second the caller's ``poll``."""
        if self.watchdog is not None:
            overdue = self.watchdog.overdue()
            if overdue is not None:
                culprit, limit = overdue
                if culprit.position >= 0:
                    reason = f"timed out after {limit:g} s (the limit of one call on one record)"
                else:
                    reason = f"its code took more than {limit:g} s to start (module-level code, imports)"
                if self.process is not None:
                    self.process.kill()
                raise SandboxError(f"{what}: {reason}", reason=reason, culprit=culprit)
        now = time.monotonic()
        if self.poll is not None and now - self._polled >= 1.0:
            self._polled = now
            self.poll()

    def _ended(self, what: str) -> SandboxError:
        """The worker is gone: say why (signal, limit) with its stderr."""
        assert self.process is not None
        culprit = self.watchdog.culprit() if self.watchdog is not None else None
        code = self.process.wait(2.0)
        self.process.kill()
        if self._drain is not None:
            self._drain.join(1.0)
        signo = -code if code is not None and code < 0 else (code - 128 if code is not None and code > 128 else None)
        if signo == signal.SIGXCPU or (signo == signal.SIGKILL and self._cpu_exhausted()):
            reason = f"it used more than the CPU-time limit of {self.limits.cpu_time_s} s"
        elif signo is not None:
            try:
                name = signal.Signals(signo).name
            except ValueError:
                name = f"signal {signo}"
            reason = f"the sandboxed process was killed by {name}"
            if signo == signal.SIGSEGV:
                reason = "the sandboxed process crashed (segmentation fault)"
        else:
            reason = f"the sandboxed process exited with status {code}"
        tail = scrub(self.stderr_text()).strip()
        reason += f"\n{tail[-4000:]}" if tail else ""
        return SandboxError(f"{what}: {reason}", reason=reason, culprit=culprit)

    def _cpu_exhausted(self) -> bool:
        return b"CPU" in bytes(self._stderr[-200:])

    def _write(self, data: bytes, what: str) -> None:
        assert self.process is not None
        fd = self.process.stdin.fileno()
        view = memoryview(data)
        while view:
            remaining = self._remaining()
            if remaining <= 0:
                raise self._fail(f"{what}: the run exceeded the wall-time limit of {self.limits.wall_time_s:g} s")
            _, writable, _ = select.select([], [fd], [], min(remaining, WATCH_INTERVAL_S))
            if not writable:
                self._waited(what)
                continue
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError):
                raise self._ended(what) from None
            view = view[written:]

    def _read_exact(self, size: int, what: str) -> bytes:
        assert self.process is not None
        fd = self.process.stdout.fileno()
        chunks = bytearray()
        while len(chunks) < size:
            remaining = self._remaining()
            if remaining <= 0:
                raise self._fail(f"{what}: the run exceeded the wall-time limit of {self.limits.wall_time_s:g} s")
            readable, _, _ = select.select([fd], [], [], min(remaining, WATCH_INTERVAL_S))
            if not readable:
                self._waited(what)
                continue
            chunk = os.read(fd, min(size - len(chunks), 1 << 20))
            if not chunk:
                raise self._ended(what)
            chunks += chunk
        return bytes(chunks)

    def send(self, message: Any, what: str) -> None:
        """Send one frame (a pickle: the executor is the trusted side)."""
        body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._write(_HEADER.pack(len(body)) + body, what)

    def receive(self, what: str) -> dict[str, Any]:
        """Read one JSON frame, refusing frames over the size cap and anything that is not a JSON object."""
        (size,) = _HEADER.unpack(self._read_exact(_HEADER.size, what))
        if size > self.max_frame:
            raise self._fail(f"{what}: the code produced more than {self.max_frame // (1024 * 1024)} MB of results")
        body = self._read_exact(size, what)
        try:
            message = json.loads(body)
        except ValueError:
            raise self._fail(f"{what}: the sandbox sent something that is not a result") from None
        if not isinstance(message, dict):
            raise self._fail(f"{what}: the sandbox sent something that is not a result")
        return message

    def request(self, message: Any, what: str) -> dict[str, Any]:
        """Send a frame and wait for the answer."""
        self.send(message, what)
        return self.receive(what)
