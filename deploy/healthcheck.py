"""The image's health check: the service of this container (REFINERY_SERVICE) answers GET /health with 200.

Standard library only (run with ``python -S``): it must answer within the check's timeout on a busy machine, which
importing the settings module did not. The ports are shared_model.settings.DEFAULT_PORTS, overridable as there by
REFINERY_<SERVICE>_PORT (a test checks that the two agree).
"""

import os
import sys
import urllib.request

DEFAULT_PORTS = {
    "gateway": 4455,
    "tokenizer": 4461,
    "embedder": 4462,
    "weak_supervisor": 4463,
    "neural_search": 4464,
    "executor": 4465,
}


def main() -> int:
    service = os.environ.get("REFINERY_SERVICE", "")
    port = int(os.environ.get(f"REFINERY_{service.upper()}_PORT") or DEFAULT_PORTS.get(service, 0))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=8) as response:
            return 0 if response.status == 200 else 1
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        sys.stderr.write(f"{service} on port {port}: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
