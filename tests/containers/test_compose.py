"""The whole platform in containers, for real: every image built, `./start --docker` (deploy/compose-up), health, the
SDK tour, the UI, hostile user code inside the executor container, an executor crash mid-run, data kept over
`down`/`up`, and `down -v` leaving nothing behind but the cached base images.

Runs only with REFINERY_CONTAINER_TESTS=1 and a Docker engine that answers (.ci/run starts dockerd and sets it after
./test); otherwise the module is skipped with the reason. Everything it creates carries its own compose project name
(refinery-ct-<hex>) and image tag (ct-<hex>), so that it never touches a user's refinery containers, volumes or images.
The tests run in file order and share one platform.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared_model.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "admin@localhost"


def _skip_reason() -> str | None:
    if os.environ.get("REFINERY_CONTAINER_TESTS") != "1":
        return (
            "container tests run only with REFINERY_CONTAINER_TESTS=1 (.ci/run sets it when it can start dockerd):"
            " they build every image and run the platform in Docker (about ten minutes)"
        )
    if shutil.which("docker") is None:
        return "no docker command (Debian: apt-get install docker.io docker-compose)"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        return "the Docker engine does not answer ('docker info' failed): start dockerd"
    return None


_REASON = _skip_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

# The first test builds every image (cold: tens of minutes on a busy machine); pytest-timeout's default is 300 s.
pytestmark = pytest.mark.timeout(3600)


def _docker_hub_reachable() -> bool:
    try:
        urllib.request.urlopen("https://registry-1.docker.io/v2/", timeout=8)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _succeeds(*command: str) -> bool:
    return subprocess.run(command, capture_output=True, timeout=120).returncode == 0


def _compose_binary() -> list[str]:
    return ["docker", "compose"] if _succeeds("docker", "compose", "version") else ["docker-compose"]


def _lines(*command: str) -> list[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return [line for line in result.stdout.splitlines() if line.strip()]


@dataclass
class Stack:
    """One compose project of this test module."""

    name: str
    tag: str
    mode: str
    port: int
    password: str
    env: dict[str, str]
    dangling_before: set[str]
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def files(self) -> list[str]:
        files = ["-f", str(ROOT / "docker-compose.yml")]
        if self.mode == "local":
            files += ["-f", str(ROOT / "docker-compose.local.yml")]
        return files

    def run(self, *command: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    def compose(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return self.run(*_compose_binary(), *self.files, *args, timeout=timeout)

    def container(self, service: str) -> str:
        ids = _lines(
            "docker",
            "ps",
            "-aq",
            "--filter",
            f"label=com.docker.compose.project={self.name}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        )
        assert len(ids) == 1, f"{service}: containers {ids}"
        return ids[0]

    def inspect(self, service: str) -> dict[str, Any]:
        result = subprocess.run(["docker", "inspect", self.container(service)], capture_output=True, text=True, check=True)
        data: dict[str, Any] = json.loads(result.stdout)[0]
        return data

    def exec(self, service: str, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", "exec", self.container(service), *command], capture_output=True, text=True, timeout=120)

    def up(self) -> subprocess.CompletedProcess[str]:
        return self.run(str(ROOT / "deploy" / "compose-up"), timeout=3600)

    def clean(self) -> None:
        """down -v, then the images of this tag and the build's own dangling layers; never the base images."""
        subprocess.run(
            [*_compose_binary(), *self.files, "down", "-v", "--remove-orphans"],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            timeout=600,
        )
        images = [f"refinery/{service}:{self.tag}" for service in (*SERVICE_NAMES, "ray-node")]
        present = [image for image in images if _succeeds("docker", "image", "inspect", image)]
        if present:
            subprocess.run(["docker", "rmi", *present], capture_output=True, timeout=600)
        dangling = set(_lines("docker", "images", "-q", "--filter", "dangling=true")) - self.dangling_before
        if dangling:
            subprocess.run(["docker", "rmi", *sorted(dangling)], capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    suffix = secrets.token_hex(4)
    mode = "hub" if _docker_hub_reachable() else "local"
    port = _free_port()
    password = "ct-" + secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": f"refinery-ct-{suffix}",
        "REFINERY_IMAGE_TAG": f"ct-{suffix}",
        "REFINERY_GATEWAY_PORT": str(port),
        "REFINERY_ADMIN_PASSWORD": password,
        "REFINERY_SERVICE_SECRET": secrets.token_urlsafe(32),
        "REFINERY_DOCKER_BASES": mode,
        "REFINERY_DOCKER_WAIT_S": "600",
    }
    dangling = set(_lines("docker", "images", "-q", "--filter", "dangling=true"))
    built = Stack(f"refinery-ct-{suffix}", f"ct-{suffix}", mode, port, password, env, dangling)
    try:
        started = time.monotonic()
        result = built.up()
        built.state["start_s"] = time.monotonic() - started
        built.state["start_output"] = result.stdout + result.stderr
        yield built
    finally:
        built.clean()


