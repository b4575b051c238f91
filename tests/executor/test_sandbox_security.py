"""Hostile user code, each case through the real executor service (bwrap backend): blocked or contained, the service
stays healthy and the user gets a clear error.

Every case runs twice: through the executor service (``service``), and with Ray as the runner (``ray``): the snippet is
a partition of the real Ray task (``executor.partition_runners.ray_partition``, the trusted driver that launches
bubblewrap and parses its JSON) on a local two-node cluster (``ray.cluster_utils.Cluster``), with the record IDE's
limits; a node that ran it must still run ordinary code afterwards."""

from __future__ import annotations

import os
import socket
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared_model.db import get_engine
from shared_model.service import service_headers

from ..ray_clusters import local_cluster
from .factory import add_records, new_project, set_limits

ROOT = Path(__file__).resolve().parents[2]
SECRET = "other-project-secret-7f3a9c"


RAY = "ray:"  # the runner "executor" of the Ray variant: RAY + the cluster's address


@pytest.fixture(scope="module")
def ray_cluster(database_url: str) -> Iterator[str]:
    """A local Ray cluster of two one-CPU nodes (stopped after the module)."""
    pytest.importorskip("ray")
    with local_cluster({}) as (made, _):
        yield str(made.address)


@pytest.fixture(scope="module", params=["service", "ray"])
def executor(request: pytest.FixtureRequest, services: Any) -> str:
    """The runner of the hostile code: the executor service's URL, or RAY + a Ray cluster's address."""
    if request.param == "ray":
        return RAY + request.getfixturevalue("ray_cluster")
    return str(services.start("executor").url)


def run_on_ray(address: str, project: dict[str, Any], code: str, timeout: float) -> dict[str, Any]:
    """``code`` as the record IDE runs it (its mode and limits), as one partition of the Ray task on the cluster; the
    answer as the record IDE gives it (``stdout``, ``error``)."""
    import uuid

    from executor.interactive import interactive_limits
    from executor.partition_runners import ray_partition
    from executor.partitions import Partition
    from executor.project_context import SAMPLE_LIMITS, FunctionSpec, load_context
    from executor.ray_cluster import connect
    from shared_model.db import session_scope

    ray = connect(address)
    with session_scope() as session:
        context = load_context(session, uuid.UUID(project["id"]))
    spec = FunctionSpec(id="ide", mode="ide", code=code, label="record ide")
    task = ray.remote(num_cpus=1, max_retries=0)(ray_partition)
    rid = int(project["record_id"])
    limits = interactive_limits(context.limits(SAMPLE_LIMITS))
    answer: dict[str, Any] = ray.get(task.remote(context, [spec], Partition(0, 0, rid, rid), limits, {}), timeout=timeout)
    if answer.get("failed"):
        return {"stdout": "", "error": answer["failed"]}
    message = answer["message"]
    entries = message["results"].get("ide") or []
    error = (
        (answer["ready"].get("ide") or {}).get("error") or message["refused"].get("ide") or (entries[0][2] if entries else None)
    )
    return {"stdout": message["stdout"].get("ide", ""), "error": error}


@pytest.fixture()
def project(clean_db: str) -> Iterator[dict[str, Any]]:
    project_id = new_project("mine")
    data = add_records(project_id, ["hello world", "second record"])
    other = new_project("someone else's")
    add_records(other, [SECRET])
    yield {"id": str(project_id), "record_id": data.record_ids[0]}


def run(executor: str, project: dict[str, Any], code: str, timeout: float = 60) -> dict[str, Any]:
    """Run a snippet in the record IDE (or as a Ray partition); assert the runner answers and stays healthy."""
    if executor.startswith(RAY):
        outcome = run_on_ray(executor.removeprefix(RAY), project, textwrap.dedent(code), timeout)
        assert_healthy(executor)
        return outcome
    response = httpx.post(
        f"{executor}/run/record-ide",
        json={"project_id": project["id"], "record_id": project["record_id"], "code": textwrap.dedent(code)},
        timeout=timeout,
        headers=service_headers(),
    )
    assert response.status_code == 200, response.text
    assert_healthy(executor)
    body: dict[str, Any] = response.json()
    return body


