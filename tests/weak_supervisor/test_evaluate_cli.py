"""The evaluation CLI on any WRENCH-format folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from weak_supervisor.evaluate import main
from weak_supervisor.wrench import tie_break_predictions

from ..shared_data import WRENCH, require


def write_folder(folder: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    (folder / "label.json").write_text(json.dumps({"0": "no", "1": "yes", "2": "maybe"}))
    for split, n in (("train", 200), ("valid", 60), ("test", 80)):
        truth = rng.integers(0, 3, n)
        rows = {}
        for i in range(n):
            weak = [
                int(truth[i]) if rng.random() < 0.8 else int(rng.integers(0, 3)) if rng.random() < 0.5 else -1 for _ in range(5)
            ]
            rows[str(i)] = {"label": int(truth[i]), "data": {"text": f"row {i}"}, "weak_labels": weak}
        (folder / f"{split}.json").write_text(json.dumps(rows))


def test_cli_prints_one_json_line_per_model(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    write_folder(tmp_path)
    assert main([str(tmp_path), "--model", "all", "--manual", "valid"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["model"] for line in lines] == ["auto", "refinery", "majority", "generative", "semi"]
    for line in lines:
        assert {"dataset", "model", "manual", "accuracy", "f1", "n_test", "seconds"} <= set(line)
        assert line["n_test"] == 80 and line["manual"] == "valid" and 50 < line["accuracy"] <= 100


def test_cli_reproduces_the_published_majority_vote() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "weak_supervisor.evaluate", str(require(WRENCH / "youtube")), "--model", "majority"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(out)["accuracy"] == 84.0


def test_cli_rejects_a_folder_that_is_not_wrench(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([str(tmp_path)]) == 2
    assert "no label.json" in capsys.readouterr().err


def test_sha1_tie_break() -> None:
    proba = np.full((3, 2), 0.5)
    import hashlib

    expected = [int(hashlib.sha1(str(i).encode()).hexdigest(), 16) % 2 for i in range(3)]
    assert tie_break_predictions(proba).tolist() == expected


def test_suite_rejects_a_scale_out_of_range(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--suite", "--scale", "0"]) == 2
    assert "--scale must lie in 0.05..20" in capsys.readouterr().err