def _client(stack: Stack, **kwargs: Any) -> Any:
    from refinery import Client

    return Client(ADMIN_EMAIL, stack.password, uri=stack.url, progress=False, **kwargs)


def test_every_image_builds_and_every_service_becomes_healthy(stack: Stack) -> None:
    for service in SERVICE_NAMES:
        image = stack.inspect(service)["Config"]["Image"]
        assert image == f"refinery/{service}:{stack.tag}", image
    health = httpx.get(f"{stack.url}/api/v1/health", timeout=30)
    assert health.status_code == 200, health.text
    services = health.json()["services"]
    assert {name for name, item in services.items() if item["status"] == "ok"} == set(SERVICE_NAMES)
    deadline = time.monotonic() + 180
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {name: stack.inspect(name)["State"]["Health"]["Status"] for name in (*SERVICE_NAMES, "postgres")}
        if set(states.values()) == {"healthy"}:
            break
        time.sleep(3)
    assert set(states.values()) == {"healthy"}, states
    print(f"\nbuild and start ({stack.mode} bases): {stack.state['start_s']:.0f} s")
    # deploy/compose-up's own lines, and the end of the log of a service that restarted while starting
    shown, in_log = [], False
    for line in stack.state["start_output"].splitlines():
        if line.startswith("docker:"):
            shown.append(line)
            in_log = line.endswith("the end of its log:")
        elif in_log and line.startswith("    "):
            shown.append(line)
        else:
            in_log = False
    print("\n".join(shown))


def test_only_the_gateway_is_published_and_internal_services_want_the_secret(stack: Stack) -> None:
    for service in (*SERVICE_NAMES, "postgres"):
        bindings = stack.inspect(service)["HostConfig"]["PortBindings"] or {}
        assert bool(bindings) == (service == "gateway"), f"{service} publishes {bindings}"
    probe = textwrap.dedent(
        """
        import sys, urllib.error, urllib.request
        try:
            urllib.request.urlopen(sys.argv[1], timeout=5)
            print("ANSWERED 200")
        except urllib.error.HTTPError as error:
            print("STATUS", error.code)
        """
    )
    for service in ("tokenizer", "executor", "weak_supervisor"):
        port = {"tokenizer": 4461, "executor": 4465, "weak_supervisor": 4463}[service]
        result = stack.exec("gateway", "python", "-c", probe, f"http://{service}:{port}/jobs")
        assert "STATUS 401" in result.stdout, (service, result.stdout, result.stderr)


def test_no_container_gets_the_docker_socket_and_the_executor_keeps_no_capability(stack: Stack) -> None:
    for service in (*SERVICE_NAMES, "postgres"):
        details = stack.inspect(service)
        mounts = [mount.get("Source", "") for mount in details["Mounts"]]
        assert not any("docker.sock" in source for source in mounts), f"{service}: {mounts}"
        if service != "executor":
            assert not details["HostConfig"]["CapAdd"], service
    for service in SERVICE_NAMES:
        status = stack.exec(service, "cat", "/proc/1/status").stdout
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        assert fields["Uid"].split()[:2] == ["10001", "10001"], f"{service} runs as {fields['Uid']}"
        assert int(fields["CapEff"], 16) == 0 and int(fields["CapBnd"], 16) == 0, f"{service}: {fields['CapBnd']}"
        assert fields["NoNewPrivs"].strip() == "1" or service != "executor", service


