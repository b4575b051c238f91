"""Executor pieces without a service: code analysis, limits, backend choice, the docker backend where Docker exists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from executor.codecheck import needs_docs
from executor.result_checks import LabelChecker, check_results, refuse, result_problems
from executor.sandbox import backends, seccomp
from executor.sandbox.backends import Limits, SandboxUnavailable, get_backend, reset_backend
from executor.sandbox.seccomp import build_filter
from executor.sandbox.session import SandboxError, WorkerSession
from shared_model.settings import get_settings

TEXT = {"text", "title"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('def lf(record):\n    return "a" if "x" in record["text"].text else None', False),
        ('def lf(r):\n    return r["id"] > 3', False),
        ('def lf(record):\n    return len(record["text"])', True),
        ('def lf(record):\n    return [e for e in record["text"].ents]', True),
        ('def lf(record):\n    t = record["text"]\n    return t.text', True),
        ("def lf(record):\n    return helper(record)", True),
        ("def lf(record):\n    return record[key].text", True),
        ("def other(record):\n    pass", True),
    ],
)
def test_needs_docs(code: str, expected: bool) -> None:
    assert needs_docs(code, TEXT, "lf") is expected


def test_needs_docs_for_snippets() -> None:
    assert needs_docs('print(record["text"].text)', TEXT, None) is False
    assert needs_docs('print(record["text"][0].lemma_)', TEXT, None) is True


def test_limits_merge_ignores_unknown_and_bad_values() -> None:
    merged = Limits.merged(Limits(), {"wall_time_s": 5, "memory_mb": -1, "cpu_time_s": True, "bogus": 3})
    assert merged.wall_time_s == 5.0 and merged.memory_mb == Limits().memory_mb and merged.cpu_time_s == Limits().cpu_time_s


def test_seccomp_filter_shape() -> None:
    program = build_filter()
    assert len(program) % 8 == 0 and 100 < len(program) // 8 < 4096
    assert not set(seccomp.ALLOWED) & set(seccomp.DENIED)
    assert "clone" not in seccomp.ALLOWED and "socket" not in seccomp.ALLOWED  # allowed only with argument checks


def test_without_libseccomp_the_bwrap_backend_is_unavailable(fresh_backend: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise seccomp.SeccompUnavailable("libseccomp cannot be loaded (test); install it with `apt-get install libseccomp2`")

    fresh_backend.setattr(seccomp, "_PROGRAM", None)
    fresh_backend.setattr(seccomp, "_library", missing)
    fresh_backend.setenv("REFINERY_EXECUTOR_BACKEND", "bwrap")
    fresh_backend.setenv("REFINERY_EXECUTOR_ALLOW_UNSAFE", "false")
    get_settings.cache_clear()
    with pytest.raises(SandboxUnavailable, match="libseccomp2"):
        get_backend()


@pytest.fixture()
def fresh_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    reset_backend()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_backend()


def test_no_sandbox_refuses_with_a_clear_error(fresh_backend: pytest.MonkeyPatch) -> None:
    fresh_backend.setenv("REFINERY_EXECUTOR_BACKEND", "bwrap")
    fresh_backend.setattr(backends.shutil, "which", lambda name: None)
    get_settings.cache_clear()
    with pytest.raises(SandboxUnavailable, match="no sandbox is available.*bubblewrap"):
        get_backend()
    fresh_backend.setenv("REFINERY_EXECUTOR_ALLOW_UNSAFE", "true")
    get_settings.cache_clear()
    reset_backend()
    assert get_backend().name == "unsafe"


def _docker_reason() -> str | None:
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure: no engine here
        return f"no Docker engine reachable ({type(exc).__name__})"
    image = get_settings().executor_docker_image
    try:  # the backend never pulls: without Docker Hub (as here) the image must exist already
        client.images.get(image)
    except Exception as exc:  # noqa: BLE001 - ImageNotFound or an engine error
        return f"the Docker backend's image {image!r} is not on this engine ({type(exc).__name__}); pull or build it"
    return None


@pytest.mark.docker
@pytest.mark.skipif(_docker_reason() is not None, reason=_docker_reason() or "")
def test_docker_backend_runs_code_without_network() -> None:
    backend = backends.DockerBackend(get_settings().executor_docker_image)
    code = "import socket\ndef lf(record):\n    s = socket.socket()\n    s.settimeout(2)\n    s.connect(('1.1.1.1', 53))\n"
    with WorkerSession(backend, Limits(wall_time_s=120, memory_mb=256)) as worker:
        worker.request({"functions": [{"id": "a", "mode": "lf", "code": code}]}, "setup")
        result = worker.request({"records": [(1, {"id": 1}, None, [])]}, "batch")
    error = result["results"]["a"][0][2]
    assert error is not None and ("OSError" in error or "unreachable" in error)
    try:  # over the container's memory limit: a MemoryError, or the kernel kills the container
        with WorkerSession(backend, Limits(wall_time_s=120, memory_mb=256)) as worker:
            worker.request({"functions": [{"id": "a", "mode": "ide", "code": "x = bytearray(1024 ** 3)"}]}, "setup")
            result = worker.request({"records": [(1, {"id": 1}, None, [])]}, "batch")
        assert "MemoryError" in (result["results"]["a"][0][2] or "")
    except SandboxError as exc:
        assert "killed" in str(exc) or "exited" in str(exc)


@pytest.mark.parametrize(
    "message",
    [
        {"results": {"f": [[99, "spam", None, None, None]]}},  # a record of another batch (or project)
        {"results": {"f": [["1", "spam", None, None, None]]}},
        {"results": {"f": [[1, "spam"]]}},
        {"results": ["f"]},
        {"hits": {"f": {"spam": [1, 99]}}},
        {"hits": {"f": {"spam": [1.0]}}},
        {"hits": {"f": {"spam": [[1]]}}},
        {"hits": {"f": {"spam": 1}}},
        {"hits": {"f": [1]}},
        {"results": {"f": [[1, "spam", None, None, None], [1, "ham", None, None, None]]}},  # two results, one record
        {"hits": {"f": {"spam": [1], "ham": [1]}}},
        {"results": {"f": [[1, "spam", None, None, None]]}, "hits": {"f": {"ham": [1]}}},
        {"results": {"f": [[1, [["spam", 0, 1]], None, None, 2**31]]}},  # a token count beyond int32
        {"results": {"f": [[1, [["spam", 0, 1]], None, None, -1]]}},
        {"results": {"f": [[1, [["spam", 0, 1]], None, None, 1.5]]}},
        {"results": {"f": [[1, None, ["not", "text"], None, None]]}},
        {"stdout": ["printed"]},  # not a mapping of function ids: the whole message is refused
        {"stdout": {"f": 7}},
    ],
)
def test_results_for_records_outside_the_batch_are_refused(message: dict[str, Any]) -> None:
    with pytest.raises(SandboxError, match="records 1–2"):
        check_results(message, {1, 2}, "records 1–2")
    check_results({"results": {"f": [[2, "ham", None, None, None]]}, "hits": {"f": {"spam": [1]}}}, {1, 2}, "x")
    check_results({"results": {"f": [[1, None, None, "out", 2**31 - 1]]}, "stdout": {"f": "printed"}}, {1, 2}, "x")


def test_refused_results_fail_only_their_function() -> None:
    message: dict[str, Any] = {
        "results": {"good": [[1, "spam", None, None, None]], "forged": [[1, "spam", None, None, None]]},
        "hits": {"good": {"ham": [2]}, "forged": {"ham": [1]}},
        "stdout": {"good": "hello", "forged": "hi"},
    }
    refuse(message, result_problems(message, {1, 2}, "records 1–2"), "records 1–2")
    assert message["refused"] == {"forged": "records 1–2: the sandbox sent two results for one record"}
    assert list(message["results"]) == list(message["hits"]) == list(message["stdout"]) == ["good"]


def test_spans_beyond_int32_are_invalid_results() -> None:
    checker = LabelChecker({"spam": uuid.uuid4()}, extraction=True)
    assert checker.check(1, [["spam", 0, 2**31]], None) == []
    assert checker.invalid_count == 1 and "out of range" in checker.invalid[0]
    assert len(checker.check(2, [["spam", 0, 2**31 - 1]], None)) == 1


def test_job_errors_name_the_reason_in_one_line() -> None:
    from executor.jobs.heuristic_run_state import error_summary

    assert error_summary("the code could not start:\nthe code must define a function named lf(record)") == (
        "the code could not start: the code must define a function named lf(record)"
    )
    traceback = "record 17 raised:\nTraceback (most recent call last):\n  File \"<lf>\", line 2\nKeyError: 'x'\n"
    assert error_summary(traceback) == "record 17 raised: KeyError: 'x'"
    assert error_summary("one line") == "one line" and error_summary(None) == "" and error_summary("\n") == ""


def test_scrub_keeps_the_users_frames_and_hides_our_paths() -> None:
    import sys

    from executor.sandbox.session import scrub

    dump = "\n".join(
        [
            "Fatal Python error: Segmentation fault",
            "Current thread 0x00007f (most recent call first):",
            f'  File "{sys.base_prefix}/lib/python3.11/ctypes/__init__.py", line 519 in string_at',
            '  File "<my lf>", line 3 in lf',
            '  File "/opt/refinery/worker.py", line 500 in _apply_batch',
            f"ImportError: cannot import name 'x' from 'json' ({sys.base_prefix}/lib/python3.11/json/__init__.py)",
            f"{sys.prefix}/lib/python3.11/site-packages/sklearn/base.py:1: UserWarning: careful",
        ]
    )
    text = scrub(dump)
    assert '  File "<my lf>", line 3 in lf' in text and "string_at" not in text and "_apply_batch" not in text
    assert "(<python>/json/__init__.py)" in text and "<python>/sklearn/base.py:1: UserWarning" in text
    assert sys.base_prefix not in text and sys.prefix not in text and "/opt/refinery" not in text


def test_a_record_is_named_by_its_position_primary_key_and_id() -> None:
    from executor.project_context import ProjectContext
    from executor.runs import _record_name

    context = ProjectContext(uuid.uuid4(), "en", {}, {}, {}, primary_key="key")
    # COPY text doubles the backslashes of the JSON text, whose string "a\\b" holds one
    raw = {"raw": b'7\t{"key": "a\\\\\\\\b", "text": "x"}\n9\t{"key": 42, "text": "y"}\n'}
    assert _record_name(context, raw, 0) == "key a\\b, record id 7"
    assert _record_name(context, raw, 1) == "key 42, record id 9"
    assert _record_name(context, {"records": [(5, {"text": "z"}, None, [])]}, 0) == "record id 5"
    assert _record_name(context, raw, 5) == "an unknown record"