def assert_healthy(executor: str) -> None:
    if executor.startswith(RAY):  # the cluster still runs ordinary code
        project = {"id": _last_project[0], "record_id": _last_project[1]}
        outcome = run_on_ray(executor.removeprefix(RAY), project, "print(record['text'].text)", 60)
        assert outcome["error"] is None and outcome["stdout"].strip(), outcome
        return
    assert httpx.get(f"{executor}/health", timeout=10).json()["status"] == "ok"
    again = httpx.post(
        f"{executor}/run/record-ide",
        json={"project_id": _last_project[0], "record_id": _last_project[1], "code": "print(record['text'].text)"},
        timeout=60,
        headers=service_headers(),
    )
    assert again.status_code == 200 and again.json()["error"] is None, again.text


_last_project: list[Any] = [None, None]


@pytest.fixture(autouse=True)
def _remember(project: dict[str, Any]) -> None:
    _last_project[:] = [project["id"], project["record_id"]]


def test_backend_is_bwrap(executor: str) -> None:
    if executor.startswith(RAY):
        from executor.ray_cluster import connect, node_sandbox

        ray = connect(executor.removeprefix(RAY))
        assert ray.get(ray.remote(num_cpus=0)(node_sandbox).remote())["backend"] == "bwrap"
        return
    assert httpx.get(f"{executor}/sandbox", headers=service_headers()).json()["backend"] == "bwrap"


def test_cannot_connect_to_gateway_port_or_postgres(executor: str, project: dict[str, Any]) -> None:
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen()
    url = make_url(os.environ["DATABASE_URL"])
    ports = [listener.getsockname()[1], int(url.port or 5432), int(executor.rsplit(":", 1)[1])]
    try:
        body = run(
            executor,
            project,
            f"""
            import socket
            for host in ("127.0.0.1", {url.host or "localhost"!r}):
                for port in {ports!r}:
                    s = socket.socket()
                    s.settimeout(2)
                    try:
                        s.connect((host, port))
                        print("CONNECTED", host, port)
                    except OSError as exc:
                        print("blocked", host, port, type(exc).__name__)
            """,
        )
    finally:
        listener.close()
    assert body["error"] is None
    assert "CONNECTED" not in body["stdout"]
    assert body["stdout"].count("blocked") == 2 * len(ports)


def test_cannot_read_environments(executor: str, project: dict[str, Any]) -> None:
    database = make_url(os.environ["DATABASE_URL"]).database
    body = run(
        executor,
        project,
        """
        import os
        print("ENV", dict(os.environ))
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    print(pid, open(f"/proc/{pid}/environ").read())
                except OSError as exc:
                    print(pid, "unreadable", exc)
        """,
    )
    assert body["error"] is None
    assert "REFINERY" not in body["stdout"] and "DATABASE" not in body["stdout"]
    assert str(database) not in body["stdout"]
    assert "PATH=" in body["stdout"]  # /proc/1/environ was readable: it holds only the sandbox's minimal PATH


def test_cannot_read_postgres_data_or_other_projects(executor: str, project: dict[str, Any]) -> None:
    with get_engine().connect() as conn:
        try:
            data_dir = str(conn.execute(text("SHOW data_directory")).scalar())
        except Exception:  # noqa: BLE001 - not a superuser: fall back to the known test location
            data_dir = "/tmp/refinery-test-postgres"
    body = run(
        executor,
        project,
        f"""
        import os
        for path in ({data_dir!r}, {data_dir + "/PG_VERSION"!r}, {str(ROOT)!r}, {str(ROOT / "data")!r},
                     "/tmp/refinery-test-postgres", "/root", "/home", "/work", "/var/lib/postgresql"):
            try:
                if os.path.isdir(path):
                    print("LISTED", path, os.listdir(path))
                else:
                    print("READ", path, open(path).read()[:50])
            except OSError as exc:
                print("denied", path, type(exc).__name__)
        import sys
        install = (os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix))
        for folder, dirs, files in os.walk("/tmp"):
            # a checkout under /tmp (as in CI) puts the read-only Python install inside the scratch: skip it
            for name in list(dirs):
                if os.path.realpath(os.path.join(folder, name)) in install:
                    dirs.remove(name)
            print("scratch", folder, files)
        print("record", record["text"].text)
        """,
    )
    assert body["error"] is None
    # Only the mount points of the Python installation exist (e.g. /work/main holds just .venv): no data, no sources.
    for forbidden in ("PG_VERSION", "postgresql.conf", "base", "pyproject.toml", "services", "READ"):
        assert f"'{forbidden}'" not in body["stdout"] and not body["stdout"].startswith(forbidden)
    assert "READ " not in body["stdout"]
    assert SECRET not in body["stdout"]
    assert "record hello world" in body["stdout"]


