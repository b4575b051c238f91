"""A real local Ray cluster for tests (``ray.cluster_utils.Cluster``): a one-CPU head and one-CPU worker nodes, all on
this machine; stopped (and this process disconnected) when the block ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NODE: dict[str, Any] = {"num_cpus": 1, "object_store_memory": 80 * 2**20}


@contextmanager
def local_cluster(*workers: dict[str, Any]) -> Iterator[tuple[Any, list[Any]]]:
    """The cluster and its worker nodes, one per ``workers`` entry (extra ``add_node`` options, e.g. ``env_vars``)."""
    import ray
    from ray.cluster_utils import Cluster

    made = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    try:
        nodes = [made.add_node(**NODE, **options) for options in workers]
        made.wait_for_nodes()
        yield made, nodes
    finally:
        ray.shutdown()
        made.shutdown()
