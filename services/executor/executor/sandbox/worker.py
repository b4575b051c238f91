"""The program that runs INSIDE the sandbox: compiles user code once and applies it to record batches.

Standard library only (spaCy is imported lazily, when code touches more than a text's ``.text``; orjson is used when
the environment has it). It must not import anything of ours: the sandbox only sees the Python installation, its
packages and this file. That is why it is one long module (about 570 lines) rather than several: the backends mount
or send exactly this file and run it with ``python -I``, so a split would need every backend to ship a package.

Protocol (fd 0 in, fd 1 out; both moved to private descriptors before user code runs, and fd 1 then points at
stderr so that a stray ``os.write(1, …)`` cannot corrupt the stream): frames of a 4-byte big-endian length and a body.
Input bodies are pickles written by the executor (trusted); output bodies are JSON (the executor never unpickles
what the sandbox produced).
"""

from __future__ import annotations

import gc
import importlib.abc
import inspect
import io
import json
import linecache
import os
import pickle
import re
import struct
import sys
import time
import traceback
import types
from collections.abc import Callable
from typing import Any

_fast_loads: Callable[[bytes], Any] | None
try:  # orjson parses the record batches in about half the time, where the environment has it
    from orjson import loads as _fast_loads
except ImportError:  # e.g. a plain python image of the docker backend
    _fast_loads = None

_HEADER = struct.Struct(">I")
_LONG_NUMBER = re.compile(rb"[0-9]{19}")
_SELF = globals().get("__file__", "<string>")

# Where the worker is, for the executor's watchdog (outside the sandbox): a shared page of four int64 slots when the
# executor passes one (``progress_fd``), else a plain list. [0] batch number, [1] record position in the batch (-1:
# between batches, -2: a function's module-level code is starting), [2] the function's index in the setup, [3] 1
# while the worker runs its own slow code (loading spaCy), which no function's time limit counts.
BATCH, POSITION, FUNCTION, OURS = 0, 1, 2, 3
IDLE, STARTING = -1, -2
_slots: Any = [0, IDLE, 0, 0]


def _progress_slots(fd: int | None) -> Any:
    global _slots
    if fd is not None:
        import mmap

        page = mmap.mmap(fd, mmap.PAGESIZE)
        os.close(fd)
        _slots = memoryview(page).cast("q")
    return _slots


class _Channel:
    def __init__(self) -> None:
        self.rfd = os.dup(0)
        self.wfd = os.dup(1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)
        sys.stdin = open(os.devnull)  # noqa: SIM115
        sys.stdout = os.fdopen(1, "w", closefd=False)
        self.rfile = os.fdopen(self.rfd, "rb")

    def read(self) -> Any:
        header = self.rfile.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack(header)
        body = self.rfile.read(size)
        return pickle.loads(body)

    def write(self, message: Any) -> None:
        body = json.dumps(message, default=_jsonable, ensure_ascii=False).encode("utf-8", "surrogatepass")
        data = _HEADER.pack(len(body)) + body
        view = memoryview(data)
        while view:
            written = os.write(self.wfd, view)
            view = view[written:]


def _jsonable(value: Any) -> Any:
    return {"__type__": type(value).__name__, "__repr__": repr(value)[:200]}


