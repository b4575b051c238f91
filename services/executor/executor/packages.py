"""Extra Python packages for the sandbox: installed once into a folder the sandbox mounts read-only."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys

from shared_model.settings import get_settings

from .runs import extra_packages_dir

log = logging.getLogger("executor.packages")


def install_extra_packages() -> None:
    """``pip install --target`` the configured extra packages unless that exact list is already installed."""
    packages = sorted(get_settings().executor_extra_packages)
    if not packages:
        return
    target = extra_packages_dir()
    marker = target / ".installed.json"
    digest = hashlib.sha256(json.dumps(packages).encode()).hexdigest()
    if marker.is_file() and json.loads(marker.read_text()).get("digest") == digest:
        return
    target.mkdir(parents=True, exist_ok=True)
    log.info("installing extra sandbox packages", extra={"packages": packages, "target": str(target)})
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--upgrade", "--target", str(target), *packages],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        log.error("installing extra sandbox packages failed", extra={"stderr": result.stderr[-4000:]})
        return
    marker.write_text(json.dumps({"digest": digest, "packages": packages}))
