"""The sandbox probe runs the real sandbox: what it accepts, every run can use."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = "from executor.sandbox.backends import bwrap_unusable; print('probe:', bwrap_unusable(full=True))"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (tools/system-packages installs it)")
def test_sandbox_works_for_an_interpreter_reached_through_a_symlinked_folder(tmp_path: Path) -> None:
    """A checkout or .venv under a symlink: the interpreter's path must exist inside the sandbox too."""
    link = tmp_path / "venv-link"
    link.symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    python = link / "bin" / Path(sys.executable).name
    assert python.exists()
    env = {k: v for k, v in os.environ.items() if k != "REFINERY_EXECUTOR_BWRAP_PATH"}
    result = subprocess.run([str(python), "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "probe: None"


def test_absent_and_broken_bubblewrap_are_named(tmp_path: Path) -> None:
    from executor.sandbox.backends import bwrap_unusable

    missing = tmp_path / "nowhere" / "bwrap"
    assert bwrap_unusable(str(missing)) == f"bubblewrap not found at {missing}"
    fake = tmp_path / "bwrap"
    fake.write_text('#!/bin/sh\necho "bwrap: No permissions to creating new namespace" >&2\nexit 1\n')
    fake.chmod(0o755)
    assert bwrap_unusable(str(fake)) == (
        f"bubblewrap at {fake} cannot create the sandbox (exit 1): bwrap: No permissions to creating new namespace"
    )
    assert bwrap_unusable(str(fake), full=True) == (
        f"bubblewrap at {fake} cannot run the sandbox (exit 1): bwrap: No permissions to creating new namespace"
    )
