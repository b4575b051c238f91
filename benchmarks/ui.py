"""Web UI benchmark: the production build of services/ui against a real backend, in Debian's headless Chromium.

    .venv/bin/python benchmarks/ui.py              # 20 runs per figure
    .venv/bin/python benchmarks/ui.py --runs 40

Builds the UI when needed (services/ui/scripts/ui.sh build), creates a throwaway database (``DATABASE_URL``'s server,
else an embedded PostgreSQL), starts the tokenizer and the gateway as real processes, and seeds one project: a
5,000-token record with 200 spans, a 20,000-token record with 800 spans (manual spans, written straight to the
database: setup, not timed), and 220 short records for a session of 200 navigations. Then, in Chromium at 1280×900:

- ``first_record_ms``: page load (warm assets) → the app's ``record:painted`` mark (set in the frame after the record
  renders), p50/p95 of ``--runs`` loads;
- ``next_record_p95_ms``: ArrowRight keydown → the next record's ``record:painted`` mark (the record prefetched);
- ``hotkey_label_p95_ms``: a label hotkey's keydown → its button shows pressed (optimistic);
- ``span_render_5k_ms`` / ``span_render_20k_ms``: ←/→ between the two long records (their data cached) → painted,
  p50; ``span_dom_nodes_5k``: DOM nodes (elements and text) in the 5k record's text;
- ``select_to_box_ms``: mouseup of a drag selection in the 5k record → the label box is in the DOM, p50;
- ``heap_growth_200_mb``: JS heap (after forced GC) after 200 record navigations minus before;
- ``labeling_js_gz_kb`` / ``projects_js_gz_kb``: gzipped JS a route loads (entry + its chunks, from the Vite manifest);
- ``editor_js_gz_kb``: the lazily loaded code editor (CodeMirror 6 with Python) beyond the entry, gzipped (issue 19).

The data browser and the overview (issue 19) on a second project of 100,000 records (written straight to the database:
setup, not timed) with a classification task:

- ``browser_dom_nodes_max``: the most DOM elements the page held while its result list was scrolled to the end of
  the 100,000 records (pages of 500 loaded on the way, one after the other: keyset paging), sampled at every step;
  ``browser_scroll_records_loaded``: how many records were loaded when the scroll ended (all of them, unless
  ``--scroll-minutes`` ran out first: the rows past them are placeholders);
- ``browser_scroll_frame_p95_ms``: frame-to-frame time (requestAnimationFrame) while the list scrolls 400 px a frame;
- ``filter_to_results_ms``: typing a filter value → the new count shown (the debounce, the search and the render;
  p50), with ``filter_api_ms`` the same search's API time alone (p50), for the goal "≤ 300 ms plus the API's time";
- ``overview_render_ms``: the overview page's load → its charts drawn (p50, warm assets);
- ``charts_js_gz_kb``: the gzipped chart chunk (loaded lazily by the overview).

Goals (issue 18): first record ≤ 1,500 ms, next record p95 ≤ 50 ms, hotkey → label p95 ≤ 50 ms, selection → box
≤ 50 ms, 5k ≤ 150 ms with ≤ 1,500 nodes, 20k ≤ 400 ms, heap growth ≤ 20 MB, labeling ≤ 250 KB, projects ≤ 200 KB.
Goals (issue 19): < 2,000 nodes, scroll p95 ≤ 34 ms, filter → results ≤ 300 ms plus the API's time, overview
≤ 500 ms, charts ≤ 60 KB gzipped and lazy.
Editor chunk ≤ 200 KB gzipped and lazy (issue 19).
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg2
from common import libpq_dsn, start_service, throwaway_database

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "services" / "ui"
CHROMIUM = os.environ.get("REFINERY_UI_CHROMIUM", "/usr/bin/chromium-headless-shell")
PASSWORD = "benchmark-password"
WORDS = (
    "the market stocks fell rose sharply after news report said company profits shares investors bank rates Apple "
    "Google Microsoft quarter year percent growth loss analysts expect data model label record token , ."
).split()


def log(message: str) -> None:
    print(f"[ui-bench] {message}", file=sys.stderr, flush=True)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def long_text(tokens: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(tokens))


def route_js_gz_kb(entry_chunk: str | None) -> float:
    """Gzipped KB of the app entry's JS plus (for a lazy route) the route chunk and the chunks it imports."""
    manifest: dict[str, Any] = json.loads((UI / "dist" / ".vite" / "manifest.json").read_text())
    seen: set[str] = set()

    def walk(key: str) -> None:
        if key in seen:
            return
        seen.add(key)
        for child in manifest[key].get("imports", []):
            walk(child)

    entry = next(k for k, v in manifest.items() if v.get("isEntry"))
    walk(entry)
    if entry_chunk:
        walk(next(k for k in manifest if k.endswith(entry_chunk)))
    size = sum(len(gzip.compress((UI / "dist" / manifest[k]["file"]).read_bytes(), 9)) for k in seen)
    return round(size / 1024, 1)


