"""Run the executor service: ``python -m executor``; or a Ray node of the compose profile ``ray``:
``python -m executor ray-node <ray start options>`` (the image's entrypoint has prepared the sandbox and dropped
every privilege first, as for the service)."""

import sys

from shared_model.service import serve

from .app import create_app
from .ray_cluster import start_node

if __name__ == "__main__":
    if sys.argv[1:2] == ["ray-node"]:
        start_node(sys.argv[2:])
    serve("executor", create_app)
