"""The README's five-minute curl tour runs as written against the real services (only the start line and the
password differ), so the front door stays true."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from ..conftest import ADMIN_PASSWORD
from .conftest import _ensure_admin

ROOT = Path(__file__).resolve().parents[2]


def tour_script(platform: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A five-minute tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README.md: the tour has no bash block"
    lines = [line for line in block.group(1).splitlines() if "./start" not in line]
    script = "\n".join(lines).replace("API=http://localhost:4455/api/v1", f"API={platform}/api/v1")
    return script.replace("choose-a-password", ADMIN_PASSWORD)


@pytest.mark.integration
def test_readme_tour_runs_as_written(platform: str, tmp_path: Path) -> None:
    _ensure_admin()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", tour_script(platform)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    header = "record_id,running_id,label,labeled,negative,neutral,positive"
    assert header in out, out[-3000:]
    rows = [header]
    for line in out[out.index(header) :].splitlines()[1:]:
        if not re.match(r"\d+,", line):
            break
        rows.append(line)
    soft = {row["running_id"]: row for row in csv.DictReader(io.StringIO("\n".join(rows)))}
    assert soft["0"]["label"] == "negative" and soft["1"]["label"] == "positive" and soft["2"]["label"] == ""
    assert soft["2"]["labeled"] == "False" and float(soft["1"]["positive"]) > 0.5
    assert '"heuristic_name":"lf_markets"' in out.replace(" ", "")
    exported = json.loads(out[out.rindex("[\n{") :])  # the JSON export is the last thing the tour prints
    assert [r["headline__sentiment__WEAK_SUPERVISION"] for r in exported] == ["negative", "positive", None]
    assert "headline__sentiment__WEAK_SUPERVISION" in (tmp_path / "headlines-export.csv").read_text()