def chunk_gz_kb(chunk: str) -> float:
    """Gzipped KB of a lazy chunk and what only it imports (not the entry's chunks)."""
    manifest: dict[str, Any] = json.loads((UI / "dist" / ".vite" / "manifest.json").read_text())

    def reach(key: str, seen: set[str]) -> set[str]:
        if key not in seen:
            seen.add(key)
            for child in manifest[key].get("imports", []):
                reach(child, seen)
        return seen

    key = next(k for k in manifest if k.endswith(chunk))
    if not manifest[key].get("isDynamicEntry"):
        raise SystemExit(f"{chunk} is not loaded lazily (no dynamic import of it in the build)")
    entry = reach(next(k for k, v in manifest.items() if v.get("isEntry")), set())
    own = reach(key, set()) - entry
    return round(sum(len(gzip.compress((UI / "dist" / manifest[k]["file"]).read_bytes(), 9)) for k in own) / 1024, 1)


BROWSER_RECORDS = 100_000


def seed_browser(url: str, dsn: str) -> str:
    """A project of 100,000 records (text, n, topic) written with SQL, and a classification task; returns its id."""
    client = httpx.Client(base_url=url, timeout=120)
    client.post("/api/v1/auth/login", json={"email": "admin@localhost", "password": PASSWORD}).raise_for_status()
    pid = str(client.post("/api/v1/projects", json={"name": "browser benchmark"}).json()["id"])
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        for position, (name, kind) in enumerate((("text", "TEXT"), ("n", "INTEGER"), ("topic", "CATEGORY"))):
            cursor.execute(
                "INSERT INTO attribute (id, project_id, name, data_type, is_primary_key, relative_position, user_created,"
                " state, visibility, created_at) VALUES (%s, %s, %s, %s, false, %s, false, 'UPLOADED', 'DO_NOT_HIDE', now())",
                (str(uuid.uuid4()), pid, name, kind, position),
            )
        cursor.execute(
            "INSERT INTO record (project_id, data) SELECT %s, jsonb_build_object('text', 'Review number ' || g ||"
            " ': the product ' || (ARRAY['works well','broke after a week','is fine','arrived late'])[1 + g %% 4]"
            " || ' and the support ' || (ARRAY['helped','never answered','was slow'])[1 + g %% 3], 'n', g,"
            " 'topic', (ARRAY['tech','home','sport','food'])[1 + g %% 4]) FROM generate_series(1, %s) g",
            (pid, BROWSER_RECORDS),
        )
    conn.close()
    client.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={"name": "sentiment", "labels": [{"name": "positive"}, {"name": "negative"}]},
    ).raise_for_status()
    client.close()
    log(f"browser project: {BROWSER_RECORDS} records")
    return pid