def test_cannot_write_outside_scratch(executor: str, project: dict[str, Any]) -> None:
    target = ROOT / "sandbox-escape-marker"
    body = run(
        executor,
        project,
        f"""
        for path in ("/usr/escape", "/etc/escape", {str(target)!r}, "/escape", "/proc/escape"):
            try:
                open(path, "w").write("x")
                print("WROTE", path)
            except OSError as exc:
                print("denied", path, type(exc).__name__)
        open("/tmp/scratch.txt", "w").write("ok")
        print("scratch", open("/tmp/scratch.txt").read())
        """,
    )
    assert body["error"] is None
    for path in ("/usr/escape", "/etc/escape", "/escape", "/proc/escape"):
        assert f"WROTE {path}" not in body["stdout"]
    if not str(target).startswith("/tmp/"):
        assert f"WROTE {target}" not in body["stdout"]
    # Under /tmp (a checkout there, as in CI) the path exists only in the sandbox's private scratch: never on the host.
    assert "scratch ok" in body["stdout"]
    assert not target.exists()


def test_cannot_remount_root(executor: str, project: dict[str, Any]) -> None:
    body = run(
        executor,
        project,
        """
        import ctypes, ctypes.util, os
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        MS_REMOUNT = 32
        rc = libc.mount(b"none", b"/", None, MS_REMOUNT, None)
        print("mount", rc, os.strerror(ctypes.get_errno()))
        rc = libc.umount2(b"/usr", 2)
        print("umount", rc, os.strerror(ctypes.get_errno()))
        try:
            open("/usr/after-remount", "w")
            print("WROTE")
        except OSError as exc:
            print("still read-only", type(exc).__name__)
        """,
    )
    assert body["error"] is None
    assert "mount -1" in body["stdout"] and "umount -1" in body["stdout"]
    assert "still read-only" in body["stdout"]


def test_fork_bomb_is_blocked(executor: str, project: dict[str, Any]) -> None:
    body = run(
        executor,
        project,
        """
        import os
        while True:
            os.fork()
        """,
    )
    assert body["error"] is not None and "PermissionError" in body["error"] and "os.fork()" in body["error"]
    body = run(executor, project, "import subprocess\nsubprocess.run(['/bin/true'])")
    assert body["error"] is not None and "Operation not permitted" in body["error"]


def test_allocating_10_gb_fails_cleanly(executor: str, project: dict[str, Any]) -> None:
    body = run(executor, project, "data = bytearray(10 * 1024 ** 3)")
    assert body["error"] is not None and "MemoryError" in body["error"]


def test_infinite_loop_hits_the_limits(executor: str, project: dict[str, Any]) -> None:
    set_limits(uuid_of(project), cpu_time_s=2, wall_time_s=20)
    body = run(executor, project, "while True:\n    pass")
    assert body["error"] is not None and "CPU-time limit of 2 s" in body["error"]
    set_limits(uuid_of(project), cpu_time_s=30, wall_time_s=2)
    body = run(executor, project, "import time\nwhile True:\n    time.sleep(1)")
    assert body["error"] is not None and "wall-time limit of 2 s" in body["error"]


def test_printing_1_gb_is_capped(executor: str, project: dict[str, Any]) -> None:
    body = run(
        executor,
        project,
        """
        import os, sys
        chunk = "x" * (1024 * 1024)
        for _ in range(1024):
            print(chunk)
        os.write(1, b"y" * (64 * 1024 * 1024))
        sys.stderr.write("z" * (64 * 1024 * 1024))
        print("done")
        """,
        timeout=120,
    )
    assert body["error"] is None
    assert len(body["stdout"]) < 2_000_000
    assert "output truncated" in body["stdout"]


