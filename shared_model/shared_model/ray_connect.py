"""Connecting a service to the Ray cluster at ``REFINERY_RAY_ADDRESS`` as a driver (docs/scale-out.md): the executor
(labeling-function partitions), the tokenizer (actors holding the spaCy pipeline) and the embedder (actors holding
the model). ``ray`` is an optional extra: imported only here, only when Ray is configured."""

from __future__ import annotations

import os
import threading
from typing import Any

_LOCK = threading.Lock()


def connect(address: str) -> Any:
    """``ray``, connected to the cluster at ``address`` (once per process); tasks and actors get the platform's
    settings (``REFINERY_*``, ``DATABASE_URL``) as environment variables."""
    import ray

    with _LOCK:
        if not ray.is_initialized():
            forwarded = {k: v for k, v in os.environ.items() if k.startswith("REFINERY_") or k == "DATABASE_URL"}
            ray.init(address=address, runtime_env={"env_vars": forwarded}, log_to_driver=False)
    return ray


def cluster_cpus(ray: Any) -> int:
    """The CPUs of the cluster's alive nodes (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def cluster_gpus(ray: Any) -> int:
    """The GPUs of the cluster's alive nodes."""
    return int(ray.cluster_resources().get("GPU", 0))