def test_the_ui_index_is_served_at_the_root(stack: Stack) -> None:
    index = httpx.get(f"{stack.url}/", timeout=30)
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert '<div id="root">' in index.text and "/assets/" in index.text, index.text[:500]


CSV = "headline,headline__sentiment\n" + "".join(
    f'"{text} {i}",{label}\n'
    for i in range(10)
    for text, label in (
        ("T. Rowe Price Dips More Than Broader Markets", "negative"),
        ("Apple shares hit a record high", "positive"),
        ("Markets close flat ahead of Fed decision", "neutral"),
    )
)
LF = """
def lf(record):
    text = record["headline"].text.lower()
    if "record high" in text:
        return "positive"
    if "dips" in text:
        return "negative"
"""


def test_the_sdk_tour_works_against_the_containers(stack: Stack, tmp_path: Path) -> None:
    with _client(stack) as client:
        project = client.create_project("container tour")
        (tmp_path / "headlines.csv").write_text(CSV)
        client.post_file_import(tmp_path / "headlines.csv")
        task = client.get_labeling_tasks()[0]
        heuristic = client.create_heuristic(task["id"], "lf_markets", LF)
        run = client.run_heuristic(heuristic["id"])
        assert run["state"] == "FINISHED", run
        supervision = client.run_weak_supervision(task["id"])
        assert supervision["state"].lower() in ("finished", "done"), supervision
        exported = list(client.iter_export())
        assert len(exported) == 30
        weak = [row.get("headline__sentiment__WEAK_SUPERVISION") for row in exported]
        assert weak.count("positive") == 10 and weak.count("negative") == 10, weak
        assert all(row.get("headline__sentiment__MANUAL") for row in exported)
        stack.state.update(project=str(project["id"]), task=str(task["id"]), admin_id=str(client.user["id"]))
        stack.state["token"] = client.create_api_token("container tests")["token"]


