"""The executor's link to a Ray cluster (``REFINERY_RAY_ADDRESS``): connecting as a driver, and the cluster's part of
the executor's ``/health`` — every node, alive or not, and whether user code can run there (each alive node probes its
own sandbox in a small task pinned to it; a node without one refuses partitions, and the health says which and why).
The gateway's ``GET /api/v1/health`` shows this part as ``ray``.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from shared_model.ray_connect import connect
from shared_model.settings import get_settings

__all__ = ["cluster_health", "connect", "node_sandbox", "start_node"]

PROBE_TIMEOUT_S = 20.0  # how long the health waits for the nodes' sandbox probes (a node starts a worker first)
HEALTH_CACHE_S = 15.0  # a probe of the cluster is reused this long

_LOCK = threading.Lock()
_CACHE: tuple[float, str, dict[str, Any]] | None = None


def node_sandbox() -> dict[str, Any]:
    """On a node (a Ray task): this node's sandbox check, as in the executor's own health."""
    from .sandbox.availability import check_sandbox

    return {"host": os.uname().nodename, **check_sandbox().health()}


def _probe(address: str) -> dict[str, Any]:
    try:
        ray = connect(address)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = ray.nodes()
        probe = ray.remote(num_cpus=0, max_retries=0)(node_sandbox)
        pending = {
            node["NodeID"]: probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote()
            for node in nodes
            if node.get("Alive")
        }
        ready, _ = ray.wait(list(pending.values()), num_returns=len(pending), timeout=PROBE_TIMEOUT_S)
        answered = set(ready)
    except Exception as exc:  # noqa: BLE001 - the health names the reason
        return {"status": "unreachable", "address": address, "reason": f"Ray cluster at {address}: {exc}"[:500]}
    listed: list[dict[str, Any]] = []
    for node in nodes:
        item: dict[str, Any] = {
            "node_id": node["NodeID"],
            "address": node.get("NodeManagerAddress"),
            "alive": bool(node.get("Alive")),
            "resources": {k: v for k, v in (node.get("Resources") or {}).items() if not k.startswith("node:")},
        }
        ref = pending.get(node["NodeID"])
        if ref is None:
            item["sandbox"] = {"status": "unknown", "reason": "the node is not alive"}
        elif ref not in answered:
            ray.cancel(ref, force=True)
            item["sandbox"] = {"status": "unknown", "reason": f"no answer within {PROBE_TIMEOUT_S:g} s"}
        else:
            try:
                item["sandbox"] = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a probe that failed on its node
                item["sandbox"] = {"status": "unavailable", "reason": str(exc)[:500]}
        listed.append(item)
    alive = [n for n in listed if n["alive"]]
    usable = [n for n in alive if n["sandbox"].get("status") == "ok"]
    body: dict[str, Any] = {
        "status": "ok" if usable else "unavailable",
        "address": address,
        "nodes_alive": len(alive),
        "nodes_usable": len(usable),
        "nodes": listed,
    }
    refusing = [n for n in alive if n not in usable]
    if not usable:
        body["reason"] = "no node of the Ray cluster can run user code"
    elif refusing:  # partitions go to the other nodes; said, not a failure of the platform
        body["warning"] = f"{len(refusing)} node(s) refuse partitions: " + "; ".join(
            f"{n['address']}: {n['sandbox'].get('reason') or n['sandbox'].get('status')}" for n in refusing
        )
    return body


def cluster_health(*, force: bool = False) -> dict[str, Any]:
    """The Ray cluster's part of the executor's health (probed at most every :data:`HEALTH_CACHE_S`); ``{"status":
    "ok", "address": null}`` without Ray."""
    global _CACHE
    address = get_settings().ray_address
    if not address:
        return {"status": "ok", "address": None}
    with _LOCK:
        if not force and _CACHE is not None and _CACHE[1] == address and time.monotonic() - _CACHE[0] < HEALTH_CACHE_S:
            return _CACHE[2]
        body = _probe(address)
        _CACHE = (time.monotonic(), address, body)
        return body


def start_node(options: list[str]) -> None:
    """Become a Ray node (``ray start --block`` with ``options``, e.g. ``--head --port=6379`` or
    ``--address=ray-head:6379``): the containers of the compose profile ``ray``. Does not return."""
    import shutil
    import sys

    ray_cli = shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")
    os.execv(ray_cli, [ray_cli, "start", "--block", "--disable-usage-stats", *options])