class _Capture(io.TextIOBase):
    """A capped stdout: keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.written = False  # anything since the last take()

    def write(self, text: str) -> int:
        self.written = True
        room = self.cap - self.size
        if room > 0:
            kept = text[:room]
            self.parts.append(kept)
            self.size += len(kept)
            self.dropped += len(text) - len(kept)
        else:
            self.dropped += len(text)
        return len(text)

    def writable(self) -> bool:
        return True

    def take(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n[output truncated: {self.dropped} more characters]"
        self.parts, self.size, self.dropped, self.written = [], 0, 0, False
        return text


class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not loaded for spaCy's tokenization in the sandbox")
        return None


def _import_spacy(without_torch: bool) -> Any:
    """``import spacy``; ``without_torch``: thinc's optional torch support (1.5 of ~2.4 s) is skipped, so a sample run
    or snippet that needs Docs starts in ~1 s. Torch itself stays importable for user code afterwards."""
    finder = _NoTorch() if without_torch and "spacy" not in sys.modules else None
    if finder is not None:
        sys.meta_path.insert(0, finder)
    try:
        import spacy
    finally:
        if finder is not None:
            sys.meta_path.remove(finder)
    return spacy


class _Docs:
    """Rebuilds spaCy Docs for one project: from a record's DocBin when sent, else by tokenizing the text."""

    def __init__(self, tokenizer: str, fast_import: bool = True) -> None:
        self.tokenizer = tokenizer
        self.fast_import = fast_import and not tokenizer.endswith("_trf")
        self._nlp: Any = None
        self._vocab: Any = None

    def nlp(self) -> Any:
        if self._nlp is None:
            _slots[OURS] = 1
            try:
                spacy = _import_spacy(without_torch=self.fast_import)
                try:
                    self._nlp = spacy.load(self.tokenizer)
                except (OSError, ImportError):
                    lang = self.tokenizer.split("_", 1)[0] if "_" in self.tokenizer else self.tokenizer
                    self._nlp = spacy.blank(lang or "en")
            finally:
                _slots[OURS] = 0
        return self._nlp

    def from_docbin(self, blob: bytes) -> list[Any]:
        from spacy.tokens import DocBin

        return list(DocBin().from_bytes(blob).get_docs(self.nlp().vocab))

    def tokenize(self, text: str) -> Any:
        return self.nlp()(text)


class _RecordDocs:
    """The Docs of one record, built on first use and shared by its text attributes."""

    __slots__ = ("docs", "blob", "columns", "built")

    def __init__(self, docs: _Docs, blob: bytes | None, columns: list[str] | tuple[str, ...]) -> None:
        self.docs = docs
        self.blob = blob
        self.columns = columns
        self.built: dict[str, Any] | None = None

    def get(self, name: str, text: str) -> Any:
        if self.built is None:
            self.built = {}
            if self.blob is not None:
                try:
                    for column, doc in zip(self.columns, self.docs.from_docbin(self.blob), strict=False):
                        self.built[column] = doc
                except Exception:  # noqa: BLE001 - a damaged DocBin falls back to tokenizing
                    self.built = {}
        doc = self.built.get(name)
        if doc is None or doc.text != text:
            doc = self.docs.tokenize(text)
            self.built[name] = doc
        return doc


class LazyDoc:
    """A text attribute as a spaCy ``Doc`` that is only built when code uses more than ``.text``."""

    __slots__ = ("text", "_name", "_record", "_doc")

    def __init__(self, text: str, name: str, record: _RecordDocs) -> None:
        self.text = text
        self._name = name
        self._record = record
        self._doc: Any = None

    def _get(self) -> Any:
        if self._doc is None:
            self._doc = self._record.get(self._name, self.text)
        return self._doc

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._get(), attribute)

    def __iter__(self) -> Any:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __getitem__(self, index: Any) -> Any:
        return self._get()[index]

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def __contains__(self, item: Any) -> bool:
        return item in self._get()


_PYTHON_PATH = re.compile(r"/[^\s\"'()<>:]*/(?:site-packages|dist-packages|lib/python3\.\d+)/")


def _scrub(text: str) -> str:
    """No paths of the installation in what the user sees: Python's library shows as ``<python>/json/decoder.py``."""
    text = text.replace(_SELF, "<sandbox>")
    text = _PYTHON_PATH.sub("<python>/", text)
    for prefix in {sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}:
        if len(prefix) > 1:
            text = text.replace(prefix, "<python>")
    return text


def _is_users(filename: str) -> bool:
    """Whether a frame is the user's code (compiled as ``<name>``), not a library's, Python's or ours."""
    return filename.startswith("<") and not filename.startswith(("<frozen", "<refinery-", "<string>"))


