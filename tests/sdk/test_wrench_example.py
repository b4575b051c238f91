"""The WRENCH example (docs/examples/wrench_end_to_end.py) prints the weak supervisor's evaluation-CLI figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..shared_data import WRENCH, require

ROOT = Path(__file__).resolve().parents[2]
MODELS = os.environ.get("REFINERY_SDK_WRENCH_MODELS", "majority,refinery,semi")
DATASETS = os.environ.get("REFINERY_SDK_WRENCH_DATASETS", "youtube").split(",")


def lines(output: str) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return {row["model"]: row for row in rows}


@pytest.mark.integration
@pytest.mark.parametrize("dataset", DATASETS)
def test_example_matches_evaluation_cli(platform: str, admin: Any, dataset: str) -> None:
    folder = require(WRENCH / dataset)
    token = admin.create_api_token("wrench example")["token"]
    example = subprocess.run(
        [
            sys.executable,
            str(ROOT / "docs" / "examples" / "wrench_end_to_end.py"),
            str(folder),
            "--model",
            MODELS,
            "--uri",
            platform,
            "--token",
            token,
            "--delete",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert example.returncode == 0, example.stderr[-2000:]
    cli_rows: dict[str, dict[str, Any]] = {}
    for model in MODELS.split(","):
        cli = subprocess.run(
            [sys.executable, "-m", "weak_supervisor.evaluate", str(folder), "--manual", "valid", "--model", model],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
        assert cli.returncode == 0, cli.stderr
        cli_rows.update(lines(cli.stdout))
    ours = lines(example.stdout)
    sys.stdout.write(f"\nexample: {json.dumps(ours)}\ncli: {json.dumps(cli_rows)}\n")
    for model, expected in cli_rows.items():
        assert (ours[model]["accuracy"], ours[model]["f1"]) == (expected["accuracy"], expected["f1"]), model