def seed(url: str, dsn: str, workdir: Path) -> tuple[str, list[int]]:
    """A project with a 5k- and a 20k-token record (200 / 800 spans) and 220 short records; returns its id and record ids."""
    client = httpx.Client(base_url=url, timeout=120)
    client.post("/api/v1/auth/login", json={"email": "admin@localhost", "password": PASSWORD}).raise_for_status()
    pid = client.post("/api/v1/projects", json={"name": "ui benchmark"}).json()["id"]
    rows = [{"id": 1, "text": long_text(5000, 1)}, {"id": 2, "text": long_text(20000, 2)}]
    rows += [{"id": 3 + i, "text": f"Short review number {i}: " + long_text(25, 100 + i)} for i in range(220)]
    path = workdir / "records.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    job = client.post(f"/api/v1/projects/{pid}/upload", files={"file": (path.name, path.read_bytes())}).json()
    deadline = time.monotonic() + 300
    while True:
        jobs = client.get(f"/api/v1/projects/{pid}/jobs").json()
        done = {j["kind"] for j in jobs if j["state"] == "done"}
        failed = [j for j in jobs if j["state"] == "failed"]
        assert not failed, failed
        if {"upload", "tokenize_project"} <= done:
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.5)
    log(f"uploaded {len(rows)} records (job {job['id']}) and tokenized them")
    spans = client.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={
            "name": "entities",
            "task_type": "INFORMATION_EXTRACTION",
            "attribute": "text",
            "labels": [{"name": "org", "color": "#3b82f6", "hotkey": "o"}, {"name": "num", "color": "#22c55e", "hotkey": "n"}],
        },
    ).json()
    client.post(
        f"/api/v1/projects/{pid}/labeling-tasks",
        json={"name": "sentiment", "labels": [{"name": "positive", "hotkey": "p"}, {"name": "negative", "hotkey": "x"}]},
    ).raise_for_status()
    items: list[dict[str, Any]] = []
    after = None
    while True:
        page = client.get(f"/api/v1/projects/{pid}/records", params={"limit": 1000, **({"after": after} if after else {})}).json()
        items += page["items"]
        after = page["next_after"]
        if after is None:
            break
    ids = [int(r["id"]) for r in items]
    user = client.get("/api/v1/auth/me").json()["id"]
    labels = [label["id"] for label in spans["labels"]]
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cursor:
        for record_id, count, tokens in ((ids[0], 200, 5000), (ids[1], 800, 20000)):
            step = tokens // count
            for k in range(count):
                start = k * step + (k % 3)
                length = 1 + (k % 4)
                # every fifth span overlaps the next one: a second lane
                end = start + length + (step if k % 5 == 0 else 0)
                cursor.execute(
                    "INSERT INTO record_label_association (id, project_id, record_id, labeling_task_id, label_id,"
                    " source_type, return_type, confidence, created_by, is_gold_star, is_valid_manual_label,"
                    " token_start, token_end, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, 'MANUAL', 'YIELD', 1.0, %s, false, true, %s, %s, now())",
                    (str(uuid.uuid4()), pid, record_id, spans["id"], labels[k % 2], user, start, min(end, tokens)),
                )
    conn.close()
    client.close()
    return pid, ids


BOX_WATCH = """(() => { window.__box = 0; new MutationObserver((_, o) => {
  if (document.querySelector('[aria-label="Label the selection"]')) { window.__box = performance.now(); o.disconnect(); }
}).observe(document.body, { childList: true, subtree: true }); })()"""

MEASURE_JS = """
window.__bench = { keydown: 0, mouseup: 0 };
addEventListener('keydown', () => { window.__bench.keydown = performance.now(); }, true);
addEventListener('mouseup', () => { window.__bench.mouseup = performance.now(); }, true);
"""


def marks(page: Any) -> int:
    return int(page.evaluate("performance.getEntriesByName('record:painted').length"))


