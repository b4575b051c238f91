"""The read-only shared data beside the repository (``../shared``: WRENCH sets, the original's sample snapshots).

Tests copy what they need into a temporary folder. Outside CI a missing folder skips the test; in CI (``CI=true``)
it fails it, so a data-dependent test can never pass by silently not running.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REFINERY_SHARED_DIR", ROOT.parent / "shared"))
WRENCH = SHARED / "data" / "wrench"
SAMPLES = SHARED / "data" / "refinery-samples"


def require(path: Path) -> Path:
    """``path`` if it exists; otherwise skip the test (fail it in CI)."""
    if not path.exists():
        message = f"shared data {path} is not here (set REFINERY_SHARED_DIR to the shared folder)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path
