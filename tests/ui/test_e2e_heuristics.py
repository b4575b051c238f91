"""The heuristics pages end to end in headless Chromium against the real platform (gateway, tokenizer, executor,
weak_supervisor): write a labeling function from a template, edit it (autosave), run it on 10 records, run it fully,
read its statistics and weakly supervise; a lookup list by paste and CSV used by a labeling function; the record IDE
and an attribute calculation. Every result is checked through the API."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..executor.factory import set_limits
from .conftest import login

TRUTH = [
    ("free prize inside, claim now", "spam"),
    ("you are a winner of a free cruise", "spam"),
    ("lunch tomorrow at noon?", "ham"),
    ("see you at the meeting", "ham"),
    ("free tickets for the winner", "spam"),
    ("the report is attached", "ham"),
    ("call me when you land", "ham"),
    ("claim your prize today", "spam"),
    ("are we still on for dinner", "ham"),
    ("happy birthday, have a great day", "ham"),
    ("winner winner chicken dinner", "ham"),
    ("a free sample of our product", "spam"),
]
TEMPLATE_KEYWORDS = ("free", "winner", "prize")  # the "Keyword list" template's words (features/heuristics/code.ts)
FINAL = {"done", "failed", "cancelled"}


def _wait(predicate: Any, what: str, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s} s"
        time.sleep(0.3)


@pytest.fixture()
def spam_project(api: httpx.Client, services: Any, tmp_path: Path) -> dict[str, Any]:
    """A project of 12 manually labeled records with a spam/ham task; executor and weak_supervisor running."""
    services.start("executor")
    services.start("weak_supervisor")
    pid: str = api.post("/api/v1/projects", json={"name": f"heuristics {uuid.uuid4().hex[:6]}"}).json()["id"]
    set_limits(uuid.UUID(pid), record_time_s=60)  # a loaded test machine starts a sandbox slowly; not what is tested
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps({"id": i + 1, "text": t}) for i, (t, _) in enumerate(TRUTH)))
    job = api.post(f"/api/v1/projects/{pid}/upload", files={"file": (path.name, path.read_bytes())}).json()
    _wait(lambda: api.get(f"/api/v1/jobs/{job['id']}").json()["state"] in FINAL, "the upload")
    jobs = f"/api/v1/projects/{pid}/jobs"
    _wait(lambda: any(j["kind"] == "tokenize_project" and j["state"] == "done" for j in api.get(jobs).json()), "tokenization")
    task = api.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={
            "name": "spam",
            "task_type": "MULTICLASS_CLASSIFICATION",
            "attribute": "text",
            "labels": [{"name": "spam", "color": "#ef4444"}, {"name": "ham", "color": "#22c55e"}],
        },
    )
    assert task.status_code == 201, task.text
    labels = {lbl["name"]: lbl["id"] for lbl in task.json()["labels"]}
    records = api.get(f"/api/v1/projects/{pid}/records", params={"limit": 100}).json()["items"]
    by_text = {r["data"]["text"]: r["id"] for r in records}
    for text, truth in TRUTH:
        url = f"/api/v1/projects/{pid}/records/{by_text[text]}/labeling-tasks/{task.json()['id']}/classification"
        assert api.put(url, json={"label_id": labels[truth]}).status_code == 200
    return {"id": pid, "task": task.json(), "records": by_text}


def _heuristic_named(api: httpx.Client, pid: str, name: str) -> dict[str, Any]:
    return next(h for h in api.get(f"/api/v1/projects/{pid}/heuristics").json() if h["name"] == name)


def test_write_sample_run_and_weakly_supervise_a_labeling_function(
    page: Any, api: httpx.Client, spam_project: dict[str, Any], shots: Path
) -> None:
    pid, task = spam_project["id"], spam_project["task"]
    login(page)
    page.goto(f"/projects/{pid}/heuristics")
    page.get_by_role("tab", name="spam").wait_for()
    page.get_by_role("button", name="New labeling function").click()
    dialog = page.get_by_role("dialog", name="New labeling function")
    dialog.get_by_role("textbox", name="Function name").fill("keyword spam")
    dialog.get_by_role("combobox", name="Template").select_option(label="Keyword list")
    dialog.get_by_role("combobox", name="Label the template returns").select_option("spam")
    dialog.get_by_role("button", name="Create").click()

    page.get_by_role("textbox", name="Name", exact=True).wait_for()
    assert page.get_by_role("textbox", name="Name", exact=True).input_value() == "keyword_spam"
    heuristic = _heuristic_named(api, pid, "keyword_spam")
    label = "spam"  # the label chosen for the template
    assert f'return "{label}"' in heuristic["source_code"]

    # edit in CodeMirror: saved by itself after a pause, the state shown beside the editor
    editor = page.get_by_role("textbox", name="Code", exact=True)
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("# edited in the browser")
    page.get_by_test_id("save-state").filter(has_text="All changes saved").wait_for(timeout=10_000)
    assert "# edited in the browser" in _heuristic_named(api, pid, "keyword_spam")["source_code"]

    # run on 10: every sampled record's result follows the keywords
    page.get_by_role("button", name="Run on 10").click()
    table = page.get_by_role("table", name="Sample results")
    table.wait_for(timeout=60_000)
    rows = table.locator("tbody tr")
    assert rows.count() == 10
    for i in range(rows.count()):
        value, result = rows.nth(i).locator("td").nth(0).inner_text(), rows.nth(i).locator("td").nth(1).inner_text()
        expected = label if any(k in value.lower() for k in TEMPLATE_KEYWORDS) else "—"
        assert result.strip() == expected, (value, result)

    # the full run with live progress, then the statistics table matches the API's
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_test_id("job-state").filter(has_text="done").wait_for(timeout=90_000)
    hits = sum(any(k in t for k in TEMPLATE_KEYWORDS) for t, _ in TRUTH)
    assert _heuristic_named(api, pid, "keyword_spam")["association_count"] == hits
    stats_url = f"/api/v1/projects/{pid}/labeling-tasks/{task['id']}/heuristic-statistics"
    stat = _wait(
        lambda: next((s for s in api.get(stats_url).json() if s["heuristic_name"] == "keyword_spam" and s["label_name"]), None),
        "the statistics",
    )
    assert stat["total_hits"] == hits
    stats_table = page.get_by_role("table", name="Statistics")
    stats_table.wait_for(timeout=30_000)
    row = stats_table.locator("tbody tr").filter(has_text=label)
    cells = row.locator("td")
    precision = f"{stat['est_precision'] * 100:.1f} %"
    assert cells.nth(1).inner_text() == precision and cells.nth(4).inner_text() == str(hits)
    page.get_by_role("table", name="Runs").wait_for()
    page.screenshot(path=str(shots / "heuristic-labeling-function.png"), full_page=True)

    # the list: the card's estimates, then weak supervision of the selection and the last-run panel
    page.get_by_role("link", name="← Back to the heuristics").click()
    card_table = page.get_by_role("table", name="Estimates of keyword_spam")
    card_table.wait_for()
    assert precision in card_table.inner_text()
    page.get_by_role("checkbox", name="Select keyword_spam").check()
    page.get_by_text("1 selected").wait_for()
    page.get_by_role("button", name="Weak supervision").click()
    ws_url = f"/api/v1/projects/{pid}/labeling-tasks/{task['id']}/weak-supervision"

    def finished() -> dict[str, Any] | None:
        response = api.get(ws_url)
        return response.json() if response.status_code == 200 and response.json()["state"] == "FINISHED" else None

    run = _wait(finished, "weak supervision")
    written = run["summary"]["labels_written"]
    assert written > 0
    page.get_by_test_id("ws-labels-written").filter(has_text=str(written)).wait_for(timeout=30_000)
    page.screenshot(path=str(shots / "heuristics.png"), full_page=True)

    # an error in the user's code is shown with its line, in the sample table
    page.get_by_role("link", name="keyword_spam").click()
    editor = page.get_by_role("textbox", name="Code", exact=True)
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    for typed in ("def lf(record):", "x = 1", "return x / 0"):  # the editor indents the body by itself
        page.keyboard.type(typed)
        page.keyboard.press("Enter")
    page.get_by_role("button", name="Run on 10").click()
    page.get_by_role("table", name="Sample results").filter(has_text="ZeroDivisionError").wait_for(timeout=60_000)
    error_cell = page.get_by_role("table", name="Sample results").get_by_text("Error in line").first

    def saved_code() -> str | None:
        code: str = _heuristic_named(api, pid, "keyword_spam")["source_code"]
        return code if "x / 0" in code else None

    saved = _wait(saved_code, "the autosave")
    line = next(i for i, text in enumerate(saved.splitlines(), start=1) if "x / 0" in text)
    assert f"Error in line {line}:" in error_cell.inner_text()


def test_lookup_list_by_paste_and_csv_feeds_a_labeling_function(
    page: Any, api: httpx.Client, spam_project: dict[str, Any], shots: Path, tmp_path: Path
) -> None:
    pid = spam_project["id"]
    login(page)
    page.goto(f"/projects/{pid}/lookup-lists")
    page.get_by_role("textbox", name="List name").fill("spam words")
    page.get_by_role("button", name="Create list").click()
    page.get_by_role("button", name="Copy the import line").filter(has_text="from knowledge import spam_words").wait_for()

    page.get_by_role("button", name="Paste terms").click()
    page.get_by_role("textbox", name="Pasted terms").fill("free;prize;claim;free")
    page.get_by_role("textbox", name="Split on (\\n for lines, \\t for tabs)").fill(";")
    page.get_by_role("button", name="Add pasted terms").click()
    page.get_by_test_id("terms-count").filter(has_text="3 of 3 terms").wait_for()

    csv = tmp_path / "terms.csv"
    csv.write_text("value,comment,blacklisted\nwinner,from a CSV,false\ncruise,blacklisted,true\n")
    page.locator("input[type=file]").set_input_files(str(csv))
    page.get_by_test_id("terms-count").filter(has_text="5 of 5 terms").wait_for()
    assert page.get_by_role("checkbox", name="Blacklist cruise").is_checked()
    lists = api.get(f"/api/v1/projects/{pid}/lookup-lists").json()
    terms = api.get(f"/api/v1/projects/{pid}/lookup-lists/{lists[0]['id']}/terms").json()
    assert sorted(t["value"] for t in terms) == ["claim", "cruise", "free", "prize", "winner"]
    page.screenshot(path=str(shots / "lookup-list.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0] == "value,comment,blacklisted"
    assert sorted(rows[1:]) == sorted(f"{t['value']},{t['comment'] or ''},{str(t['blacklisted']).lower()}" for t in terms)

    # a labeling function from the lookup-list template imports the usable terms (not the blacklisted one)
    page.goto(f"/projects/{pid}/heuristics")
    page.get_by_role("button", name="New labeling function").click()
    dialog = page.get_by_role("dialog", name="New labeling function")
    dialog.get_by_role("textbox", name="Function name").fill("from_list")
    dialog.get_by_role("combobox", name="Template").select_option(label="Lookup list")
    dialog.get_by_role("button", name="Create").click()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_test_id("job-state").filter(has_text="done").wait_for(timeout=90_000)
    usable = ("free", "prize", "claim", "winner")
    expected = sum(any(w in t for w in usable) for t, _ in TRUTH)
    heuristic = _heuristic_named(api, pid, "from_list")
    assert "from knowledge import spam_words" in heuristic["source_code"]
    assert heuristic["association_count"] == expected


def test_record_ide_and_attribute_calculation(page: Any, api: httpx.Client, spam_project: dict[str, Any], shots: Path) -> None:
    pid = spam_project["id"]
    login(page)
    page.goto(f"/projects/{pid}/record-ide")
    editor = page.get_by_role("textbox", name="Code", exact=True)
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type('print(record["text"].text.upper())')
    page.keyboard.press("Shift+Enter")
    output = page.get_by_test_id("ide-output")
    output.filter(has_text=TRUTH[0][0].upper()).wait_for(timeout=60_000)  # Shift+Enter ran it on the first record
    page.get_by_role("button", name="Next record").click()
    page.get_by_test_id("ide-position").filter(has_text="Record 2").wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    output.filter(has_text=TRUTH[1][0].upper()).wait_for(timeout=60_000)
    assert TRUTH[0][0].upper() in output.inner_text()  # the pane keeps the earlier run
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type("x = 1")
    page.keyboard.press("Enter")
    page.keyboard.type("print(x / 0)")
    page.keyboard.press("Shift+Enter")
    output.filter(has_text="Error in line 2").wait_for(timeout=60_000)  # the user's line, not the sandbox's
    assert "ZeroDivisionError" in output.inner_text()
    page.screenshot(path=str(shots / "record-ide.png"), full_page=True)

    page.goto(f"/projects/{pid}/attributes/new")
    page.get_by_role("textbox", name="Attribute name").fill("token_count")
    page.get_by_role("combobox", name="Data type").select_option("INTEGER")
    page.get_by_role("button", name="Run on 10").click()
    page.get_by_role("table", name="Sample results").wait_for(timeout=60_000)
    page.get_by_role("button", name="Create attribute").click()
    page.get_by_role("button", name="Run on all").click()
    page.get_by_role("dialog", name="Run on all records").get_by_role("button", name="Run").click()
    page.get_by_test_id("job-state").filter(has_text="done").wait_for(timeout=90_000)
    calculated = api.get(f"/api/v1/projects/{pid}/attributes/calculated").json()
    assert [(a["name"], a["data_type"], a["state"]) for a in calculated] == [("token_count", "INTEGER", "USABLE")]
    page.screenshot(path=str(shots / "attribute-calculation.png"), full_page=True)