def _user_traceback(exc: BaseException, filename: str) -> str:
    """The traceback of ``exc`` with the user's frames only (line numbers of their code), then the exception; no
    frame or path of a library, of Python or of ours."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if _is_users(frame.filename)]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []
    lines += [_scrub(line) for line in traceback.format_exception_only(type(exc), exc)]
    if isinstance(exc, ImportError) and exc.name == "knowledge":  # a lookup list that does not exist (by that name)
        module = sys.modules.get("knowledge")
        names = sorted(n for n in vars(module) if not n.startswith("_")) if module is not None else []
        lines.append(f"lookup lists of this project: {', '.join(names) if names else 'none'}\n")
    return "".join(lines)


def _knowledge_module(lists: dict[str, Any]) -> types.ModuleType:
    """A ``knowledge`` module with its own copy of every lookup list (one per function: mutations stay its own)."""
    module = types.ModuleType("knowledge")
    for name, terms in lists.items():
        setattr(module, name, list(terms))
    return module


class _Function:
    """One piece of user code: its own globals and its own ``knowledge`` module, which is ``sys.modules["knowledge"]``
    while its code runs (so ``import knowledge`` at the top or inside the function both see its copy)."""

    def __init__(self, spec: dict[str, Any], namespace_extra: dict[str, Any], lists: dict[str, Any] | None = None) -> None:
        self.id: str = spec["id"]
        self.mode: str = spec["mode"]  # "lf", "ac" or "ide"
        self.filename = f"<{spec.get('label') or self.id}>"
        self.code: str = spec["code"]
        self.error: str | None = None
        self.fn: Any = None
        self.is_generator = False
        self.failed = False  # raised once under stop_on_error: not applied any more
        self.index: int = int(spec.get("index", 0))  # its position in the setup, for the watchdog
        self.call = self.apply
        self.namespace: dict[str, Any] = {"__name__": "__user__", **namespace_extra}
        self.knowledge = _knowledge_module(lists or {})
        sys.modules["knowledge"] = self.knowledge
        linecache.cache[self.filename] = (len(self.code), None, self.code.splitlines(True), self.filename)
        try:
            compiled = compile(self.code, self.filename, "exec")
        except SyntaxError as exc:
            self.error = "".join(traceback.format_exception_only(type(exc), exc))
            return
        self.compiled = compiled
        if self.mode == "ide":
            return
        try:
            exec(compiled, self.namespace)  # noqa: S102 - running the user's code is the point (sandboxed)
        except BaseException as exc:  # noqa: BLE001
            self.error = _user_traceback(exc, self.filename)
            return
        name = spec.get("entry") or ("lf" if self.mode == "lf" else "ac")
        self.fn = self.namespace.get(name)
        if not callable(self.fn):
            self.error = f"the code must define a function named {name}(record)"
            return
        self.is_generator = inspect.isgeneratorfunction(self.fn)
        if not self.is_generator:
            self.call = self.fn

    def release(self) -> None:
        """It failed for good: drop its globals and lists, so that memory it holds (a hog's cache) is freed for the
        other functions of the worker."""
        self.namespace.clear()
        self.knowledge = types.ModuleType("knowledge")
        self.fn = None
        self.call = self.apply
        gc.collect()

    def apply(self, record: dict[str, Any]) -> Any:
        if self.mode == "ide":
            namespace = dict(self.namespace)
            namespace["record"] = record
            exec(self.compiled, namespace)  # noqa: S102
            return None
        if self.is_generator:
            return list(self.fn(record))
        return self.fn(record)


def _convert(value: Any) -> Any:
    """Plain JSON values stay as they are; anything else is described by its type so the executor can reject it."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_convert(item) for item in value]
    if isinstance(value, LazyDoc):
        return {"__type__": "Doc", "__repr__": value.text[:200]}
    return {"__type__": type(value).__name__, "__repr__": repr(value)[:200]}


def main() -> None:
    import faulthandler

    faulthandler.enable()
    channel = _Channel()
    setup = channel.read()
    if setup is None:
        return
    lists = setup.get("knowledge", {})
    sys.modules["knowledge"] = _knowledge_module(lists)
    extra_paths = [path for path in setup.get("extra_paths", []) if os.path.isdir(path)]
    sys.path[:0] = extra_paths
    # thinc decides once whether torch is there: code that names spacy, thinc or torch may want torch-backed
    # components, so its worker imports spaCy the ordinary (slower) way
    codes = [str(spec.get("code", "")) for spec in setup.get("functions", [])]
    docs = _Docs(setup.get("tokenizer", "en"), fast_import=not any(w in c for c in codes for w in ("spacy", "thinc", "torch")))
    text_attributes = set(setup.get("text_attributes", []))
    per_record_stdout = bool(setup.get("per_record_stdout"))
    capture = _Capture(int(setup.get("stdout_cap", 100_000)))
    sys.stdout = capture
    if setup.get("mode") == "active_learning":  # the learner runtime travels in the setup (see learner_runtime.py)
        runtime: dict[str, Any] = {"__name__": "refinery_learner", "scrub_paths": _scrub}
        for name, text in (("<refinery-learner-interface>", setup["interface"]), ("<refinery-learner>", setup["runtime"])):
            exec(compile(text, name, "exec"), runtime)  # noqa: S102 - the executor's own code
        runtime["serve"](channel, setup, capture)
        return
    slots = _progress_slots(setup.get("progress_fd"))
    functions = []
    for index, spec in enumerate(setup["functions"]):
        slots[FUNCTION], slots[POSITION] = index, STARTING
        functions.append(_Function({**spec, "index": index}, {}, lists))
    slots[POSITION] = IDLE
    token_counts: dict[str, str] = setup.get("token_counts", {})  # function id -> attribute whose tokens to count
    channel.write({"ready": {f.id: {"error": f.error, "is_generator": f.is_generator} for f in functions}})
    live = [f for f in functions if f.error is None]
    stop_on_error = bool(setup.get("stop_on_error"))
    compact = bool(setup.get("compact_hits"))
    # Batches allocate many short-lived objects: collect the young generation less often and never re-scan what
    # exists now (the interpreter, the user's modules). Cyclic garbage is still collected.
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)
    while True:
        batch = channel.read()
        if batch is None:
            break
        records = _decode_raw(batch["raw"]) if "raw" in batch else batch["records"]
        slots[BATCH] += 1
        message = _apply_batch(
            records, live, docs, text_attributes, token_counts, capture, per_record_stdout, stop_on_error, compact
        )
        slots[POSITION] = IDLE
        message["cpu_s"] = time.process_time()  # for the run's timings
        channel.write(message)


