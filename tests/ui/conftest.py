"""End-to-end fixtures of the web UI: the production build served by a real gateway process (with the tokenizer beside
it) on the private test database, driven by Playwright in Debian's headless Chromium (never a downloaded browser).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import ADMIN_PASSWORD
from ..shared_data import SAMPLES

# The gateway processes started for these tests offer the original's sample snapshots as sample projects.
os.environ.setdefault("REFINERY_SAMPLE_PROJECTS_DIR", str(SAMPLES))

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "services" / "ui"
ADMIN_EMAIL = "admin@localhost"
CHROMIUM = os.environ.get("REFINERY_UI_CHROMIUM", "/usr/bin/chromium-headless-shell")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def _ensure_build() -> None:
    """Build the UI when it is not built yet (./test builds it before; this covers a direct pytest run)."""
    if (UI / "dist" / "index.html").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("the UI is not built and npm is not installed (cd services/ui && npm ci && npm run build)")
    if not (UI / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=UI, check=True)
    subprocess.run([npm, "run", "build"], cwd=UI, check=True)


@pytest.fixture(scope="session")
def ui_url(services: Any) -> str:
    """The URL of a gateway process serving the built UI (tokenizer and executor running beside it)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium-headless-shell)")
    _ensure_build()
    services.start("tokenizer")
    return str(services.start("gateway").url)


@pytest.fixture(scope="session")
def browser(ui_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def admin_ready(ui_url: str) -> None:
    """Other test modules may have emptied the tables since the gateway started: put the admin back."""
    from gateway.domain.users import ensure_admin
    from shared_model.db import session_scope

    with session_scope() as session:
        ensure_admin(session)


@pytest.fixture()
def page(browser: Any, ui_url: str, admin_ready: None) -> Iterator[Any]:
    context = browser.new_context(base_url=ui_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture()
def api(ui_url: str, admin_ready: None) -> Iterator[httpx.Client]:
    """An API client logged in as the admin, to check through the API what the UI did."""
    # no kept-alive connections: the server closes idle ones while the browser works
    with httpx.Client(base_url=ui_url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        response = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        response.raise_for_status()
        yield client


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots when REFINERY_UI_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("REFINERY_UI_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


def login(page: Any) -> None:
    page.goto("/")
    page.get_by_role("textbox", name="Email").fill(ADMIN_EMAIL)
    page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Projects").wait_for()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, save the page's screenshot beside the test's temporary files and name it in the report."""
    report = yield
    if report.when == "call" and report.failed and "page" in getattr(item, "funcargs", {}):
        path = Path(str(item.funcargs["tmp_path"])) / "failure.png" if "tmp_path" in item.funcargs else None
        if path is not None:
            try:
                item.funcargs["page"].screenshot(path=str(path), full_page=True)
                report.sections.append(("failure screenshot", str(path)))
            except Exception as exc:  # noqa: BLE001 - the page may be gone; the failure itself matters
                report.sections.append(("failure screenshot", f"not taken: {exc}"))
    return report
