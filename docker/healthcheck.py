"""The image's health check: the service of this container (REFINERY_SERVICE) answers GET /health with 200."""

import os
import sys
import urllib.request

from shared_model.settings import get_settings

service = os.environ.get("REFINERY_SERVICE", "")
port = get_settings().service_port(service)
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
    sys.stderr.write(f"{service} on port {port}: {exc}\n")
    sys.exit(1)