def last_mark_since_keydown(page: Any, before: int) -> float:
    page.wait_for_function(f"performance.getEntriesByName('record:painted').length > {before}")
    return float(
        page.evaluate(
            "(() => { const m = performance.getEntriesByName('record:painted'); return m[m.length-1].startTime"
            " - window.__bench.keydown; })()"
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--screenshot", type=Path, help="also save the labeling page of the 5,000-token record here (PNG)")
    parser.add_argument("--browser-only", action="store_true", help="measure only the data browser and the overview")
    parser.add_argument(
        "--scroll-minutes", type=float, default=30, help="stop loading pages while scrolling to the end after this long"
    )
    parser.add_argument(
        "--baseline-dist",
        type=Path,
        help="also measure the data browser and the overview with this other build of the UI (served in place of"
        " services/ui/dist), in the same run on the same data, before the current build; figures prefixed baseline_",
    )
    args = parser.parse_args()
    runs = args.runs

    subprocess.run([str(UI / "scripts" / "ui.sh"), "build"], check=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="refinery-ui-bench-") as tmp, throwaway_database(Path(tmp)) as db_url:
        workdir = Path(tmp)
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "REFINERY_DATABASE_URL": db_url,
            "REFINERY_DATA_DIR": str(workdir / "data"),
            "REFINERY_ADMIN_PASSWORD": PASSWORD,
            "REFINERY_LOG_LEVEL": "WARNING",
        }
        tokenizer, tokenizer_url = start_service("tokenizer", env, workdir / "tokenizer.log")
        env["REFINERY_TOKENIZER_URL"] = tokenizer_url
        gateway, url = start_service("gateway", env, workdir / "gateway.log")
        try:
            pid, ids = ("", []) if args.browser_only else seed(url, libpq_dsn(db_url), workdir)
            browser_pid = seed_browser(url, libpq_dsn(db_url))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
                )
                context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
                context.add_init_script(MEASURE_JS)
                page = context.new_page()
                page.on("console", lambda m: log(f"console: {m.text}"))
                page.on("pageerror", lambda e: log(f"page error: {e}"))
                page.goto("/login")
                page.get_by_role("textbox", name="Email").fill("admin@localhost")
                page.get_by_role("textbox", name="Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.get_by_role("heading", name="Projects").wait_for()
                if args.screenshot and not args.browser_only:
                    page.goto(f"/projects/{pid}/labeling?pos=0")
                    page.get_by_role("region", name="Record").wait_for()
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(args.screenshot))
                figures = {} if args.browser_only else measure(page, context, pid, runs)
                if args.baseline_dist is not None:
                    with served_dist(args.baseline_dist):
                        log(f"baseline build {args.baseline_dist}")
                        baseline = measure_browser(page, url, browser_pid, runs, args.scroll_minutes)
                    figures.update({f"baseline_{key}": value for key, value in baseline.items()})
                    log("current build")
                figures.update(measure_browser(page, url, browser_pid, runs, args.scroll_minutes))
                browser.close()
        finally:
            gateway.terminate()
            tokenizer.terminate()
            gateway.wait(20)
            tokenizer.wait(20)
    figures["browser_js_gz_kb"] = route_js_gz_kb("DataBrowserPage.tsx")
    figures["labeling_js_gz_kb"] = route_js_gz_kb("LabelingPage.tsx")
    figures["projects_js_gz_kb"] = route_js_gz_kb(None)
    figures["charts_js_gz_kb"] = chunk_gz_kb("OverviewCharts.tsx")
    figures["editor_js_gz_kb"] = chunk_gz_kb("shared/editor/CodeEditor.tsx")
    figures["runs"] = runs
    figures["records"] = len(ids)
    print(json.dumps(figures))


@contextlib.contextmanager
def served_dist(other: Path) -> Iterator[None]:
    """Serve another build of the UI for a while: the gateway reads services/ui/dist per request, so it is swapped."""
    dist = UI / "dist"
    aside = UI / "dist.current"
    dist.rename(aside)
    try:
        shutil.copytree(other, dist)
        yield
    finally:
        shutil.rmtree(dist, ignore_errors=True)
        aside.rename(dist)


