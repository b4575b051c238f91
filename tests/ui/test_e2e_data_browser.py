"""The data browser and the overview end to end in headless Chromium, against the real platform: every filter kind's
count checked against the API, slices saved and labeled from, a filtered result bulk-labeled, an export compared with
the API's, similar records found (tf-idf embedding), and the overview's charts changing after weak supervision.

One module (over 400 lines): its tests share one module-scoped world (platform, project, weak-supervision run)
that takes most of the module's time to build."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from ..conftest import ADMIN_PASSWORD
from .conftest import ADMIN_EMAIL, login

FINAL = {"done", "failed", "cancelled"}
N = 40
GOOD = "def lf(record):\n    if 'good' in record['headline'].text:\n        return 'pos'\n"
NUMBER_ONE = "def lf(record):\n    if 'number 1' in record['headline'].text:\n        return 'neg'\n"


def _headline(i: int) -> str:
    return f"{'good' if i % 2 else 'bad'} news number {i}"


def _wait_job(api: httpx.Client, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in FINAL:
            assert job["state"] == "done", job
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


@pytest.fixture(scope="module")
def world(ui_url: str, tmp_path_factory: pytest.TempPathFactory, services: Any) -> Iterator[dict[str, Any]]:
    """A project of 40 headlines (topic, n, a sentiment task with 10 manual labels), two run labeling functions, a
    comment and a gold star; weak supervision is left to the tests."""
    services.start("executor")
    services.start("weak_supervisor")
    from gateway.domain.users import ensure_admin
    from shared_model.db import session_scope

    with session_scope() as session:
        ensure_admin(session)
    with httpx.Client(base_url=ui_url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as api:
        api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).raise_for_status()
        pid: str = api.post("/api/v1/projects", json={"name": f"browser {uuid.uuid4().hex[:6]}"}).json()["id"]
        lines = ["id,headline,topic,n,headline__sentiment"]
        for i in range(1, N + 1):
            sentiment = ("pos" if i % 2 else "neg") if i <= 10 else ""
            lines.append(f"{i},{_headline(i)},{'tech' if i % 3 == 0 else 'sport'},{i},{sentiment}")
        path = tmp_path_factory.mktemp("browser") / "records.csv"
        path.write_text("\n".join(lines) + "\n")
        job = api.post(f"/api/v1/projects/{pid}/upload", files={"file": (path.name, path.read_bytes())})
        assert job.status_code == 202, job.text
        _wait_job(api, job.json()["id"])
        task = api.get(f"/api/v1/projects/{pid}/labeling-tasks").json()[0]
        labels = {label["name"]: label["id"] for label in task["labels"]}
        heuristics = {}
        for name, code in (("good_is_pos", GOOD), ("number_one_is_neg", NUMBER_ONE)):
            made = api.post(
                f"/api/v1/projects/{pid}/heuristics", json={"labeling_task_id": task["id"], "name": name, "source_code": code}
            )
            assert made.status_code == 201, made.text
            heuristics[name] = made.json()["id"]
            run = api.post(f"/api/v1/projects/{pid}/heuristics/{made.json()['id']}/runs")
            assert run.status_code == 202, run.text
            _wait_job(api, run.json()["job"]["id"])
        records = {}
        after = None
        while True:
            page = api.get(f"/api/v1/projects/{pid}/records", params={"limit": 100, **({"after": after} if after else {})}).json()
            records.update({r["data"]["id"]: r["id"] for r in page["items"]})
            if not page["next_after"]:
                break
            after = page["next_after"]
        comment = {"target_type": "RECORD", "target_id": str(records[7]), "body": "check this one"}
        assert api.post(f"/api/v1/projects/{pid}/comments", json=comment).status_code == 201
        star = f"/api/v1/projects/{pid}/records/{records[2]}/labeling-tasks/{task['id']}/gold-star"
        assert api.put(star).status_code in (200, 204), api.put(star).text
        yield {"pid": pid, "task": task, "labels": labels, "heuristics": heuristics, "records": records}


def ensure_weak_supervision(api: httpx.Client, world: dict[str, Any]) -> None:
    if world.get("weakly_supervised"):
        return
    started = api.post(f"/api/v1/projects/{world['pid']}/weak-supervision", json={"labeling_task_id": world["task"]["id"]})
    assert started.status_code == 202, started.text
    _wait_job(api, started.json()["job"]["id"])
    world["weakly_supervised"] = True


def open_browser(page: Any, pid: str, query: str = "") -> None:
    login(page)
    page.goto(f"/projects/{pid}/data-browser{query}")
    page.get_by_test_id("result-total").wait_for()


def settled_total(page: Any) -> int:
    """The result count once the filter settled (no spinner) and the answer arrived."""
    page.wait_for_timeout(350)  # past the debounce
    page.get_by_role("status", name="Loading results").wait_for(state="hidden")
    deadline = time.monotonic() + 30
    while True:  # the count may arrive after the page of results ("…" until then)
        text = page.get_by_test_id("result-total").inner_text().replace(",", "").strip()
        if text.isdigit():
            return int(text)
        assert time.monotonic() < deadline, f"the result count never arrived (shows {text!r})"
        page.wait_for_timeout(100)


def url_filter(page: Any) -> dict[str, Any] | None:
    values = parse_qs(urlparse(page.url).query).get("filter")
    return json.loads(values[0]) if values else None


def api_count(api: httpx.Client, pid: str, group: dict[str, Any] | None) -> int:
    response = api.post(f"/api/v1/projects/{pid}/records/count", json={"filter": group})
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def test_overview_charts_change_after_weak_supervision(page: Any, api: httpx.Client, world: dict[str, Any], shots: Path) -> None:
    pid = world["pid"]
    login(page)
    started = time.monotonic()
    page.goto(f"/projects/{pid}/overview")
    charts = page.get_by_test_id("overview-charts")
    charts.wait_for()
    print(f"overview_render_ms={(time.monotonic() - started) * 1000:.0f}")
    assert page.get_by_test_id("manual-figure").inner_text() == "10"
    assert page.get_by_test_id("records-figure").inner_text() == "40"
    hits = api.get(f"/api/v1/projects/{pid}/metrics/heuristics", params={"task_id": world["task"]["id"]}).json()
    assert page.get_by_test_id("hits-figure").inner_text() == str(sum(h["hits"] for h in hits))
    histogram = page.get_by_role("img", name="Confidence histogram (weak supervision)")
    assert sum(int(v) for v in histogram.locator("rect[data-value]").evaluate_all("els => els.map(e => e.dataset.value)")) == 0
    if not world.get("weakly_supervised"):
        assert page.get_by_test_id("weak-figure").inner_text() == "0"
    ensure_weak_supervision(api, world)
    # live: the job's websocket event refreshes the metrics without a reload
    progress = api.get(f"/api/v1/projects/{pid}/metrics/progress").json()["tasks"][0]
    assert progress["weakly_supervised"] > 0
    page.get_by_test_id("weak-figure").filter(has_text=str(progress["weakly_supervised"])).wait_for(timeout=20_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure[aria-label^=\"Confidence histogram\"] rect[data-value]')]"
        ".reduce((s, e) => s + Number(e.dataset.value), 0) > 0"
    )
    weak_bars = page.get_by_role("img", name="Label distribution").locator("rect[aria-label*='weak supervision']")
    assert sum(int(v) for v in weak_bars.evaluate_all("els => els.map(e => e.dataset.value)")) == progress["weakly_supervised"]
    matrix = page.get_by_role("img", name="Confusion matrix (manual × weak supervision)")
    cells = api.get(f"/api/v1/projects/{pid}/metrics/confusion-matrix", params={"task_id": world["task"]["id"]}).json()
    assert sum(int(v) for v in matrix.locator("rect[data-value]").evaluate_all("els => els.map(e => e.dataset.value)")) == sum(
        c["count"] for c in cells
    )
    first_bar = page.get_by_role("img", name="Label distribution").locator("rect[data-value]").first
    first_bar.hover()
    assert "manual" in page.get_by_role("tooltip").inner_text()
    page.screenshot(path=str(shots / "overview.png"), full_page=True)


def test_every_filter_kind_counts_as_the_api(page: Any, api: httpx.Client, world: dict[str, Any], shots: Path) -> None:
    pid, task = world["pid"], world["task"]
    ensure_weak_supervision(api, world)
    open_browser(page, pid)
    assert settled_total(page) == N
    add = page.get_by_role("combobox", name="Add a condition")
    clear = page.get_by_role("button", name="Clear filter")
    good = {i for i in range(1, N + 1) if i % 2}
    number_one = {i for i in range(1, N + 1) if "number 1" in _headline(i)}

    def check(expected: int | None) -> None:
        shown = settled_total(page)
        assert shown == api_count(api, pid, url_filter(page))
        if expected is not None:
            assert shown == expected

    add.select_option("attribute")
    page.get_by_role("combobox", name="Attribute condition 1 attribute").select_option("topic")
    page.get_by_role("combobox", name="Attribute condition 1 operator").select_option("EQUAL")
    page.get_by_role("combobox", name="Attribute condition 1 value").fill("tech")
    check(N // 3)
    page.get_by_role("combobox", name="Attribute condition 1 attribute").select_option("n")
    page.get_by_role("combobox", name="Attribute condition 1 operator").select_option("BETWEEN")
    page.get_by_role("textbox", name="Attribute condition 1 from").fill("5")
    page.get_by_role("textbox", name="Attribute condition 1 to").fill("9")
    check(5)
    # a search hit is highlighted on the card
    page.get_by_role("combobox", name="Attribute condition 1 attribute").select_option("headline")
    page.get_by_role("combobox", name="Attribute condition 1 operator").select_option("CONTAINS")
    page.get_by_role("combobox", name="Attribute condition 1 value").fill("number 3")
    check(len([i for i in range(1, N + 1) if "number 3" in _headline(i)]))
    assert page.locator("article mark").first.inner_text().lower() == "number 3"
    page.screenshot(path=str(shots / "data-browser.png"))

    clear.click()
    add.select_option("manual_label")
    check(10)
    page.get_by_role("combobox", name="Manual label condition 1 annotator").select_option(index=1)
    check(None)
    page.get_by_role("combobox", name="Manual label condition 1 annotator").select_option(index=0)
    page.get_by_role("combobox", name="Manual label condition 1 mode").select_option("labels")
    page.get_by_role("group", name="Manual label condition 1 labels").get_by_label("pos").check()
    check(5)

    clear.click()
    add.select_option("weak_supervision")
    page.get_by_role("spinbutton", name="Weak supervision condition 1 minimum confidence").fill("0.5")
    check(None)
    assert settled_total(page) > 0

    clear.click()
    add.select_option("gold_star")
    check(1)

    clear.click()
    add.select_option("heuristic")
    page.get_by_role("combobox", name="Heuristic condition 1 heuristic").select_option(world["heuristics"]["good_is_pos"])
    check(len(good))
    page.get_by_role("combobox", name="Heuristic condition 1 vote").select_option("none")
    check(N - len(good))

    clear.click()
    add.select_option("heuristics_disagree")
    check(len(good & number_one))

    clear.click()
    add.select_option("no_heuristic_voted")
    check(N - len(good | number_one))

    clear.click()
    add.select_option("manual_ws_differ")
    check(None)

    clear.click()
    add.select_option("has_comments")
    check(1)
    assert page.get_by_role("list", name="Comments on record " + str(world["records"][7])).inner_text().endswith("check this one")

    # OR of two conditions, one negated
    clear.click()
    add.select_option("gold_star")
    add.select_option("has_comments")
    page.get_by_role("radio", name="Any condition (OR)").check()
    check(2)
    page.get_by_role("checkbox", name="not (Has comments condition 2)").check()
    check(N - 1)  # gold-starred record 2, or any record but the commented record 7

    # order by n descending: the first card is record 40; the filter and order survive a reload (they are the URL)
    clear.click()
    page.get_by_role("button", name="+ Order key").click()
    page.get_by_role("combobox", name="Order by key 1").select_option("attribute:n")
    page.get_by_role("combobox", name="Direction 1").select_option("desc")
    settled_total(page)
    assert page.locator("article").first.get_attribute("data-record-id") == str(world["records"][N])
    page.reload()
    page.get_by_test_id("result-total").wait_for()
    assert settled_total(page) == N
    assert page.get_by_role("combobox", name="Direction 1").input_value() == "desc"
    assert page.locator("article").first.get_attribute("data-record-id") == str(world["records"][N])
    _ = task


def test_slices_label_from_them_and_bulk_label(page: Any, api: httpx.Client, world: dict[str, Any]) -> None:
    pid, task, labels = world["pid"], world["task"], world["labels"]
    topic = {"kind": "attribute", "attribute": "topic", "operator": "EQUAL", "values": ["tech"], "case_sensitive": False}
    tech = {"kind": "group", "join": "AND", "negate": False, "conditions": [{**topic, "negate": False}]}
    open_browser(page, pid, "?filter=" + json.dumps(tech))
    assert settled_total(page) == N // 3
    for name, kind in (("tech dynamic", "Dynamic"), ("tech static", "Static")):
        page.get_by_role("button", name="Save slice").click()
        dialog = page.get_by_role("dialog", name="Save the filter as a slice")
        dialog.get_by_role("textbox", name="Name").fill(name)
        dialog.get_by_role("radio", name=kind).check()
        dialog.get_by_role("button", name="Save slice").click()
        dialog.wait_for(state="hidden")
    slices = {s["name"]: s for s in api.get(f"/api/v1/projects/{pid}/slices").json()}
    assert slices["tech dynamic"]["type"] == "DYNAMIC_DEFAULT" and slices["tech static"]["type"] == "STATIC_DEFAULT"
    assert slices["tech static"]["count"] == N // 3

    # open the static slice from a clean page: its records, then label them all from the slice
    page.goto(f"/projects/{pid}/data-browser")
    assert settled_total(page) == N
    page.get_by_role("list", name="Slices").get_by_role("button", name="tech static", exact=True).click()
    assert settled_total(page) == N // 3
    assert url_filter(page)["conditions"][0] == {"kind": "in_slice", "slice_id": slices["tech static"]["id"], "negate": False}
    page.get_by_role("button", name="Label…").click()
    dialog = page.get_by_role("dialog", name="Label records")
    dialog.get_by_role("combobox", name="Label").select_option(labels["neg"])
    dialog.get_by_role("radio", name="All results").check()
    dialog.get_by_role("button", name="Label", exact=True).click()
    dialog.wait_for(state="hidden")
    labeled = {"kind": "group", "join": "AND", "negate": False, "conditions": [
        {"kind": "in_slice", "slice_id": slices["tech static"]["id"], "negate": False},
        {"kind": "manual_label", "task_id": task["id"], "mode": "labels", "label_ids": [labels["neg"]], "negate": False},
    ]}  # fmt: skip
    assert api_count(api, pid, labeled) == N // 3

    # the dynamic slice: continue labeling from its second record (a server-side session)
    page.get_by_role("list", name="Slices").get_by_role("button", name="tech dynamic", exact=True).click()
    assert settled_total(page) == N // 3
    second = page.locator("article").nth(1).get_attribute("data-record-id")
    page.get_by_role("button", name=f"Continue labeling from record {second}").click()
    page.wait_for_url("**/labeling/*")  # the labeling suite's session route (/labeling/:sessionId)
    session_id = urlparse(page.url).path.rsplit("/", 1)[-1]
    session = api.get(f"/api/v1/projects/{pid}/labeling-sessions/{session_id}").json()
    assert session["total"] == N // 3 and session["position"] == 1 and str(session["record_id"]) == second

    # bulk label a filtered result: n between 21 and 30 → pos
    page.goto(f"/projects/{pid}/data-browser")
    page.get_by_role("combobox", name="Add a condition").select_option("attribute")
    page.get_by_role("combobox", name="Attribute condition 1 attribute").select_option("n")
    page.get_by_role("combobox", name="Attribute condition 1 operator").select_option("BETWEEN")
    page.get_by_role("textbox", name="Attribute condition 1 from").fill("21")
    page.get_by_role("textbox", name="Attribute condition 1 to").fill("30")
    assert settled_total(page) == 10
    group = url_filter(page)
    # two selected records get "neg" first, then all results "pos"
    first = page.locator("article").first
    first.get_by_role("checkbox").check()
    page.get_by_role("button", name="Label…").click()
    dialog = page.get_by_role("dialog", name="Label records")
    dialog.get_by_role("combobox", name="Label").select_option(labels["neg"])
    assert dialog.get_by_role("radio", name="The selection (1)").is_checked()
    dialog.get_by_role("button", name="Label", exact=True).click()
    dialog.wait_for(state="hidden")
    record_id = int(first.get_attribute("data-record-id") or 0)
    mine = api.get(f"/api/v1/projects/{pid}/records/{record_id}/labels").json()
    assert [row["label_id"] for row in mine if row["source_type"] == "MANUAL"] == [labels["neg"]]
    page.get_by_role("button", name="Label…").click()
    dialog = page.get_by_role("dialog", name="Label records")
    dialog.get_by_role("combobox", name="Label").select_option(labels["pos"])
    dialog.get_by_role("radio", name="All results").check()
    dialog.get_by_role("button", name="Label", exact=True).click()
    dialog.wait_for(state="hidden")
    is_pos = {"kind": "manual_label", "task_id": task["id"], "mode": "labels", "label_ids": [labels["pos"]], "negate": False}
    positive = {**group, "conditions": [*group["conditions"], is_pos]}
    assert api_count(api, pid, positive) == 10


def test_export_matches_the_api(page: Any, api: httpx.Client, world: dict[str, Any], tmp_path: Path) -> None:
    pid = world["pid"]
    open_browser(page, pid)
    # the result list scrolls itself (bounded by the window), so only the rows in view are drawn
    sizes = page.get_by_test_id("results-scroller").evaluate("e => [e.clientHeight, e.scrollHeight, window.innerHeight]")
    assert sizes[0] < sizes[2] and sizes[1] > sizes[0], sizes
    assert page.locator("article").count() < N
    page.get_by_role("combobox", name="Add a condition").select_option("attribute")
    page.get_by_role("combobox", name="Attribute condition 1 attribute").select_option("topic")
    page.get_by_role("combobox", name="Attribute condition 1 operator").select_option("EQUAL")
    page.get_by_role("combobox", name="Attribute condition 1 value").fill("sport")
    assert settled_total(page) == N - N // 3
    group = url_filter(page)

    def download(rows: str, fmt: str, drop_topic: bool = False) -> bytes:
        page.get_by_role("button", name="Export…").click()
        dialog = page.get_by_role("dialog", name="Export records")
        dialog.get_by_role("radio", name=rows).check()
        dialog.get_by_role("radio", name=fmt, exact=True).check()
        if drop_topic:
            dialog.get_by_role("group", name="Attributes").get_by_label("topic").uncheck()
        with page.expect_download() as info:
            dialog.get_by_role("button", name="Download").click()
        path = tmp_path / f"{rows}.{fmt}"
        info.value.save_as(path)
        dialog.wait_for(state="hidden")
        return path.read_bytes()

    result = json.loads(download("The current result", "JSON"))
    full = api.get(f"/api/v1/projects/{pid}/export", params={"format": "json"}).json()
    assert result == [row for row in full if row["topic"] == "sport"]
    assert len(result) == N - N // 3
    assert result == api.post(f"/api/v1/projects/{pid}/export", json={"format": "json", "filter": group}).json()
    csv_all = download("All records", "CSV", drop_topic=True)
    expected = api.post(f"/api/v1/projects/{pid}/export", json={"format": "csv", "attributes": ["id", "headline", "n"]}).content
    assert csv_all == expected and b"topic" not in csv_all.splitlines()[0]


def test_find_similar_records(
    page: Any,
    api: httpx.Client,
    world: dict[str, Any],
    services: Any,
    tmp_path_factory: pytest.TempPathFactory,
    shots: Path,
) -> None:
    pid = world["pid"]
    try:
        if "REFINERY_DATA_DIR" not in os.environ:
            os.environ["REFINERY_DATA_DIR"] = str(tmp_path_factory.mktemp("embedding-data"))
        services.start("neural_search")
        services.start("embedder")
    except RuntimeError as exc:  # pragma: no cover - reported, not hidden
        pytest.skip(f"the embedder or neural search did not start: {exc}")
    made = api.post(
        f"/api/v1/projects/{pid}/embeddings", json={"attribute": "headline", "model": "tf-idf", "filter_attributes": ["topic"]}
    )
    assert made.status_code == 202, made.text
    _wait_job(api, made.json()["job"]["id"], timeout_s=240)
    embedding = made.json()["embedding"]["id"]
    open_browser(page, pid)
    assert settled_total(page) == N
    first = page.locator("article").first
    record_id = int(first.get_attribute("data-record-id") or 0)
    first.get_by_role("button", name=f"Find records similar to record {record_id}").click()
    counted = page.get_by_test_id("result-count")
    counted.filter(has_text=f"similar to record {record_id}").wait_for()
    expected = api.post(
        f"/api/v1/projects/{pid}/embeddings/{embedding}/similar", json={"record_id": record_id, "limit": 100}
    ).json()
    hits = [hit["record_id"] for hit in expected["results"]]
    # the embedding picker offers the finished embedding, chosen by default
    picker = page.get_by_role("combobox", name="Embedding for find similar")
    assert picker.input_value() == embedding
    assert counted.locator("strong").inner_text() == str(len(hits)) and hits
    shown = page.locator("article").evaluate_all("els => els.map(e => Number(e.dataset.recordId))")
    assert shown == hits[: len(shown)]
    page.get_by_role("button", name="Back to the filter").click()
    assert settled_total(page) == N

    # restricted by the embedding's filter attribute, as neural search restricts it
    page.get_by_role("textbox", name="Find similar only where topic is").fill("tech")
    page.locator("article").first.get_by_role("button", name=f"Find records similar to record {record_id}").click()
    tech = api.post(
        f"/api/v1/projects/{pid}/embeddings/{embedding}/similar",
        json={"record_id": record_id, "limit": 100, "filters": [{"attribute": "topic", "values": ["tech"]}]},
    ).json()
    tech_hits = [hit["record_id"] for hit in tech["results"]]
    assert tech_hits and len(tech_hits) < len(hits)
    page.wait_for_function(
        "n => document.querySelector('[data-testid=result-count] strong')?.textContent === String(n)", arg=len(tech_hits)
    )
    shown = page.locator("article").evaluate_all("els => els.map(e => Number(e.dataset.recordId))")
    assert shown == tech_hits[: len(shown)]
    page.get_by_role("button", name="Back to the filter").click()

    # "Similar to" as a filter condition: the 5 records nearest to a text, counted as the API counts them
    page.get_by_role("combobox", name="Add a condition").select_option(label="Similar to")
    page.get_by_role("textbox", name="Similar to condition 1 text").fill("good news")
    page.get_by_role("spinbutton", name="Similar to condition 1 top k").fill("5")
    similar = {"kind": "similar", "embedding_id": embedding, "text": "good news", "top_k": 5, "negate": False}
    group = {"kind": "group", "join": "AND", "negate": False, "conditions": [similar]}
    counted_by_api = api.post(f"/api/v1/projects/{pid}/records/count", json={"filter": group})
    assert counted_by_api.status_code == 200, counted_by_api.text
    assert settled_total(page) == counted_by_api.json()["total"] == 5
    page.screenshot(path=str(shots / "data-browser-similar.png"))


def test_export_with_heuristic_votes_as_columns(page: Any, api: httpx.Client, world: dict[str, Any], tmp_path: Path) -> None:
    pid = world["pid"]
    open_browser(page, pid)
    page.get_by_role("button", name="Export…").click()
    dialog = page.get_by_role("dialog", name="Export records")
    dialog.get_by_role("radio", name="All records").check()
    dialog.get_by_role("radio", name="JSON", exact=True).check()
    dialog.get_by_role("group", name="Heuristics' votes as columns").get_by_label("good_is_pos").check()
    with page.expect_download() as info:
        dialog.get_by_role("button", name="Download").click()
    path = tmp_path / "votes.json"
    info.value.save_as(path)
    rows = json.loads(path.read_bytes())
    column = "headline__sentiment__HEURISTIC__good_is_pos"
    heuristic = world["heuristics"]["good_is_pos"]
    assert rows == api.post(f"/api/v1/projects/{pid}/export", json={"format": "json", "heuristic_ids": [heuristic]}).json()
    assert {row[column] for row in rows if "good" in row["headline"]} == {"pos"}
    assert {row[column] for row in rows if "good" not in row["headline"]} == {None}
    assert not any("number_one_is_neg" in key for key in rows[0])
