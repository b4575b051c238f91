"""Connecting a service to the Ray cluster at ``REFINERY_RAY_ADDRESS`` as a driver (docs/scale-out.md): the executor
(labeling-function partitions), the tokenizer (actors holding the spaCy pipeline) and the embedder (actors holding
the model). ``ray`` is an optional extra: imported only here, only when Ray is configured."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

_LOCK = threading.Lock()
CONNECT_ATTEMPTS = 3  # a Ray Client head can fail to start a client's server process now and then (see connect)


def connect(address: str, attempts: int = CONNECT_ATTEMPTS) -> Any:
    """``ray``, connected to the cluster at ``address`` (once per process); tasks and actors get the platform's
    settings (``REFINERY_*``, ``DATABASE_URL``) as environment variables.

    A connection refused or aborted (``ConnectionError``) is tried again, ``attempts`` tries in all, 2 s and 4 s
    apart: a Ray Client head (``ray://``) starts a server process per client, and that start failed once on a loaded
    machine ("Starting Ray client server failed", the compose profile ``ray`` in the container suite); a new try gets
    a new server process. Other errors, and the last try's, are raised."""
    import ray

    with _LOCK:
        for attempt in range(1, max(1, attempts) + 1):
            if ray.is_initialized():
                break
            forwarded = {k: v for k, v in os.environ.items() if k.startswith("REFINERY_") or k == "DATABASE_URL"}
            try:
                ray.init(address=address, runtime_env={"env_vars": forwarded}, log_to_driver=False)
            except ConnectionError:
                ray.shutdown()  # whatever the failed try set up
                if attempt >= attempts:
                    raise
                time.sleep(2.0 * attempt)
    return ray


def cluster_cpus(ray: Any) -> int:
    """The CPUs of the cluster's alive nodes (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def cluster_gpus(ray: Any) -> int:
    """The GPUs of the cluster's alive nodes."""
    return int(ray.cluster_resources().get("GPU", 0))
