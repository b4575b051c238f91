"""Sandbox backends: how the worker process is started. ``bwrap`` (default), ``docker``, or the explicit unsafe one.

Each backend turns :class:`Limits` into a running process whose stdin/stdout carry the worker protocol and whose stderr
is drained (capped) by the session. The backend never gives the sandbox the service's environment, the database, the
network or any folder but a private scratch.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any, Protocol

from shared_model.settings import get_settings

from . import seccomp

WORKER_PATH = Path(__file__).with_name("worker.py")
SANDBOX_WORKER = "/opt/refinery/worker.py"
SANDBOX_EXTRA = "/opt/refinery/extra"
SANDBOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


class SandboxUnavailable(RuntimeError):
    """No sandbox backend can run user code here (and the unsafe development mode is off)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (per project overrides in ``project.settings["sandbox_limits"]``)."""

    wall_time_s: float = 600.0
    cpu_time_s: int = 600
    memory_mb: int = 2048
    max_processes: int = 64
    max_output_bytes: int = 1_000_000
    scratch_mb: int = 64
    record_time_s: float = 0.0  # one call on one record at most (0: the installation's executor_record_timeout_s)

    @classmethod
    def merged(cls, base: Limits, overrides: dict[str, Any] | None) -> Limits:
        """``base`` with the known, positive keys of ``overrides`` applied (unknown keys are ignored)."""
        values = asdict(base)
        names = {f.name: f.type for f in fields(cls)}
        for key, value in (overrides or {}).items():
            if key in names and isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                values[key] = float(value) if key in ("wall_time_s", "record_time_s") else int(value)
        return cls(**values)


@dataclass
class SandboxProcess:
    """A started worker: its pipes and how to stop it."""

    stdin: IO[bytes]
    stdout: IO[bytes]
    stderr: IO[bytes]
    wait: Callable[[float | None], int | None]
    kill: Callable[[], None]
    description: str


class Backend(Protocol):
    name: str
    passes_fds: bool  # whether ``start`` can hand descriptors to the worker (the progress page of the watchdog)

    def start(self, limits: Limits, extra_dir: Path | None, pass_fds: tuple[int, ...] = ()) -> SandboxProcess:
        """Start one worker under ``limits`` (with ``pass_fds`` open in it, where the backend can)."""
        ...


def _rlimits(limits: Limits) -> Callable[[], None]:
    # RLIMIT_NPROC counts every task of the real user id host-wide, not only the sandbox's: off where the uid is shared
    # (containers); process creation is refused by the seccomp filter either way, so it bounds threads only.
    nproc = os.getuid() != 0 and get_settings().executor_sandbox_nproc_limit

    def apply() -> None:
        memory = limits.memory_mb * 1024 * 1024
        cpu = max(1, int(limits.cpu_time_s))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.scratch_mb * 1024 * 1024,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if nproc:  # root ignores RLIMIT_NPROC; under root the seccomp filter forbids fork instead
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))

    return apply


def _popen_process(process: subprocess.Popen[bytes], description: str) -> SandboxProcess:
    assert process.stdin and process.stdout and process.stderr

    def wait(timeout: float | None) -> int | None:
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill() -> None:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                pass

    return SandboxProcess(process.stdin, process.stdout, process.stderr, wait, kill, description)


class BwrapBackend:
    """bubblewrap: new user/pid/net/ipc/uts namespaces as uid 65534, no capabilities, seccomp, read-only system."""

    name = "bwrap"
    passes_fds = True

    def __init__(self, bwrap: str) -> None:
        self.bwrap = bwrap

    def command(self, limits: Limits, extra_dir: Path | None, seccomp_fd: int) -> list[str]:
        # The interpreter by its folder's real path: the folders bound below are resolved, and an executable reached
        # through a symlinked folder (a checkout under a symlink, a symlinked .venv) would not exist in the sandbox.
        python = Path(sys.executable).parent.resolve() / Path(sys.executable).name
        prefix = Path(sys.prefix).resolve()
        base_prefix = Path(sys.base_prefix).resolve()
        args = [
            self.bwrap,
            "--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--cap-drop", "ALL", "--clearenv", "--die-with-parent", "--new-session",
            "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr",
            # The private scratch comes first: the binds below may lie under /tmp (a checkout in /tmp, as in CI)
            # and must stay visible on top of it.
            "--size", str(limits.scratch_mb * 1024 * 1024), "--tmpfs", "/tmp",
        ]  # fmt: skip
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            path = Path(top)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), top]
            elif path.is_dir():
                args += ["--ro-bind", top, top]
        for name in ("ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", "mime.types"):
            if Path("/etc", name).exists():
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for folder in {prefix, base_prefix}:
            if not str(folder).startswith("/usr/"):
                args += ["--ro-bind", str(folder), str(folder)]
        if extra_dir is not None and extra_dir.is_dir():
            args += ["--ro-bind", str(extra_dir.resolve()), SANDBOX_EXTRA]
        args += [
            "--ro-bind", str(WORKER_PATH), SANDBOX_WORKER,
            "--proc", "/proc", "--dev", "/dev",
            "--remount-ro", "/",
            "--chdir", "/tmp",
        ]  # fmt: skip
        for key, value in SANDBOX_ENV.items():
            args += ["--setenv", key, value]
        args += ["--seccomp", str(seccomp_fd)]
        args += ["--", str(python), "-I", "-B", SANDBOX_WORKER]
        return args

    def start(self, limits: Limits, extra_dir: Path | None, pass_fds: tuple[int, ...] = ()) -> SandboxProcess:
        fd = seccomp.filter_fd()
        try:
            process = subprocess.Popen(
                self.command(limits, extra_dir, fd),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={"PATH": SANDBOX_ENV["PATH"]},  # bwrap's own environment is visible as /proc/1/environ inside
                pass_fds=(fd, *pass_fds),
                preexec_fn=_rlimits(limits),  # noqa: PLW1509 - rlimits must be set between fork and exec
                start_new_session=True,
                cwd="/",
            )
        finally:
            os.close(fd)
        return _popen_process(process, "bwrap")


class UnsafeBackend:
    """No isolation at all (rlimits only): for development machines without bwrap or Docker, when explicitly enabled."""

    name = "unsafe"
    passes_fds = True

    def start(self, limits: Limits, extra_dir: Path | None, pass_fds: tuple[int, ...] = ()) -> SandboxProcess:
        process = subprocess.Popen(
            [sys.executable, "-I", "-B", str(WORKER_PATH)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(SANDBOX_ENV),
            preexec_fn=_rlimits(limits),  # noqa: PLW1509
            start_new_session=True,
            cwd="/tmp",
            pass_fds=pass_fds,
        )
        return _popen_process(process, "unsafe")


class DockerBackend:
    """One container per run: no network, read-only root, a tmpfs scratch, memory, CPU and pids limits."""

    name = "docker"
    passes_fds = False  # the container has no descriptors of ours: no per-record watchdog, the wall time bounds a run

    def __init__(self, image: str) -> None:
        import docker

        self.client = docker.from_env()
        self.client.ping()
        self.image = image

    def start(self, limits: Limits, extra_dir: Path | None, pass_fds: tuple[int, ...] = ()) -> SandboxProcess:
        volumes = {}
        if extra_dir is not None and extra_dir.is_dir():
            volumes[str(extra_dir.resolve())] = {"bind": SANDBOX_EXTRA, "mode": "ro"}
        container = self.client.containers.create(
            self.image,
            # The worker travels as the command line, so the image needs nothing of ours.
            command=["python", "-I", "-B", "-c", WORKER_PATH.read_text()],
            stdin_open=True,
            network_mode="none",
            read_only=True,
            user="65534:65534",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            environment=dict(SANDBOX_ENV),
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=1_000_000_000,
            pids_limit=limits.max_processes,
            ulimits=[{"Name": "cpu", "Soft": int(limits.cpu_time_s), "Hard": int(limits.cpu_time_s) + 1}],
            tmpfs={"/tmp": f"size={limits.scratch_mb}m,mode=1777"},
            volumes=volumes,
            working_dir="/tmp",
            auto_remove=False,
        )
        process = subprocess.Popen(
            ["docker", "start", "--attach", "--interactive", container.id],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

        def kill() -> None:
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
            if process.poll() is None:
                process.kill()
                process.wait(5)

        sandbox = _popen_process(process, "docker")
        sandbox.kill = kill
        return sandbox


_BACKEND: Backend | None = None


def get_backend() -> Backend:
    """The configured backend (``REFINERY_EXECUTOR_BACKEND``: auto, bwrap, docker); raises :class:`SandboxUnavailable`."""
    global _BACKEND
    if _BACKEND is not None:
        return _BACKEND
    settings = get_settings()
    wanted = settings.executor_backend
    reasons: list[str] = []
    if wanted in ("auto", "bwrap"):
        bwrap_problem = bwrap_unusable(settings.executor_bwrap_path) or _seccomp_problem()
        if bwrap_problem is None:
            _BACKEND = BwrapBackend(settings.executor_bwrap_path or shutil.which("bwrap") or "bwrap")
            return _BACKEND
        reasons.append(bwrap_problem)
    if wanted in ("auto", "docker"):
        try:
            _BACKEND = DockerBackend(settings.executor_docker_image)
            return _BACKEND
        except Exception as exc:  # noqa: BLE001 - any failure means: no Docker engine to use
            reasons.append(f"no Docker engine ({type(exc).__name__}: {exc})")
    if settings.executor_allow_unsafe:
        _BACKEND = UnsafeBackend()
        return _BACKEND
    raise SandboxUnavailable(
        "user code cannot run: no sandbox is available ("
        + "; ".join(reasons or [f"unknown backend {wanted!r}"])
        + "). Install bubblewrap or give the executor a Docker engine; REFINERY_EXECUTOR_ALLOW_UNSAFE=true runs code"
        " unsandboxed on development machines only."
    )


def _seccomp_problem() -> str | None:
    """Why the sandbox's seccomp filter cannot be built here (None: it can): user code never runs without it."""
    try:
        os.close(seccomp.filter_fd())
    except seccomp.SeccompUnavailable as exc:
        return str(exc)
    return None


