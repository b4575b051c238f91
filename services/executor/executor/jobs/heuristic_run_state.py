"""What one heuristic's run gathers during a ``heuristic_run`` pass: its votes, counts, error and logs."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared_model.heuristic_results import ResultBuffer

from ..result_checks import LabelChecker

if TYPE_CHECKING:
    from .heuristic_run_store import ResultStream

MAX_LOG_LINES = 500
MAX_LOG_CHARS = 200_000
STREAM_CHUNK_VOTES = 20_000  # votes handed to a stream at once (one chunk row per label)


@dataclass
class RunState_:
    """What one heuristic's run gathers during the pass."""

    run_id: uuid.UUID
    source_id: uuid.UUID
    task_id: uuid.UUID
    name: str
    checker: LabelChecker
    project_id: uuid.UUID
    extraction: bool
    votes: ResultBuffer = field(default_factory=ResultBuffer)
    row_count: int = 0
    records_hit: int = 0
    error: str | None = None
    logs: list[str] = field(default_factory=list)
    log_chars: int = 0
    learner_code: str | None = None  # an active learner's code (it runs on its own, not in the functions' pass)
    details: dict[str, Any] = field(default_factory=dict)
    stream: ResultStream | None = None
    progress_line: int | None = None  # index in ``logs`` of the one progress line, replaced by each report
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hand_over(self, final: bool = False) -> None:
        """Pass the collected votes to the stream once there are enough of them (all of them when ``final``)."""
        if self.stream is None or len(self.votes) < (1 if final else STREAM_CHUNK_VOTES):
            return
        self.stream.write(self.votes.take())

    def drop_stream(self) -> None:
        """The run failed: its stream stops (its version never becomes current; the previous results stay)."""
        if self.stream is not None:
            self.stream.abort()

    def fail(self, reason: str) -> None:
        """The run fails with ``reason`` (logged); its stream stops."""
        self.error = reason
        self.log(now_line(reason))
        self.drop_stream()

    def log(self, line: str) -> None:
        with self.lock:
            if len(self.logs) - (self.progress_line is not None) >= MAX_LOG_LINES or self.log_chars > MAX_LOG_CHARS:
                return
            line = line[:5000]
            self.logs.append(line)
            self.log_chars += len(line)

    def progress(self, line: str) -> None:
        """Show ``line`` as the run's one progress line: the previous one goes, the new one is the last line."""
        with self.lock:
            if self.progress_line is not None:
                self.log_chars -= len(self.logs.pop(self.progress_line))
            self.progress_line = len(self.logs)
            self.logs.append(line)
            self.log_chars += len(line)

    def log_copy(self) -> list[str]:
        with self.lock:
            return list(self.logs)


def now_line(text: str) -> str:
    return f"{datetime.now(UTC):%H:%M:%S} {text}"


def error_summary(error: str | None) -> str:
    """One line for a job's error: the message's first line and, for a multi-line one (a traceback, a reason on the
    next line), its last line, which names the exception or the reason."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0].rstrip(':')}: {lines[-1]}"
