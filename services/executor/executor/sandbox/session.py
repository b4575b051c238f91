"""One sandboxed worker for one run: send the setup, then record batches; read results within the run's limits."""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from .backends import Backend, Limits, SandboxProcess

_HEADER = struct.Struct(">I")
STDERR_KEEP = 16_000


class SandboxError(Exception):
    """The sandboxed run could not finish; the message is meant for the user."""


class WorkerSession:
    """Drives one worker process; every read and write respects the run's wall-time deadline."""

    def __init__(
        self, backend: Backend, limits: Limits, extra_dir: Path | None = None, poll: Callable[[], None] | None = None
    ) -> None:
        self.backend = backend
        self.poll = poll  # called about once a second while waiting (e.g. raises when the job is cancelled)
        self.limits = limits
        self.extra_dir = extra_dir
        self.process: SandboxProcess | None = None
        self.deadline = 0.0
        self._stderr = bytearray()
        self._stderr_total = 0
        self._drain: threading.Thread | None = None
        self.max_frame = max(64 * 1024 * 1024, limits.max_output_bytes * 4)

    def __enter__(self) -> WorkerSession:
        self.deadline = time.monotonic() + self.limits.wall_time_s
        self.process = self.backend.start(self.limits, self.extra_dir)
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

    def _ended(self, what: str) -> SandboxError:
        """The worker is gone: say why (signal, limit) with its stderr."""
        assert self.process is not None
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
        tail = self.stderr_text().strip()
        return SandboxError(f"{what}: {reason}" + (f"\n{tail[-4000:]}" if tail else ""))

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
            _, writable, _ = select.select([], [fd], [], min(remaining, 1.0))
            if not writable:
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
            readable, _, _ = select.select([fd], [], [], min(remaining, 1.0))
            if not readable:
                if self.poll is not None:
                    self.poll()
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