def measure(page: Any, context: Any, pid: str, runs: int) -> dict[str, Any]:
    labeling = f"/projects/{pid}/labeling"
    # First record: full page loads of a short record (warm HTTP cache after the first).
    page.goto(f"{labeling}?pos=2")
    page.get_by_role("region", name="Record").wait_for()
    first: list[float] = []
    for _ in range(runs):
        page.goto(f"{labeling}?pos=2")
        page.wait_for_function("performance.getEntriesByName('record:painted').length > 0")
        first.append(float(page.evaluate("performance.getEntriesByName('record:painted')[0].startTime")))
    log(f"first record p50 {p(first, 0.5)} ms")

    # Next record (prefetched) and hotkey → pressed label, over short records.
    page.goto(f"{labeling}?pos=2")
    page.get_by_role("region", name="Record").wait_for()
    page.get_by_role("button", name="positive", exact=True).wait_for()
    page.wait_for_timeout(500)
    nexts: list[float] = []
    hotkeys: list[float] = []
    for _ in range(runs):
        before = marks(page)
        page.keyboard.press("ArrowRight")
        nexts.append(last_mark_since_keydown(page, before))
        page.wait_for_timeout(150)  # let the prefetch of the next records land, as a labeler's pause would
        page.evaluate(
            """() => { window.__pressed = 0; const b = document.querySelector('button[aria-label="positive"]');
            const done = (o) => { window.__pressed = performance.now(); o.disconnect(); };
            new MutationObserver((_, o) => { if (b.getAttribute('aria-pressed') === 'true') done(o); })
              .observe(b, { attributes: true }); }"""
        )
        page.keyboard.press("p")
        page.wait_for_function("window.__pressed > 0")
        hotkeys.append(float(page.evaluate("window.__pressed - window.__bench.keydown")))
    log(f"next record p95 {p(nexts, 0.95)} ms, hotkey p95 {p(hotkeys, 0.95)} ms")

    # Long records: load both once (data cached), then ←/→ between them.
    page.goto(f"{labeling}?pos=0")
    page.locator("[data-testid=record-text]").wait_for(timeout=60_000)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.querySelectorAll('[data-testid=record-text] mark').length > 700", timeout=60_000)
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(2000)  # the 20k record's render and the labels' refetch settle
    page.wait_for_function(
        "(() => { const n = document.querySelectorAll('[data-testid=record-text] mark').length; return n > 100 && n < 700; })()",
        timeout=60_000,
    )
    nodes = int(
        page.evaluate(
            """(() => { const root = document.querySelector('[data-testid=record-text]');
            const w = document.createTreeWalker(root, NodeFilter.SHOW_ALL); let n = 0; while (w.nextNode()) n++; return n; })()"""
        )
    )
    r5: list[float] = []
    r20: list[float] = []
    for _ in range(runs):
        before = marks(page)
        page.keyboard.press("ArrowRight")
        r20.append(last_mark_since_keydown(page, before))
        before = marks(page)
        page.keyboard.press("ArrowLeft")
        r5.append(last_mark_since_keydown(page, before))
    log(f"5k render p50 {p(r5, 0.5)} ms ({nodes} nodes), 20k render p50 {p(r20, 0.5)} ms")

    # Selection → label box, in the 5k record.
    boxes: list[float] = []
    for k in range(runs):
        box = page.evaluate(
            """(k) => { const root = document.querySelector('[data-testid=record-text]');
            const plain = [...root.querySelectorAll('span[data-start]')].filter((e) => e.textContent.trim().length > 8);
            const el = plain[2 + (k % 3)]; const r = el.getBoundingClientRect();
            return { x: r.left + 2, y: r.top + r.height / 2, w: r.width }; }""",
            k,
        )
        page.evaluate(BOX_WATCH)
        page.mouse.move(box["x"], box["y"])
        page.mouse.down()
        page.mouse.move(box["x"] + max(4, box["w"] - 4), box["y"], steps=3)
        page.mouse.up()
        page.wait_for_function("window.__box > 0")
        boxes.append(float(page.evaluate("window.__box - window.__bench.mouseup")))
        page.keyboard.press("Escape")
        page.get_by_role("region", name="Label the selection").wait_for(state="detached")
    log(f"selection → box p50 {p(boxes, 0.5)} ms")

    # Heap after 200 navigations over short records.
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(f"{labeling}?pos=2")
    page.get_by_role("region", name="Record").wait_for()
    page.wait_for_timeout(500)

    def heap() -> float:
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return float(metrics["JSHeapUsedSize"]) / 1e6

    start = heap()
    for _ in range(200):
        before = marks(page)
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"performance.getEntriesByName('record:painted').length > {before}")
    page.wait_for_timeout(500)
    growth = heap() - start
    log(f"heap growth after 200 navigations {growth:.1f} MB")

    return {
        "first_record_ms": p(first, 0.5),
        "first_record_p95_ms": p(first, 0.95),
        "next_record_p50_ms": p(nexts, 0.5),
        "next_record_p95_ms": p(nexts, 0.95),
        "hotkey_label_p50_ms": p(hotkeys, 0.5),
        "hotkey_label_p95_ms": p(hotkeys, 0.95),
        "select_to_box_ms": p(boxes, 0.5),
        "span_render_5k_ms": p(r5, 0.5),
        "span_render_5k_p95_ms": p(r5, 0.95),
        "span_render_20k_ms": p(r20, 0.5),
        "span_render_20k_p95_ms": p(r20, 0.95),
        "span_dom_nodes_5k": nodes,
        "heap_growth_200_mb": round(growth, 1),
    }