HOSTILE: dict[str, tuple[str, list[str]]] = {
    # name: (code, strings that must NOT appear in its output or error)
    "network": (
        """
        import socket
        for host, port in (("gateway", 4455), ("postgres", 5432), ("executor", 4465), ("tokenizer", 4461),
                           ("127.0.0.1", 4465), ("1.1.1.1", 53)):
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect((host, port))
                print("CONNECTED", host, port)
            except OSError as exc:
                print("blocked", host, port)
        """,
        ["CONNECTED"],
    ),
    "environment and processes": (
        """
        import os
        print(dict(os.environ))
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    print(pid, open(f"/proc/{pid}/environ").read(), open(f"/proc/{pid}/cmdline").read())
                except OSError as exc:
                    print(pid, "unreadable")
        """,
        # (the sandbox's pid 1 is bwrap, whose command line names the bound worker file: no secret)
        ["REFINERY", "DATABASE_URL", "POSTGRES", "SECRET"],
    ),
    "files of the container": (
        """
        import os
        for path in ("/data/service_secret", "/data", "/app/services/executor", "/run/refinery-proc",
                     "/var/run/docker.sock", "/run/docker.sock", "/etc/shadow", "/var/lib/postgresql"):
            try:
                print("READ", path, os.listdir(path) if os.path.isdir(path) else open(path).read()[:50])
            except OSError as exc:
                print("denied", path, type(exc).__name__)
        """,
        ["READ"],
    ),
    "mounting": (
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.mount(b"none", b"/", None, 32 | 4096, None)  # MS_REMOUNT | MS_BIND: make / writable
        print("MOUNTED" if result == 0 else "refused", os.strerror(ctypes.get_errno()))
        open("/usr/escaped", "w").write("x")
        """,
        ["MOUNTED"],
    ),
}


def _ide(stack: Stack, code: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.state['token']}"}
    project = stack.state["project"]
    records = httpx.get(f"{stack.url}/api/v1/projects/{project}/records?limit=1", headers=headers, timeout=30).json()
    record_id = (records["items"] if isinstance(records, dict) else records)[0]["id"]
    response = httpx.post(
        f"{stack.url}/api/v1/projects/{project}/records/{record_id}/ide",
        json={"code": textwrap.dedent(code)},
        headers=headers,
        timeout=120,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_code_escapes_nothing_inside_the_executor_container(stack: Stack, name: str) -> None:
    code, forbidden = HOSTILE[name]
    body = _ide(stack, code)
    shown = f"{body.get('stdout')}\n{body.get('error')}"
    for text in forbidden:
        assert text not in shown, f"{name}: {text!r} in {shown[:2000]}"
    if name == "network":
        assert shown.count("blocked") == 6, shown
    if name == "mounting":
        assert body["error"] and ("Read-only file system" in body["error"] or "Permission" in body["error"]), shown
    assert stack.exec("executor", "test", "-e", "/usr/escaped").returncode != 0
    assert httpx.get(f"{stack.url}/api/v1/health", timeout=30).status_code == 200


def test_fork_and_memory_bombs_are_contained_in_the_executor_container(stack: Stack) -> None:
    body = _ide(stack, "import os\nwhile True:\n    os.fork()\n")
    assert body["error"] and "PermissionError" in body["error"], body
    body = _ide(stack, "data = bytearray(10 * 1024 ** 3)")
    assert body["error"] and "MemoryError" in body["error"], body
    assert _ide(stack, "print(record['headline'].text)")["error"] is None
    assert stack.inspect("executor")["State"]["Health"]["Status"] == "healthy"


SLOW_LF = """
import time

def lf(record):
    time.sleep(1)
    return "neutral"
"""


def test_an_executor_crash_mid_run_restarts_it_and_the_run_ends(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {stack.state['token']}"}
    with _client(stack, project_id=stack.state["project"]) as client:
        slow = client.create_heuristic(stack.state["task"], "slow", SLOW_LF)
        run = client.run_heuristic(slow["id"], wait=False)
        path = f"{stack.url}/api/v1/projects/{stack.state['project']}/heuristics/{slow['id']}/runs/{run['id']}"
        deadline = time.monotonic() + 120
        while httpx.get(path, headers=headers, timeout=30).json()["state"] != "RUNNING":
            assert time.monotonic() < deadline, "the slow run never started"
            time.sleep(1)
        time.sleep(3)
        before = stack.inspect("executor")
        # A crash (what the kernel's OOM killer does): SIGKILL to the container's process, not `docker kill`, which
        # Docker counts as a deliberate stop and never restarts by itself (docs/operations.md).
        os.kill(int(before["State"]["Pid"]), signal.SIGKILL)
        deadline = time.monotonic() + 240
        while True:
            after = stack.inspect("executor")
            if after["RestartCount"] > before["RestartCount"] and after["State"].get("Health", {}).get("Status") == "healthy":
                break
            assert time.monotonic() < deadline, f"the executor did not come back: {after['State']}"
            time.sleep(3)
        deadline = time.monotonic() + 400
        while True:
            ended = httpx.get(path, headers=headers, timeout=30).json()
            if ended["state"] in ("FINISHED", "FAILED", "CANCELLED"):
                break
            assert time.monotonic() < deadline, f"the interrupted run never ended: {ended['state']}"
            time.sleep(3)
        assert ended["state"] == "FINISHED" or (ended["state"] == "FAILED" and (ended.get("error") or "").strip()), ended
        again = client.run_heuristic("lf_markets")
        assert again["state"] == "FINISHED", again


RAY_ADDRESS = "ray://ray-head:10001"
RAY_DRIVERS = ("executor", "tokenizer", "embedder")  # the services that connect to the profile's head as Ray Client
# Run in the embedder's container: an attribute-level embedding's stored vectors by record id (its object store).
READ_VECTORS = """
import json, sys, uuid
from shared_model.storage import EmbeddingArtifacts, get_storage
storage = get_storage()
vectors = {}
for key in EmbeddingArtifacts(storage, uuid.UUID(sys.argv[1])).done_chunks():
    arrays = storage.get_arrays(key)
    vectors.update((int(i), v.tolist()) for i, v in zip(arrays["record_ids"], arrays["vectors"], strict=True))
print(json.dumps(vectors))
"""
# The same MiniLM on the same texts in the embedder's process and in a Ray actor (1 CPU, other thread counts): the
# vectors agree to float32 rounding (tests/embedder/test_ray_encoding.py uses the same bound).
VECTOR_TOLERANCE = 1e-5


def _api(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {stack.state['token']}"}
    response = httpx.request(method, f"{stack.url}/api/v1{path}", headers=headers, timeout=120, **kwargs)
    assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text[:2000]}"
    return response.json()


def _finished_job(stack: Stack, job_id: str, timeout_s: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = _api(stack, "GET", f"/jobs/{job_id}")
        if job["state"] in ("done", "failed", "cancelled"):
            assert job["state"] == "done", job
            return job
        assert time.monotonic() < deadline, f"job {job['kind']} still {job['state']} after {timeout_s} s: {job}"
        time.sleep(1)


def _embed_headlines(stack: Stack, project: str, name: str) -> tuple[str, dict[str, Any]]:
    """An attribute-level embedding (the default model, all-MiniLM-L6-v2) of the headlines: its id and finished job."""
    started = _api(stack, "POST", f"/projects/{project}/embeddings", json={"attribute": "headline", "name": name})
    return str(started["embedding"]["id"]), _finished_job(stack, str(started["job"]["id"]))


def _headlines(stack: Stack, project: str) -> dict[str, int]:
    """Record id by headline (each headline is unique in CSV)."""
    page = _api(stack, "GET", f"/projects/{project}/records?limit=1000")
    return {item["data"]["headline"]: int(item["id"]) for item in page["items"]}


def _wait_healthy(stack: Stack, services: tuple[str, ...], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        states = {name: stack.inspect(name)["State"].get("Health", {}).get("Status") for name in services}
        if set(states.values()) == {"healthy"}:
            return
        assert time.monotonic() < deadline, f"not healthy after {timeout_s} s: {states}"
        time.sleep(3)


def _log_tail(stack: Stack, service: str, lines: int = 40) -> str:
    logs = subprocess.run(["docker", "logs", "--tail", str(lines), stack.container(service)], capture_output=True, text=True)
    return f"the end of {service}'s log:\n{logs.stdout[-4000:]}{logs.stderr[-4000:]}"


def _actor_nodes(stack: Stack, actor_class: str) -> list[str]:
    """The profile's nodes whose Ray worker logs show an actor of ``actor_class`` (Ray writes ``:actor_name:<class>``
    into the log of each worker process that hosts an actor)."""
    found = []
    for node in ("ray-head", "ray-worker"):
        probe = stack.exec(node, "sh", "-c", f"grep -l ':actor_name:{actor_class}$' /tmp/ray/session_latest/logs/worker-*.out")
        if probe.returncode == 0 and probe.stdout.strip():
            found.append(node)
    return found


@dataclass
class RayProfile:
    """The profile ``ray`` started on the stack: its compose command line, and the reference computed before."""

    compose: list[str]
    local_embedding: str  # the tour's headlines embedded by the embedder alone, before it was pointed at Ray
    timings: dict[str, float]


class TestTheProfileRay:
    """The compose profile ``ray`` (docs/scale-out.md): its image (the executor's layers plus the tokenizer's and
    embedder's code), a head and a worker, and the executor, the tokenizer and the embedder pointed at the head's Ray
    Client port, the latter two with ``REFINERY_RAY_MIN_RECORDS=1`` (so that a small upload's jobs use Ray). The
    profile is started once for the class's tests; afterwards the services are pointed back and the nodes removed."""

    @pytest.fixture(scope="class")
    def ray_profile(self, stack: Stack) -> Iterator[RayProfile]:
        compose = [*_compose_binary(), *stack.files, "--profile", "ray"]
        on_ray = {**stack.env, "REFINERY_RAY_ADDRESS": RAY_ADDRESS, "REFINERY_RAY_MIN_RECORDS": "1"}

        def run(*args: str, env: dict[str, str]) -> None:
            done = subprocess.run([*compose, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

        timings: dict[str, float] = {}
        started = time.monotonic()
        # the reference: the tour's upload (tokenized without Ray) embedded by the embedder alone
        local_embedding, job = _embed_headlines(stack, stack.state["project"], "headline local")
        assert job["result"]["runner"] == "local", job["result"]
        timings["local embedding"] = time.monotonic() - started
        try:
            started = time.monotonic()
            run("build", "ray-head", env=stack.env)
            run("up", "-d", "--scale", "ray-worker=1", "ray-head", "ray-worker", *RAY_DRIVERS, env=on_ray)
            _wait_healthy(stack, RAY_DRIVERS)
            deadline = time.monotonic() + 300
            ray: dict[str, Any] = {}
            while time.monotonic() < deadline:
                try:  # 503 while a service restarts
                    ray = httpx.get(f"{stack.url}/api/v1/health", timeout=60).json().get("ray") or {}
                except (httpx.HTTPError, ValueError):
                    ray = {}
                if ray.get("nodes_usable") == 2:
                    break
                time.sleep(5)
            assert ray.get("nodes_usable") == 2 and ray["status"] == "ok", ray
            timings["nodes built and started, services pointed at them"] = time.monotonic() - started
            yield RayProfile(compose, local_embedding, timings)
        finally:
            started = time.monotonic()
            run("rm", "-s", "-f", "ray-head", "ray-worker", env=stack.env)
            run("up", "-d", *RAY_DRIVERS, env=stack.env)
            _wait_healthy(stack, RAY_DRIVERS)
            timings["nodes removed, services pointed back"] = time.monotonic() - started
            print("\nthe profile ray:", ", ".join(f"{what} {seconds:.0f} s" for what, seconds in timings.items()))

    def test_a_labeling_function_runs_on_the_ray_nodes_of_the_profile_ray(self, stack: Stack, ray_profile: RayProfile) -> None:
        """The gateway's health lists both nodes with a working sandbox (checked by the fixture), and a
        labeling-function run executes as partitions on them (the job's result says so) and stores the votes of the
        run on the executor alone."""

        def sql(query: str) -> str:
            return stack.exec("postgres", "psql", "-U", "refinery", "-d", "refinery", "-tAc", query).stdout.strip()

        def votes() -> str:
            return sql(
                "SELECT md5(string_agg(a.record_id || ':' || a.label_id, ',' ORDER BY a.record_id, a.label_id))"
                " FROM heuristic_association a JOIN information_source s ON s.id = a.source_id"
                " WHERE s.name = 'lf_markets'"
            )

        started = time.monotonic()
        before = votes()
        with _client(stack, project_id=stack.state["project"]) as client:
            again = client.run_heuristic("lf_markets")
            assert again["state"] == "FINISHED", again
        timings = json.loads(
            sql("SELECT result->'timings' FROM job WHERE kind = 'heuristic_run' ORDER BY created_at DESC LIMIT 1") or "{}"
        )
        assert timings.get("runner") == "ray" and timings.get("nodes", 0) >= 1, timings
        assert votes() == before
        ray_profile.timings["labeling function"] = time.monotonic() - started

    def test_tokenization_and_an_embedding_run_on_the_ray_nodes_of_the_profile_ray(
        self, stack: Stack, ray_profile: RayProfile, tmp_path: Path
    ) -> None:
        """The tour's upload again, into a project of its own: its tokenization runs on an actor of the nodes (the
        job's result: runner ``ray``, its chunk encoded by an actor; the node's Ray log: the actor) and every record's
        tokens, as the gateway serves them, equal those of the tour's upload tokenized without Ray. Its headlines'
        MiniLM embedding is encoded on an actor of the nodes, its vectors equal those the embedder computed alone
        (within VECTOR_TOLERANCE), and similarity search on it finds what it finds on the local one."""
        started = time.monotonic()
        with _client(stack) as client:
            project = str(client.create_project("container tour on ray")["id"])
            (tmp_path / "headlines.csv").write_text(CSV)
            client.post_file_import(tmp_path / "headlines.csv")
            client.wait_until_idle(timeout_s=600)
        jobs = [job for job in _api(stack, "GET", f"/projects/{project}/jobs") if job["kind"] == "tokenize_project"]
        shown = [(job["state"], job["error"], job["result"]) for job in jobs]
        assert jobs and all(job["state"] == "done" for job in jobs), f"{shown}\n{_log_tail(stack, 'tokenizer')}"
        tokenized = [job["result"] for job in jobs if job["result"].get("tokenized")]
        assert len(tokenized) == 1, jobs
        assert tokenized[0]["tokenized"] == 30 and tokenized[0]["runner"] == "ray", tokenized
        assert tokenized[0]["processes"] >= 1 and tokenized[0]["worker_chunks"] == 1, tokenized  # its one chunk: an actor's
        assert _actor_nodes(stack, "TokenizerActor"), "no node's Ray log shows a TokenizerActor"
        on_ray, local = _headlines(stack, project), _headlines(stack, stack.state["project"])
        assert set(on_ray) == set(local) and len(local) == 30
        for headline, record in on_ray.items():
            served = _api(stack, "GET", f"/projects/{project}/records/{record}/tokens")["attributes"]
            served_local = _api(stack, "GET", f"/projects/{stack.state['project']}/records/{local[headline]}/tokens")
            assert served["headline"]["tokens"] and served == served_local["attributes"], headline
        ray_profile.timings["tokenization"] = time.monotonic() - started

        started = time.monotonic()
        try:
            embedding, job = _embed_headlines(stack, project, "headline on ray")
        except AssertionError as failed:
            raise AssertionError(f"{failed}\n{_log_tail(stack, 'embedder')}") from None
        assert job["result"]["runner"] == "ray" and job["result"]["embedded"] == 30, job["result"]
        assert _actor_nodes(stack, "EncoderActor"), "no node's Ray log shows an EncoderActor"
        read = [
            json.loads(stack.exec("embedder", "python", "-c", READ_VECTORS, e).stdout)
            for e in (embedding, ray_profile.local_embedding)
        ]
        vectors_ray, vectors_local = read
        assert len(vectors_ray) == len(vectors_local) == 30
        deviation = max(
            abs(a - b)
            for headline, record in on_ray.items()
            for a, b in zip(vectors_ray[str(record)], vectors_local[str(local[headline])], strict=True)
        )
        assert deviation <= VECTOR_TOLERANCE, deviation
        query = {"text": "Apple shares hit a record high", "limit": 10}
        found = {
            name: _api(stack, "POST", f"/projects/{pid}/embeddings/{eid}/similar", json=query)["results"]
            for name, pid, eid in (("ray", project, embedding), ("local", stack.state["project"], ray_profile.local_embedding))
        }
        scores = {name: {hit["data"]["headline"]: hit["score"] for hit in hits} for name, hits in found.items()}
        assert set(scores["ray"]) == set(scores["local"]) == {f"Apple shares hit a record high {i}" for i in range(10)}, scores
        assert all(abs(scores["ray"][h] - scores["local"][h]) <= VECTOR_TOLERANCE for h in scores["ray"]), scores
        print(f"\nthe profile ray: embedding vectors on Ray vs the embedder alone: max |difference| {deviation:.1e}")
        ray_profile.timings["embedding"] = time.monotonic() - started


def test_down_then_up_keeps_projects_labels_and_the_admin(stack: Stack) -> None:
    stack.compose("down")
    stack.up()
    with _client(stack, project_id=stack.state["project"]) as client:
        assert str(client.user["id"]) == stack.state["admin_id"]
        assert stack.state["project"] in {str(item["id"]) for item in client.list_projects()}
        exported = list(client.iter_export())
        assert len(exported) == 30
        assert all(row.get("headline__sentiment__MANUAL") for row in exported)
        assert [row.get("headline__sentiment__WEAK_SUPERVISION") for row in exported].count("positive") == 10


def test_down_v_leaves_nothing_behind_but_the_base_images(stack: Stack) -> None:
    stack.clean()
    label = f"label=com.docker.compose.project={stack.name}"
    assert _lines("docker", "ps", "-aq", "--filter", label) == []
    assert _lines("docker", "volume", "ls", "-q", "--filter", label) == []
    assert _lines("docker", "network", "ls", "-q", "--filter", label) == []
    assert _lines("docker", "images", "-q", "--filter", f"reference=refinery/*:{stack.tag}") == []
    assert set(_lines("docker", "images", "-q", "--filter", "dangling=true")) <= stack.dangling_before
