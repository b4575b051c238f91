"""tools/system-packages: the one install step of ./start, ./test and .ci/run for the system programs refinery needs.

Nothing is installed or removed here: a fake ``apt-get`` first on PATH records what would have run, and the script's
test hooks (REFINERY_SYSTEM_PACKAGES_MISSING, REFINERY_SYSTEM_PACKAGES_UID) simulate a machine without a package and
a user who is not root.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "system-packages"


@pytest.fixture()
def fake_apt(tmp_path: Path) -> tuple[Path, Path]:
    """A folder holding an ``apt-get`` that only logs its arguments, and that log."""
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "apt.log"
    apt = folder / "apt-get"
    apt.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    apt.chmod(0o755)
    return folder, log


def run(purpose: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REFINERY_SYSTEM_PACKAGES")}
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), purpose],
        env={**clean, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_everything_present_installs_nothing_and_is_fast(fake_apt: tuple[Path, Path]) -> None:
    folder, log = fake_apt
    started = time.monotonic()
    result = run("test", f"{folder}:{os.environ['PATH']}")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert not log.exists(), f"apt-get ran although nothing was missing: {log.read_text()}"
    assert elapsed < 5, f"the check took {elapsed:.1f} s"


def test_root_with_apt_installs_what_is_missing_and_says_so(fake_apt: tuple[Path, Path]) -> None:
    folder, log = fake_apt
    result = run(
        "start", f"{folder}:{os.environ['PATH']}", REFINERY_SYSTEM_PACKAGES_MISSING="bubblewrap", REFINERY_SYSTEM_PACKAGES_UID="0"
    )
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == ["update -qq", "install -y -qq --no-install-recommends bubblewrap"]
    assert "running: apt-get update -qq" in result.stderr
    assert "running: apt-get install -y -qq --no-install-recommends bubblewrap" in result.stderr


def test_not_root_stops_with_the_exact_command(fake_apt: tuple[Path, Path]) -> None:
    folder, log = fake_apt
    result = run(
        "test",
        f"{folder}:{os.environ['PATH']}",
        REFINERY_SYSTEM_PACKAGES_MISSING="bubblewrap chromium-headless-shell",
        REFINERY_SYSTEM_PACKAGES_UID="1000",
    )
    assert result.returncode == 1
    assert not log.exists(), "apt-get ran for a user who is not root"
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert "sudo apt-get update && sudo apt-get install -y --no-install-recommends bubblewrap chromium-headless-shell" in lines
    assert "missing: bubblewrap chromium-headless-shell" in result.stderr


def test_ci_also_needs_docker_compose(fake_apt: tuple[Path, Path]) -> None:
    folder, _ = fake_apt
    result = run(
        "ci",
        f"{folder}:{os.environ['PATH']}",
        REFINERY_SYSTEM_PACKAGES_MISSING="bubblewrap chromium-headless-shell docker-compose",
        REFINERY_SYSTEM_PACKAGES_UID="1000",
    )
    assert result.returncode == 1
    lines = [line.strip() for line in result.stderr.splitlines()]
    expected = "sudo apt-get update && sudo apt-get install -y --no-install-recommends"
    assert f"{expected} bubblewrap chromium-headless-shell docker-compose" in lines


def test_without_apt_get_it_names_the_packages(tmp_path: Path) -> None:
    """A PATH with neither bwrap, dpkg-query nor apt-get: a machine the script cannot install on."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "uname").symlink_to("/usr/bin/uname" if Path("/usr/bin/uname").exists() else "/bin/uname")
    result = run("start", str(folder))
    assert result.returncode == 1
    assert "apt-get is not available here" in result.stderr
    # .venv exists, so python3-venv is not asked for; without dpkg-query libseccomp2 cannot be seen either.
    assert result.stderr.rstrip().endswith(
        "install these packages with your system's package manager, then run this again: bubblewrap libseccomp2"
    ), result.stderr


def test_a_fresh_checkout_also_needs_python3_venv(fake_apt: tuple[Path, Path]) -> None:
    folder, log = fake_apt
    result = run(
        "start",
        f"{folder}:{os.environ['PATH']}",
        REFINERY_SYSTEM_PACKAGES_MISSING="python3-venv bubblewrap",
        REFINERY_SYSTEM_PACKAGES_UID="0",
    )
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines()[-1] == "install -y -qq --no-install-recommends python3-venv bubblewrap"


def test_unknown_purpose_is_refused() -> None:
    result = run("deploy", os.environ["PATH"])
    assert result.returncode == 2
    assert "unknown purpose 'deploy'" in result.stderr


def test_start_test_and_ci_call_this_step() -> None:
    assert '"$ROOT/tools/system-packages" start' in (ROOT / "start").read_text()
    assert '"$ROOT/tools/system-packages" test' in (ROOT / "test").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"$ROOT/tools/system-packages" ci' in ci
    assert "apt-get" not in ci, ".ci/run keeps its own copy of the install logic"