SCROLL_FRAMES_JS = """async (step) => {
  const el = document.querySelector('[data-testid=results-scroller]');
  const times = [];
  el.scrollTop = 0;
  await new Promise((r) => requestAnimationFrame(r));
  for (let i = 0; i < 240; i++) {
    el.scrollTop += step;
    times.push(await new Promise((r) => requestAnimationFrame(r)));
  }
  return times.slice(1).map((t, i) => t - times[i]);
}"""


def measure_browser(page: Any, url: str, pid: str, runs: int, scroll_minutes: float) -> dict[str, Any]:
    """The data browser and the overview on the 100,000-record project (see the module's docstring)."""
    browser = f"/projects/{pid}/data-browser"
    page.goto(browser)
    page.get_by_test_id("result-total").filter(has_text="100,000").wait_for(timeout=60_000)
    page.locator("article").first.wait_for()
    count_nodes = "document.getElementsByTagName('*').length"
    # Scroll to the end: the list loads page after page on the way; sample the DOM's size at every step.
    nodes_max = 0
    deadline = time.monotonic() + 60 * scroll_minutes
    last = f"#{BROWSER_RECORDS} · record"
    began = reported = time.monotonic()
    while True:
        if time.monotonic() - reported > 15:
            reported = time.monotonic()
            loaded = page.get_by_test_id("results-scroller").get_attribute("data-loaded")
            log(f"  scrolling… {time.monotonic() - began:.0f} s, {loaded} records loaded")
        page.evaluate(
            "(() => { const el = document.querySelector('[data-testid=results-scroller]'); el.scrollTop = el.scrollHeight; })()"
        )
        page.wait_for_timeout(100)
        nodes_max = max(nodes_max, int(page.evaluate(count_nodes)))
        if page.locator("article").filter(has_text=last).count() or time.monotonic() > deadline:
            break
    reached = int(page.get_by_test_id("results-scroller").get_attribute("data-loaded") or 0)
    # and at depths on the way back up
    for share in (0.75, 0.5, 0.25, 0.0):
        page.evaluate(
            f"(() => {{ const el = document.querySelector('[data-testid=results-scroller]');"
            f" el.scrollTop = el.scrollHeight * {share}; }})()"
        )
        page.wait_for_timeout(100)
        nodes_max = max(nodes_max, int(page.evaluate(count_nodes)))
    took = time.monotonic() - began
    log(f"data browser: at most {nodes_max} DOM elements scrolling to the end ({reached} records loaded in {took:.0f} s)")
    frames: list[float] = []
    for _ in range(3):
        frames += [float(v) for v in page.evaluate(SCROLL_FRAMES_JS, 400)]
    log(f"scroll frame p95 {p(frames, 0.95)} ms")

    # Filter → results: type a value, wait for the count of that value.
    page.goto(browser)
    page.get_by_test_id("result-total").filter(has_text="100,000").wait_for(timeout=60_000)
    page.get_by_role("combobox", name="Add a condition").select_option("attribute")
    page.get_by_role("combobox", name="Attribute condition 1 attribute").select_option("text")
    page.get_by_role("combobox", name="Attribute condition 1 operator").select_option("BEGINS_WITH")
    value = page.get_by_role("combobox", name="Attribute condition 1 value")
    api = httpx.Client(base_url=url, timeout=60)
    api.post("/api/v1/auth/login", json={"email": "admin@localhost", "password": PASSWORD}).raise_for_status()
    to_results: list[float] = []
    api_ms: list[float] = []
    for k in range(runs):
        text = f"Review number {k + 1}{k % 10}"
        group = {
            "kind": "group",
            "conditions": [{"kind": "attribute", "attribute": "text", "operator": "BEGINS_WITH", "values": [text]}],
        }
        started = time.monotonic()
        expected = api.post(
            f"/api/v1/projects/{pid}/records/search", json={"filter": group, "limit": 200, "count": "exact"}
        ).json()["total"]
        api_ms.append((time.monotonic() - started) * 1000)
        shown = f"{expected:,}"
        began = time.monotonic()
        value.fill(text)
        page.wait_for_function(
            "(want) => !document.querySelector('[aria-label=\"Loading results\"]')"
            " && document.querySelector('[data-testid=result-total]')?.textContent === want",
            arg=shown,
            polling="raf",
        )
        to_results.append((time.monotonic() - began) * 1000)
    api.close()
    log(f"filter → results p50 {p(to_results, 0.5)} ms (API alone p50 {p(api_ms, 0.5)} ms)")

    # Overview: load → charts drawn.
    overview = f"/projects/{pid}/overview"
    page.goto(overview)
    page.get_by_test_id("overview-charts").wait_for(timeout=60_000)
    renders: list[float] = []
    for _ in range(max(5, runs // 2)):
        began = time.monotonic()
        page.goto(overview)
        page.get_by_test_id("overview-charts").wait_for(timeout=60_000)
        renders.append((time.monotonic() - began) * 1000)
    log(f"overview render p50 {p(renders, 0.5)} ms")
    # Where the last load's time went: every request's start → end since the navigation began (the waterfall).
    entries = page.evaluate(
        "performance.getEntriesByType('resource').map((e) => [e.name.replace(location.origin, ''),"
        " Math.round(e.startTime), Math.round(e.responseEnd)])"
    )
    nav = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0]; return [performance.now(), n.requestStart,"
        " n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd].map(Math.round); })()"
    )
    log(f"  overview in page: now {nav[0]} ms, request {nav[1]}, response end {nav[2]}, DOM ready {nav[3]}, load {nav[4]}")
    for name, start, end in sorted(entries, key=lambda e: e[1]):
        log(f"  overview request {start:>5} → {end:>5} ms  {name.split('?')[0]}")
    return {
        "browser_records": BROWSER_RECORDS,
        "browser_dom_nodes_max": nodes_max,
        "browser_scroll_records_loaded": reached,
        "browser_scroll_frame_p95_ms": p(frames, 0.95),
        "filter_to_results_ms": p(to_results, 0.5),
        "filter_to_results_p95_ms": p(to_results, 0.95),
        "filter_api_ms": p(api_ms, 0.5),
        "overview_render_ms": p(renders, 0.5),
    }


if __name__ == "__main__":
    main()