def test_setuid_root_is_refused(executor: str, project: dict[str, Any]) -> None:
    body = run(executor, project, "import os\nprint(os.getuid())\ntry:\n    os.setuid(0)\nfinally:\n    print(os.getuid())")
    assert body["stdout"].split() == ["65534", "65534"]
    # uid 0 does not even exist in the sandbox's user namespace: EINVAL (or EPERM), never success
    assert body["error"] is not None and ("Invalid argument" in body["error"] or "PermissionError" in body["error"])


def test_segfault_is_reported(executor: str, project: dict[str, Any]) -> None:
    body = run(executor, project, "import ctypes\nctypes.string_at(0)")
    assert body["error"] is not None and "segmentation fault" in body["error"]
    assert 'File "<record ide>", line 2' in body["error"]


def test_killing_the_parent_is_contained(executor: str, project: dict[str, Any]) -> None:
    body = run(
        executor,
        project,
        """
        import os, signal
        print("parent", os.getppid())
        for pid in {os.getppid(), 1}:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as exc:
                print("kill failed", exc)
        print("survived")
        """,
    )
    assert body["error"] is None or "killed" in body["error"] or "exited" in body["error"]


def uuid_of(project: dict[str, Any]) -> Any:
    import uuid

    return uuid.UUID(project["id"])


def test_forged_results_for_other_records_are_refused(executor: str, project: dict[str, Any]) -> None:
    with get_engine().connect() as conn:
        other = conn.execute(text("SELECT id FROM record WHERE data->>'text' = :s"), {"s": SECRET}).scalar_one()
    body = run(
        executor,
        project,
        f"""
        import json, os, struct
        frame = json.dumps({{"results": {{"ide": [[{other}, "spam", None, None, None]]}}}}).encode()
        for fd in range(3, 64):  # the worker's result pipe is one of these: write a frame of our own into it
            try:
                os.write(fd, struct.pack(">I", len(frame)) + frame)
            except OSError:
                pass
        """,
    )
    assert body["error"] is not None and "a record it was not given" in body["error"]


# x86-64 system call numbers and harmless arguments for each call the seccomp allowlist leaves out.
DENIED_CALLS: dict[str, tuple[int, str, int]] = {
    # name: (number, arguments as Python source, the errno the filter answers)
    "io_uring_setup": (425, "1, params", 1),
    "io_uring_enter": (426, "0, 0, 0, 0, 0, 0", 1),
    "io_uring_register": (427, "0, 0, 0, 0", 1),
    "bpf": (321, "0, params, 72", 1),
    "perf_event_open": (298, "params, 0, -1, -1, 0", 1),
    "keyctl": (250, "0, -3, 0", 1),
    "add_key": (248, 'b"user", b"refinery", b"x", 1, -2', 1),
    "request_key": (249, 'b"user", b"refinery", 0, 0', 1),
    "userfaultfd": (323, "0", 1),
    "mount": (165, 'b"none", b"/tmp", b"tmpfs", 0, 0', 1),
    "umount2": (166, 'b"/tmp", 2', 1),
    "unshare": (272, "0x00020000", 1),
    "setns": (308, "0, 0", 1),
    "ptrace": (101, "0, 0, 0, 0", 1),
    "process_vm_readv": (310, "os.getpid(), 0, 0, 0, 0, 0", 1),
    "pidfd_open": (434, "os.getpid(), 0", 1),
    "fork": (57, "", 1),
    "vfork": (58, "", 1),
    "clone (a process)": (56, "17, 0, 0, 0, 0", 1),  # SIGCHLD: a child process, not a thread
    "clone (a thread in a new namespace)": (56, "0x00010000 | 0x00000100 | 0x00000800 | 0x10000000, 0, 0, 0, 0", 1),
    "clone3": (435, "params, 88", 38),  # ENOSYS, so that libc falls back to clone (checked above)
}


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="system call numbers of x86-64")
def test_seccomp_allowlist_denies_dangerous_calls(executor: str, project: dict[str, Any]) -> None:
    """Each call is made as a raw system call from inside the sandbox; each must fail with the filter's errno (a call
    that succeeds in a child would exit at once, so the test reports it instead of forking on)."""
    calls = "\n".join(f"check({name!r}, {nr}, [{args}])" for name, (nr, args, _) in DENIED_CALLS.items())
    body = run(
        executor,
        project,
        f"""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        params = ctypes.create_string_buffer(512)

        def arg(value):
            return ctypes.c_long(value) if isinstance(value, int) else value

        def check(name, number, args):
            ctypes.set_errno(0)
            rc = libc.syscall(ctypes.c_long(number), *[arg(a) for a in args])
            if rc == 0 and os.getpid() != PID:
                os._exit(0)  # a child that should never have been created
            print(f"{{name}}|{{rc}}|{{ctypes.get_errno()}}")

        PID = os.getpid()
        {textwrap.indent(calls, " " * 8).lstrip()}
        """,
    )
    assert body["error"] is None, body["error"]
    seen = {}
    for line in body["stdout"].splitlines():
        name, rc, error = line.split("|")
        seen[name] = (int(rc), int(error))
    for name, (_, _, expected) in DENIED_CALLS.items():
        assert seen.get(name) == (-1, expected), f"{name}: {seen.get(name)} (expected -1 with errno {expected})"


