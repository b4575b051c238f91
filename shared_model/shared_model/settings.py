"""Settings for every service, read from the environment (prefix ``REFINERY_``) and an optional ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_NAMES = ("gateway", "tokenizer", "embedder", "weak_supervisor", "neural_search", "executor")
DEFAULT_PORTS = {
    "gateway": 4455,
    "tokenizer": 4461,
    "embedder": 4462,
    "weak_supervisor": 4463,
    "neural_search": 4464,
    "executor": 4465,
}


class Settings(BaseSettings):
    """All configuration. Each field maps to ``REFINERY_<NAME>``; ``docs/configuration.md`` lists them."""

    model_config = SettingsConfigDict(env_prefix="REFINERY_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the Postgres database; empty means the embedded Postgres under data_dir.",
        validation_alias=AliasChoices("REFINERY_DATABASE_URL", "DATABASE_URL"),
    )
    data_dir: Path = Field(default=Path("data"), description="Where pid files, logs and local storage live.")
    environment: str = Field(default="development", description="development, test or production.")
    log_level: str = Field(default="INFO")

    gateway_host: str = Field(default="0.0.0.0", description="Bind address of the public gateway.")
    internal_host: str = Field(default="127.0.0.1", description="Bind address of the internal services.")
    gateway_port: int = DEFAULT_PORTS["gateway"]
    tokenizer_port: int = DEFAULT_PORTS["tokenizer"]
    embedder_port: int = DEFAULT_PORTS["embedder"]
    weak_supervisor_port: int = DEFAULT_PORTS["weak_supervisor"]
    neural_search_port: int = DEFAULT_PORTS["neural_search"]
    executor_port: int = DEFAULT_PORTS["executor"]
    tokenizer_url: str = ""
    embedder_url: str = ""
    weak_supervisor_url: str = ""
    neural_search_url: str = ""
    executor_url: str = ""
    service_timeout_s: float = Field(default=30.0, description="Timeout of one gateway call to an internal service.")
    service_secret: str = Field(
        default="",
        description="Secret every call to an internal service carries (header X-Refinery-Service-Secret); empty = read"
        " <data_dir>/service_secret, generated with mode 0600 on first start.",
    )

    admin_email: str = Field(default="admin@localhost", description="Login of the admin created on first start.")
    admin_password: str = Field(default="", description="Admin password on first start; empty = generate and print.")
    session_ttl_hours: int = 24 * 7
    cookie_secure: bool = False
    login_max_failures_per_account: int = Field(
        default=5, ge=1, description="Failed logins for one account within login_failure_window_s before it gets 429."
    )
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="Failed logins from one client address within login_failure_window_s before 429."
    )
    login_failure_window_s: int = Field(
        default=900, ge=1, description="Window in which failed logins are counted (and how long a throttle lasts)."
    )

    upload_max_bytes: int = Field(default=1024 * 1024 * 1024, description="Largest accepted upload file.")
    upload_max_columns: int = Field(default=500, description="Most columns an uploaded file may have.")
    upload_chunk_rows: int = Field(default=50_000, description="Rows read and loaded per chunk on upload.")
    upload_max_field_length: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=512 * 1024 * 1024,
        description="Longest cell (characters) an uploaded CSV, JSON or XLSX file may hold; a longer one is refused"
        " naming its row and column.",
    )
    json_max_depth: int = Field(
        default=64,
        ge=4,
        le=500,
        description="Deepest nesting of JSON objects and arrays accepted in request bodies, uploads and snapshots.",
    )

    tokenizer_processes: int = Field(
        default=0, description="Processes tokenizing a big job, the service's included: 0 = min(2, CPU count); 1 = it alone."
    )
    tokenizer_process_min_records: int = Field(
        default=20_000, description="Tokenize jobs with fewer stale records start no worker process."
    )
    tokenizer_worker_idle_s: float = Field(
        default=300.0, description="Tokenizer worker processes idle this long end; 0 = they end with each job."
    )
    tokenizer_prestart: str = Field(
        default="en", description="Pipeline whose workers the tokenizer starts with the service; empty = none."
    )
    tokenizer_worker_answer_s: float = Field(
        default=600.0, description="A tokenizer worker process that takes longer for one chunk fails the job; 0 = no limit."
    )

    job_heartbeat_s: float = Field(default=5.0, description="How often a running job's service beats.")
    job_stale_after_s: float = Field(default=60.0, description="A running job silent this long is stale.")
    job_max_attempts: int = Field(default=2, description="Attempts before a stale job is failed.")

    executor_backend: str = Field(default="auto", description="Sandbox for user code: auto, bwrap or docker.")
    executor_allow_unsafe: bool = Field(
        default=False, description="Run user code WITHOUT a sandbox when none is available (development only)."
    )
    executor_workers: int = Field(
        default=0,
        ge=0,
        description="Sandboxed workers that one job's heuristics are dealt to (each heuristic runs in exactly one; they"
        " share one read of the records); 0 = one per CPU core, at most 4.",
    )
    executor_docker_image: str = Field(default="python:3.11-slim", description="Image of the docker sandbox backend.")
    executor_extra_packages: list[str] = Field(
        default_factory=list, description="Extra PyPI packages user code may import (installed once at executor start)."
    )
    executor_bwrap_path: str = Field(
        default="", description="The bubblewrap program of the bwrap sandbox; empty = `bwrap` on PATH."
    )
    executor_sandbox_nproc_limit: bool = Field(
        default=True,
        description="Set RLIMIT_NPROC on each bwrap sandbox (a non-root executor). It counts every task of the user id"
        " on the host, so where other processes share that uid (containers running as one uid) it must be off;"
        " docker-compose.yml turns it off and limits the executor container's tasks with pids_limit instead.",
    )
    executor_sandbox_recheck_s: float = Field(
        default=30.0, ge=0, description="How long the executor trusts its last sandbox probe before probing again."
    )
    executor_record_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="How long one call of user code on one record may take; beyond it that function fails (named"
        " record) and the other functions of its run go on. A project may set its own (sandbox_limits.record_time_s).",
    )
    executor_start_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="How long the module-level code of one function (imports, loading a model) may take to start.",
    )

    executor_run_concurrency: int = Field(
        default=0,
        ge=0,
        description="Full runs (heuristic runs, attribute calculations, active learners) one executor process runs at"
        " once, fair across projects; 0 = one per CPU core.",
    )
    executor_runs_per_project: int = Field(
        default=0,
        ge=0,
        description="Full runs of ONE project running at once; 0 = executor_run_concurrency - 1 (at least 1), so that"
        " another project's run always finds a free place.",
    )
    executor_interactive_pool: int = Field(
        default=2,
        ge=1,
        description="Interactive sandboxes (run on sample, record IDE) one executor process runs at once; beyond it"
        " the call is answered 429 with Retry-After.",
    )
    executor_interactive_memory_mb: int = Field(
        default=4096,
        ge=256,
        description="Memory all interactive sandboxes together may use: each gets at most this divided by"
        " executor_interactive_pool (and at most its project's memory limit).",
    )
    embedder_interactive_pool: int = Field(
        default=2,
        ge=1,
        description="Zero-shot playground calls one embedder process answers at once; beyond it 429 with Retry-After.",
    )
    run_time_limit_default_s: int = Field(
        default=3600, ge=1, description="Time limit of a full run of a project that sets none (run_time_limit_s)."
    )
    run_time_limit_max_s: int = Field(
        default=6 * 3600, ge=1, description="The largest time limit a project may set for its full runs."
    )
    browser_statement_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="Longest a data-browser query (search, count, slices, sessions, metrics) may run before it is "
        "stopped and answered 503; 0 = no limit.",
    )
    browser_exact_count_ms: int = Field(
        default=150,
        ge=1,
        description="count 'auto': the exact count may take this long; past it the planner's estimate is answered "
        "instead (marked estimated).",
    )
    browser_index_min_records: int = Field(
        default=50_000,
        ge=0,
        description="A project of at least this many records gets per-project expression indexes on the numeric, "
        "category and boolean attributes its data-browser queries filter or sort by (built in the background).",
    )

    sample_projects_dir: Path | None = Field(
        default=None,
        description="Folder of project snapshots (.zip or .json) offered as sample projects; default data_dir/samples.",
    )

    qdrant_url: str = Field(default="", description="Qdrant server URL; empty = local mode under data_dir.")
    s3_endpoint: str = Field(default="", description="MinIO/S3 endpoint; empty = the local file-system store.")
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "refinery"
    s3_secure: bool = False

    # Scale-out (docs/scale-out.md): labeling-function runs as data-parallel partitions, on Ray when configured.
    ray_address: str = Field(
        default="",
        description="The Ray cluster the executor runs labeling-function partitions on (`auto`, `ray://head:10001`,"
        " or a head's `host:port`); empty = the local process pool.",
    )
    executor_partitions: bool = Field(
        default=False,
        description="Run labeling functions as (heuristic group x record-id range) partitions on the local pool even"
        " without Ray (with `ray_address` set they always are); attribute calculations likewise, as record-id range"
        " partitions.",
    )
    executor_partition_records: int = Field(
        default=10_000, ge=100, le=1_000_000, description="Records per partition of a partitioned run."
    )
    executor_partition_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per partition on Ray (a killed worker or node is retried)."
    )
    ray_min_records: int = Field(
        default=20_000,
        ge=1,
        description="Tokenize and embedding jobs with at least this many records run as partitions on Ray (actors"
        " holding the spaCy pipeline or the model) when `ray_address` is set; smaller ones run in the service.",
    )
    ray_actors: int = Field(
        default=0,
        ge=0,
        le=1024,
        description="Actors of a tokenize or embedding job on Ray; 0 = one per CPU of the cluster (embeddings: one per"
        " GPU when its nodes have GPUs).",
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        if value.startswith("postgres://"):
            value = "postgresql://" + value[len("postgres://") :]
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg2://" + value[len("postgresql://") :]
        return value

    def service_url(self, name: str) -> str:
        """Base URL of an internal service: its ``*_url`` setting, else the local host and port."""
        explicit: str = getattr(self, f"{name}_url")
        if explicit:
            return explicit.rstrip("/")
        return f"http://127.0.0.1:{self.service_port(name)}"

    def service_port(self, name: str) -> int:
        """Port a service listens on."""
        port: int = getattr(self, f"{name}_port")
        return port


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache with ``get_settings.cache_clear()``)."""
    return Settings()