def _decode_raw(payload: bytes) -> list[list[Any]]:
    """``COPY`` text lines ``id<TAB>json`` → ``[record id, data]`` pairs (the JSON never holds a raw tab or newline;
    backslashes are doubled). A record without a DocBin: :func:`_apply_batch` reads only the first two items."""
    data = payload.rstrip(b"\n")
    if not data:
        return []
    if b"\\" in data:
        data = data.replace(b"\\\\", b"\\")
    # One JSON document for the whole batch, [[id, data], ...]: a single parse costs half of one per line, and its
    # lists are the records as they are (building a tuple per record cost as much again). JSON text holds no raw tab
    # or newline, so these are the COPY separators.
    document = b"[[" + data.replace(b"\t", b",").replace(b"\n", b"],[") + b"]]"
    # orjson reads an integer beyond 64 bits as a float: such a batch (any run of 19 digits) goes to the standard
    # parser, which reads all JSON that Postgres writes exactly as sample runs and the record IDE see it.
    if _fast_loads is not None and not _LONG_NUMBER.search(document):
        try:
            rows: list[list[Any]] = _fast_loads(document)
            return rows
        except ValueError:
            pass
    rows = json.loads(document)
    return rows


class _BatchResults:
    """What one batch sends back, gathered off the hot loop of :func:`_apply_batch`: the entries of results that are
    not abstentions or grouped hits, the grouped hits, the printed output; and which functions are still applied."""

    def __init__(
        self,
        live: list[_Function],
        token_counts: dict[str, str],
        capture: _Capture,
        per_record_stdout: bool,
        compact: bool,
    ) -> None:
        self.live = live
        self.token_counts = token_counts
        self.capture = capture
        self.per_record_stdout = per_record_stdout
        self.compact = compact
        self.out: dict[str, list[Any]] = {f.id: [] for f in live}
        self.printed_by: dict[str, list[str]] = {f.id: [] for f in live}
        self.hits: dict[str, dict[str, list[int]]] = {f.id: {} for f in live}

    def calls(self) -> list[tuple[_Function, Any, dict[str, list[int]] | None, types.ModuleType | None, int]]:
        """(function, callable, where plain str results are grouped or None, its ``knowledge`` module to install
        before each call or None, its index to show the watchdog before each call or -1) for the functions still
        applied. Both are set once here where one function alone needs them (the hot loop stays cheap)."""
        applied = [f for f in self.live if not f.failed]
        readers = [f for f in applied if "knowledge" in f.code]  # only code that names the module can reach it
        if len(readers) == 1:
            sys.modules["knowledge"] = readers[0].knowledge
        if len(applied) == 1:
            _slots[FUNCTION] = applied[0].index
        return [
            (
                f,
                f.call,
                self.hits[f.id] if self.compact and not self.token_counts.get(f.id) else None,
                f.knowledge if len(readers) > 1 and f in readers else None,
                f.index if len(applied) > 1 else -1,
            )
            for f in applied
        ]

    def keep(self, function: _Function, record_id: int, record: dict[str, Any], value: Any, error: str | None) -> None:
        """A result that is not a silent abstention or a grouped hit: value, error, output and token count."""
        if error is None and value is not None and type(value) is not str:
            try:
                value = _convert(value)
            except BaseException as exc:  # noqa: BLE001 - e.g. a __repr__ that raises, a list that contains itself
                value = {"__type__": type(value).__name__, "__repr__": f"<cannot be shown: {type(exc).__name__}>"}
        count_attribute = self.token_counts.get(function.id)
        n_tokens = None
        if count_attribute and error is None:
            field = record.get(count_attribute)
            n_tokens = len(field) if isinstance(field, LazyDoc) else None
        printed = self.capture.take() if self.capture.written else ""
        if not self.per_record_stdout and printed:
            self.printed_by[function.id].append(printed)
            printed = ""
        self.out[function.id].append([record_id, value, error, printed or None, n_tokens])

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"results": self.out}
        if self.compact:
            message["hits"] = {fid: grouped for fid, grouped in self.hits.items() if grouped}
        if not self.per_record_stdout:
            message["stdout"] = {fid: "".join(parts) for fid, parts in self.printed_by.items() if parts}
        return message