def test_seccomp_keeps_threads_and_ordinary_code_working(executor: str, project: dict[str, Any]) -> None:
    """Threads (numpy/torch thread pools, ``threading``), memory, files in the scratch, time and a pipe still work."""
    body = run(
        executor,
        project,
        """
        import os, threading, time, tempfile, socket
        import numpy as np
        from concurrent.futures import ThreadPoolExecutor
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(i * i)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with ThreadPoolExecutor(4) as pool:
            total = sum(pool.map(lambda x: x + 1, range(100)))
        matrix = np.random.default_rng(0).random((200, 200))
        with tempfile.NamedTemporaryFile("w+") as handle:
            handle.write("scratch")
            handle.flush()
            handle.seek(0)
            read = handle.read()
        a, b = socket.socketpair()
        a.sendall(b"ping")
        r, w = os.pipe()
        os.write(w, b"pipe")
        print(sorted(results), total, round(float((matrix @ matrix).sum()) > 0), read, b.recv(4), os.read(r, 4),
              time.monotonic() > 0)
        """,
    )
    assert body["error"] is None, body["error"]
    assert body["stdout"].strip() == "[0, 1, 4, 9, 16, 25, 36, 49] 5050 1 scratch b'ping' b'pipe' True"


def _no_paths_of_ours(error: str) -> None:
    """Nothing of the installation: no frame of a library or of ours, no absolute path of Python or of the checkout."""
    import re
    import sys

    for path in {sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix), str(ROOT), "/opt/refinery", "/usr/lib"}:
        assert path not in error, (path, error)
    assert "worker.py" not in error and "site-packages" not in error
    assert not re.search(r'File "(?!<)', error), error  # every frame shown is the user's code


def test_errors_show_only_the_users_frames_and_no_paths(executor: str, project: dict[str, Any]) -> None:
    body = run(executor, project, 'import json\n\ndef parse(text):\n    return json.loads(text)\n\nparse("{")\n')
    error = body["error"]
    assert error is not None and "json.decoder.JSONDecodeError" in error
    assert 'File "<record ide>", line 6, in <module>' in error and 'File "<record ide>", line 4, in parse' in error
    _no_paths_of_ours(error)

    body = run(executor, project, "from json import no_such_name\n")  # its message names the module's file
    error = body["error"]
    assert error is not None and "cannot import name 'no_such_name' from 'json' (<python>/json/__init__.py)" in error
    _no_paths_of_ours(error)

    body = run(executor, project, "import ctypes\n\nctypes.string_at(0)\n")  # the crash dump of faulthandler
    error = body["error"]
    assert error is not None and "segmentation fault" in error and 'File "<record ide>", line 3' in error
    _no_paths_of_ours(error)


def test_a_hanging_call_times_out_on_its_record(executor: str, project: dict[str, Any]) -> None:
    set_limits(uuid_of(project), record_time_s=1, wall_time_s=30)
    started = time.monotonic()
    body = run(executor, project, "import socket\na, b = socket.socketpair()\na.recv(1)  # blocks for ever\n")
    assert time.monotonic() - started < 20
    error = body["error"]
    assert error is not None and "timed out on record 1 (id 0, record id" in error and "after 1 s" in error, error
