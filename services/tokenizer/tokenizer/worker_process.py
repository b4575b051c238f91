"""The tokenizer worker process (``python -m tokenizer.worker_process <tokenizer> <service pid>``) and the frames it
exchanges with the service (:mod:`tokenizer.workers`).

On a worker's stdin/stdout travel frames of an 8-byte length and a pickle (both ends are this package): the worker
answers ``("ready", pid)`` or ``("error", reason)`` once, then one ``("chunk", copy_payload)`` per
``(rows, n_columns)`` request, in order. It exits at the end of its input and dies with the service (Linux
parent-death signal; elsewhere its next read ends).

This module imports no spaCy at top level, so a worker can keep optional heavy imports out before loading it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import pickle
import queue
import re
import signal
import struct
import sys
import threading
from typing import IO, Any

FRAME = struct.Struct(">Q")
BLANK_NAME = re.compile(r"^[a-z]{2,3}$")  # a language code: spacy.blank, which never needs torch


def write_frame(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(FRAME.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next frame's object; EOFError when the other end closed."""
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        raise EOFError
    (size,) = FRAME.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - frames come from this module in a process we started


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the thread that started it ends (the service's worker-owner thread, which
    lives as long as the service; or the service itself); exit if the parent is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _read_requests(stdin: IO[bytes], requests: queue.SimpleQueue[bytes | None]) -> None:
    """Drain stdin as requests arrive, so the service never blocks writing the next chunk while this one encodes."""
    try:
        while True:
            head = stdin.read(FRAME.size)
            if len(head) < FRAME.size:
                break
            (size,) = FRAME.unpack(head)
            data = stdin.read(size)
            if len(data) < size:
                break
            requests.put(data)
    finally:
        requests.put(None)


def main(argv: list[str]) -> int:
    """The worker process: load the pipeline once, then encode chunks from stdin to stdout until stdin ends."""
    tokenizer, parent = argv[0], int(argv[1])
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C on the service's terminal is the service's to handle
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the frames
    if BLANK_NAME.match(tokenizer):
        # thinc imports torch when installed (seconds, ~200 MB); a blank pipeline never uses it
        sys.modules.setdefault("torch", None)  # type: ignore[arg-type]
    try:
        from .chunks import encode_chunk
        from .docbin import DocBinEncoder
        from .pipelines import get_nlp

        nlp = get_nlp(tokenizer)
        encoder = DocBinEncoder(nlp)
    except Exception as exc:  # noqa: BLE001 - reported to the service, which fails the job with it
        write_frame(stdout, ("error", f"{type(exc).__name__}: {exc}"))
        return 1
    gc.freeze()  # the pipeline's objects are permanent: keep the collector from rescanning them
    requests: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_read_requests, args=(stdin, requests), daemon=True).start()
    write_frame(stdout, ("ready", os.getpid()))
    while True:
        request = requests.get()
        if request is None:
            return 0
        rows, n_columns = pickle.loads(request)  # noqa: S301 - frames come from the service that started us
        gc.disable()  # a chunk's objects die by reference counting; cycle scans in between only cost time
        try:
            payload = encode_chunk(nlp, encoder, rows, n_columns)
        except Exception as exc:  # noqa: BLE001 - reported to the service, which fails the job with it
            write_frame(stdout, ("error", f"{type(exc).__name__}: {exc}"))
            return 1
        finally:
            gc.enable()
        write_frame(stdout, ("chunk", payload))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