def _wrap_texts(docs: _Docs, item: Any, record: dict[str, Any], text_attributes: set[str]) -> None:
    """The record's text attributes as :class:`LazyDoc` (parsed from its DocBin, or tokenized, only when used)."""
    holder = _RecordDocs(docs, item[2], item[3]) if len(item) > 2 else _RecordDocs(docs, None, ())
    for name in text_attributes:
        raw = record.get(name)
        if type(raw) is str:
            record[name] = LazyDoc(raw, name, holder)


def _apply_batch(
    records: list[Any],
    live: list[_Function],
    docs: _Docs,
    text_attributes: set[str],
    token_counts: dict[str, str],
    capture: _Capture,
    per_record_stdout: bool,
    stop_on_error: bool,
    compact: bool = False,
) -> dict[str, Any]:
    """Every live function on every record of one batch; abstentions (None, no output) are left out.

    ``compact``: a plain str result without output goes into ``hits[function id][value]`` as a record id list
    instead of a ``[record id, value, error, stdout, token count]`` entry.

    It is one loop, not several functions, on purpose: it is the hot path of every run (one iteration per function
    and record), so what is not needed on each iteration lives in :class:`_BatchResults` and what is stays inline.
    """
    results = _BatchResults(live, token_counts, capture, per_record_stdout, compact)
    keep = results.keep
    modules = sys.modules
    slots = _slots
    calls = results.calls()
    value: Any
    # The hot loop: one call per function and record; only abstentions and grouped str hits stay in it. A record is
    # (id, data, DocBin or None, DocBin columns), or [id, data] from a raw batch.
    for position, item in enumerate(records):
        slots[POSITION] = position
        record_id, record = item[0], item[1]
        if text_attributes:
            _wrap_texts(docs, item, record, text_attributes)
        for function, call, grouped, knowledge, index in calls:
            if index >= 0:  # several functions: say which one runs now
                slots[2] = index  # FUNCTION
            if knowledge is not None:
                modules["knowledge"] = knowledge
            try:
                value = call(record)
            except BaseException as exc:  # noqa: BLE001 - the user's error is reported, the worker goes on
                keep(function, record_id, record, None, _user_traceback(exc, function.filename))
                del exc
                if stop_on_error:
                    function.failed = True
                    function.release()
                    calls = results.calls()  # takes effect from the next record on
                continue
            if value is None:
                if per_record_stdout or capture.written:
                    keep(function, record_id, record, None, None)
                continue  # abstained: nothing to send (the executor counts missing records as abstentions)
            if grouped is not None and type(value) is str and not capture.written:
                ids = grouped.get(value)
                if ids is None:
                    grouped[value] = [record_id]
                else:
                    ids.append(record_id)
                continue
            keep(function, record_id, record, value, None)
    return results.message()


if __name__ == "__main__":
    main()