def reset_backend() -> None:
    """Forget the chosen backend (tests)."""
    global _BACKEND
    _BACKEND = None


def bwrap_unusable(configured: str = "", *, full: bool = False) -> str | None:
    """Why bubblewrap cannot run the sandbox here, or None when it can.

    The quick probe (what :func:`get_backend` uses before a run) creates the namespaces and runs ``true``. The ``full``
    one (the executor's health, at start and then every ``executor_sandbox_recheck_s``) starts the real sandbox, with
    every flag, the seccomp filter and the rlimits, and the real worker, which ends at once when its standard input
    closes: what fails there would fail every run.
    """
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            return f"bubblewrap not found at {configured}"
        bwrap = configured
    else:
        found = shutil.which("bwrap")
        if found is None:
            return f"bubblewrap (bwrap) not found on PATH ({os.environ.get('PATH', '')})"
        bwrap = found
    if not full:
        try:
            result = subprocess.run(
                [bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--", "/bin/true"],
                capture_output=True,
                timeout=20,
                env={"PATH": SANDBOX_ENV["PATH"]},
            )
        except OSError as exc:
            return f"bubblewrap at {bwrap} cannot be started: {exc}"
        except subprocess.TimeoutExpired:
            return f"bubblewrap at {bwrap} did not finish a trivial sandboxed run within 20 s"
        if result.returncode != 0:
            stderr = result.stderr[:2000].decode(errors="replace").strip()
            return f"bubblewrap at {bwrap} cannot create the sandbox (exit {result.returncode}): {stderr or 'no message'}"
        return None
    try:
        process = BwrapBackend(bwrap).start(Limits(wall_time_s=20.0, cpu_time_s=20), None)
    except seccomp.SeccompUnavailable as exc:  # never run user code without the filter
        return str(exc)
    except OSError as exc:
        return f"bubblewrap at {bwrap} cannot be started: {exc}"
    try:
        process.stdin.close()
        code = process.wait(20)
        if code is None:
            return f"bubblewrap at {bwrap} did not finish a trivial sandboxed run within 20 s"
        if code != 0:
            stderr = process.stderr.read(2000).decode(errors="replace").strip()
            return f"bubblewrap at {bwrap} cannot run the sandbox (exit {code}): {stderr or 'no message'}"
        return None
    finally:
        process.kill()
        for stream in (process.stdout, process.stderr):
            stream.close()
