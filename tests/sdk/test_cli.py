"""``rsdk`` and an original-style script, run as subprocesses against the real gateway process."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from ..conftest import ADMIN_PASSWORD
from .conftest import ADMIN_EMAIL, spam_jsonl

RSDK = [sys.executable, "-m", "refinery"]


def rsdk(cwd: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home or cwd / ".config")}
    env.pop("REFINERY_SDK_SETTINGS", None)
    return subprocess.run([*RSDK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_original_style_script_and_pull_push(platform: str, admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    admin.post_file_import(spam_jsonl(tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    (work / "secrets.json").write_text(
        json.dumps({"user_name": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "project_id": sdk_project["id"], "uri": platform})
    )
    script = work / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            from refinery import Client

            client = Client.from_secrets_file("secrets.json")
            df = client.get_record_export(tokenize=False)
            print(len(df), sorted(df.columns)[0], client.get_project_details()["name"], client.get_primary_keys())
            """
        )
    )
    ran = subprocess.run([sys.executable, str(script)], cwd=work, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("\n")[0] == f"6 __spam__MANUAL {sdk_project['name']} ['id']"

    pulled = rsdk(work, "pull")
    assert pulled.returncode == 0, pulled.stderr
    exported = json.loads((work / f"{sdk_project['name']}.json").read_text())
    assert len(exported) == 6 and exported[0]["__spam__MANUAL"] == "spam"

    more = work / "more.jsonl"
    more.write_text("".join(json.dumps({"id": 10 + i, "text": f"another comment {i}"}) + "\n" for i in range(3)))
    pushed = rsdk(work, "push", str(more))
    assert pushed.returncode == 0, pushed.stderr
    assert "pushed" in pushed.stdout
    assert admin.get_project_details()["record_count"] == 9

    bad = work / "bad.jsonl"
    bad.write_text(json.dumps({"other": 1}) + "\n")
    refused = rsdk(work, "push", str(bad))
    assert refused.returncode == 6 and "does not match the project's attributes" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_login_projects_and_exit_codes(platform: str, admin: Any, sdk_project: dict[str, Any], tmp_path: Path) -> None:
    from tests.service_processes import free_port

    settings = tmp_path / "rsdk.json"
    logged = rsdk(
        tmp_path,
        "--settings",
        str(settings),
        "login",
        "--uri",
        platform,
        "--user",
        ADMIN_EMAIL,
        "--password",
        ADMIN_PASSWORD,
        "--project",
        sdk_project["name"],
    )
    assert logged.returncode == 0, logged.stderr
    stored = json.loads(settings.read_text())
    assert isinstance(stored["api_token"], str) and len(stored["api_token"]) > 20
    assert "password" not in stored and stored["project_id"] == sdk_project["id"]
    assert oct(settings.stat().st_mode & 0o777) == "0o600"

    listed = rsdk(tmp_path, "--settings", str(settings), "projects")
    assert listed.returncode == 0 and f"* {sdk_project['id']}  {sdk_project['name']}" in listed.stdout

    out = tmp_path / "out"
    out.mkdir()
    pulled = rsdk(tmp_path, "--settings", str(settings), "pull", "--out", str(out), "--format", "csv", "-q")
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.startswith("pulled 0 records")
    # the project is empty: the file holds no record (an empty header row at most), whatever the message says
    assert list(csv.reader((out / f"{sdk_project['name']}.csv").open())) in ([], [[]])

    # the default per-user settings file
    home = tmp_path / "home"
    default_login = rsdk(tmp_path, "login", "--uri", platform, "--token", stored["api_token"], home=home)
    assert default_login.returncode == 0, default_login.stderr
    assert (home / "refinery" / "settings.json").is_file()
    used = rsdk(tmp_path, "use", sdk_project["id"], home=home)
    assert used.returncode == 0 and sdk_project["name"] in used.stdout

    wrong_token = tmp_path / "wrong.json"
    wrong_token.write_text(json.dumps({"uri": platform, "api_token": "rf_not_a_token", "project_id": sdk_project["id"]}))
    denied = rsdk(tmp_path, "--settings", str(wrong_token), "pull")
    assert denied.returncode == 3 and denied.stderr.startswith("rsdk: ") and "API token" in denied.stderr
    assert len(denied.stderr.strip().splitlines()) == 1

    wrong_password = rsdk(
        tmp_path, "--settings", str(tmp_path / "x.json"), "login", "--uri", platform, "--user", ADMIN_EMAIL, "--password", "nope"
    )
    assert wrong_password.returncode == 3 and "wrong email or password" in wrong_password.stderr

    unknown = rsdk(tmp_path, "--settings", str(settings), "pull", "--project", "00000000-0000-0000-0000-000000000000")
    assert unknown.returncode == 4 and "does not exist" in unknown.stderr
    unknown_name = rsdk(tmp_path, "--settings", str(settings), "pull", "--project", "no such project")
    assert unknown_name.returncode == 4 and "no project named 'no such project'" in unknown_name.stderr

    down = tmp_path / "down.json"
    down.write_text(json.dumps({"uri": f"http://127.0.0.1:{free_port()}", "api_token": stored["api_token"]}))
    unreachable = rsdk(tmp_path, "--settings", str(down), "projects")
    assert unreachable.returncode == 5 and "cannot reach refinery" in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1

    missing = rsdk(tmp_path, "--settings", str(tmp_path / "none.json"), "projects")
    assert missing.returncode == 9 and "rsdk login" in missing.stderr


def test_quality_of_the_latest_weak_supervision_run(
    platform: str, admin: Any, sdk_project: dict[str, Any], tmp_path: Path
) -> None:
    rows = [{"id": i, "text": f"{'subscribe to my channel' if i % 2 else 'nice song'} {i}"} for i in range(24)]
    for row in rows:
        row["__spam"] = "spam" if row["id"] % 2 else "ham"
    rows[0]["__spam"] = "spam"  # one label the function gets wrong
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    admin.post_file_import(path)
    code = 'def lf(record):\n    return "spam" if "subscribe" in record["text"].text else "ham"\n'
    heuristic = admin.create_heuristic("spam", "keyword", code)
    assert admin.run_heuristic(heuristic["id"])["state"] == "FINISHED"
    assert admin.run_weak_supervision("spam", "majority")["state"] == "FINISHED"

    quality = admin.get_weak_supervision_quality("spam")
    assert quality["available"] and quality["manual_labels"] == 24 and quality["model"] == "majority"
    assert quality["accuracy"] == round(23 / 24, 4)  # the function's one miss, held out like every other label
    # record 0 reads "nice song" (ham to the function) but is labeled spam: 11 ham labels, 12 ham predictions
    assert quality["per_label"]["ham"] == {"precision": round(11 / 12, 4), "recall": 1.0, "support": 11, "predicted": 12}

    work = tmp_path / "work"
    work.mkdir()
    (work / "secrets.json").write_text(
        json.dumps({"user_name": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "project_id": sdk_project["id"], "uri": platform})
    )
    shown = rsdk(work, "quality", "--task", "spam")
    assert shown.returncode == 0, shown.stderr
    assert "accuracy 95.8% (95 % interval" in shown.stdout and "on 24 manual labels, 5-fold cross-validation" in shown.stdout
    assert "ham" in shown.stdout and "91.7%" in shown.stdout


def test_quality_of_an_extraction_run_is_token_level(
    platform: str, admin: Any, sdk_project: dict[str, Any], tmp_path: Path
) -> None:
    """Record ``j`` has a PER and a LOC heuristic of its own on tokens 2–4 and a coin-flip manual span: held out,
    no heuristic's precision says which is right (in-sample every one would)."""
    import uuid

    import numpy as np

    from shared_model.models import TaskType

    from ..weak_supervisor.fixtures import build_task

    truth = np.random.default_rng(2).integers(0, 2, 20)
    names = ["PER", "LOC"]
    heuristics: dict[str, list[Any]] = {}
    for j in range(20):
        heuristics[f"h{j:02d}per"] = [(j, "PER", 2, 5)]
        heuristics[f"h{j:02d}loc"] = [(j, "LOC", 2, 5)]
    manual = [(j, names[int(truth[j])], 2, 5) for j in range(20)]
    built = build_task(TaskType.INFORMATION_EXTRACTION, names, 20, heuristics, manual, project_id=uuid.UUID(sdk_project["id"]))
    task = str(built.task_id)
    assert admin.run_weak_supervision(task, "refinery", extraction_model="spans")["state"] == "FINISHED"
    quality = admin.get_weak_supervision_quality(task)
    assert quality["available"] and quality["level"] == "token" and quality["accuracy"] is None
    assert quality["manual_labels"] == 20 and quality["folds"] == 5 and quality["f1"] <= 0.75
    assert set(quality["per_label"]) == {"PER", "LOC"} and quality["per_label"]["PER"]["support"] == 3 * int((truth == 0).sum())
    assert "f1" in quality["per_label"]["LOC"]

    work = tmp_path / "work"
    work.mkdir()
    (work / "secrets.json").write_text(
        json.dumps({"user_name": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "project_id": sdk_project["id"], "uri": platform})
    )
    shown = rsdk(work, "quality", "--task", task)
    assert shown.returncode == 0, shown.stderr
    assert f"token-level F1 {quality['f1']:.1%}" in shown.stdout and "on 20 manually labeled records (60 tokens)" in shown.stdout
    assert "5-fold cross-validation" in shown.stdout and "LOC" in shown.stdout
