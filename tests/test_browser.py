"""The real app in a real browser: `streamlit run app.py` on a free port over a small demo
snapshot, driven by Playwright with Debian's Chromium (.ci/run installs it; never
`playwright install`). Visits every page (a screenshot of each goes to
test-artifacts/screenshots/), clicks the Overview → Revenue movement → account → Account page
drill-down, and downloads a table as CSV.

The Overview, Revenue, Health and Account screenshots are also copied to docs/screenshots/ for
the README.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cs_analytics.config import HOME_ENV
from cs_analytics.metrics import periods, revenue
from cs_analytics.store import Store
from cs_analytics.ui.i18n import translate
from cs_analytics.ui.nav import PAGES
from test_app_common import REPO, demo_home  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
README_SHOTS = ("overview", "revenue", "health", "account")
TITLE_KEYS = {"weekly_check": "check.title", "weekly_review": "review.title"}
WIDTH = 1440

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def start_server(home: Path, log_name: str = "streamlit.log"):
    """A `streamlit run app.py` process serving the data directory `home`; yields its URL."""
    port = _free_port()
    env = {**os.environ, HOME_ENV: str(home), "PYTHONUNBUFFERED": "1"}
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1",
         "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start (see {ARTIFACTS / log_name})")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def server(demo_home):
    """The app serving the shared demo snapshot (read only by these tests)."""
    with start_server(demo_home) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install "
                    "chromium), as .ci/run does")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def settle(page, title: str) -> None:
    """Wait until the page's title (its h1) is shown and the script run has finished."""
    page.wait_for_function(
        "title => [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === title)",
        arg=title, timeout=60_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    # the run's placeholders (stale elements are drawn as skeletons until replaced) gone
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stSkeleton]')", timeout=60_000)
    page.wait_for_timeout(1_000)  # let plotly finish drawing


def screenshot(page, name: str) -> Path:
    """The whole page: the viewport grows to the main area's height, then shrinks back."""
    height = page.evaluate("""() => {
        const block = document.querySelector('[data-testid="stMainBlockContainer"]');
        return block.getBoundingClientRect().height + 160;
    }""")
    page.set_viewport_size({"width": WIDTH, "height": max(900, min(int(height), 8000))})
    page.wait_for_timeout(800)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": 1000})
    return path


def click_row(page, table_index: int, row: int) -> None:
    """Click a row's selection cell in the n-th st.dataframe (a canvas grid)."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(table_index)
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = grid.bounding_box()
    header = row_height = 35
    page.mouse.click(box["x"] + 18, box["y"] + header + row_height * row + row_height / 2)


def test_every_page_renders_in_the_browser(server, browser):
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, locale="ja-JP")
    for spec in PAGES:
        title = translate("ja", TITLE_KEYS.get(spec.name, f"{spec.name}.title"))
        page.goto(f"{server}/{spec.name}")
        settle(page, title)
        assert page.locator('[data-testid="stException"]').count() == 0, spec.name
        assert page.locator('[role="dialog"]').count() == 0, page.locator(
            '[role="dialog"]').all_inner_texts()  # e.g. "Page not found" for /overview
        assert page.get_by_text(translate("ja", "frame.demo_label")).first.is_visible()
        shot = screenshot(page, spec.name)
        assert shot.stat().st_size > 10_000
    if _has_japanese_font():  # without one, Japanese renders as boxes: keep the README's
        docs = REPO / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        for name in README_SHOTS:
            shutil.copy(SCREENSHOTS / f"{name}.png", docs / f"{name}.png")
    page.close()


def _has_japanese_font() -> bool:
    try:
        found = subprocess.run(["fc-list", ":lang=ja"], capture_output=True, text=True,
                               timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.strip())


def test_drill_down_from_overview_to_an_account(server, browser, demo_home):
    snap = Store(demo_home).open_current()
    period = periods.period_containing("quarter", snap.as_of)
    bridge = revenue.movement_totals(snap, period)
    order = ["new", "reactivation", "expansion", "contraction", "churn"]
    movement = next(m for m in ("expansion", "new", "churn", "contraction")
                    if bridge[f"{m}_count"])
    first_account = revenue.movement_accounts(snap, period, movement)["account_id"].iloc[0]

    page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, locale="ja-JP")
    page.goto(f"{server}/?lang=en")
    settle(page, "Overview")
    click_row(page, 0, order.index(movement))
    settle(page, "MRR & NRR")
    assert f"movement={movement}" in page.url
    click_row(page, 1, 0)  # the accounts behind the movement
    settle(page, "Account")
    assert f"account_id={first_account}" in page.url
    # Only the open tab is drawn: the contracts appear when their tab is clicked.
    contract = translate("en", "account.col.contract")
    grid = page.locator('[data-testid="stDataFrame"]')
    assert not [t for t in grid.all_inner_texts() if contract in t]
    page.get_by_role("tab", name=translate("en", "account.tab.contracts")).click()
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').filter(has_text=contract).first.wait_for(
        timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def test_the_first_visit_after_a_server_start_keeps_its_language(browser, demo_home):
    """A link opened right after a restart (a deploy) behaves like any other. The first session
    of a server used to start in Streamlit's old pages-folder mode, and its first page switch
    lost `?lang=en`: clicking a movement on the Overview opened the MRR page in Japanese."""
    with start_server(demo_home, "streamlit-first-visit.log") as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, locale="ja-JP")
        page.goto(f"{base}/?lang=en")
        settle(page, "Overview")
        click_row(page, 0, 0)  # a movement: opens the MRR page
        settle(page, "MRR & NRR")
        assert "lang=en" in page.url and "movement=new" in page.url
        assert page.locator('[data-testid="stException"]').count() == 0
        page.close()


def test_concurrent_first_visitors_after_a_server_start_get_the_apps_frame(browser, demo_home):
    """Monday morning, right after a restart: several people open Slack links at once. Every
    first request to any page URL renders that page inside app.py's frame (its title, the
    menu of translated page names, the banner), never a traceback or a menu of file names."""
    with start_server(demo_home, "streamlit-concurrent-first-visits.log") as base:
        context = browser.new_context(viewport={"width": WIDTH, "height": 900})
        # The app's scripts in the browser's cache first (the session's websocket refused),
        # so that every visitor below connects within a moment of the others.
        warm = context.new_page()
        warm.route_web_socket("**/_stcore/stream", lambda ws: ws.close())
        warm.goto(f"{base}/", wait_until="load")
        warm.close()
        visits = [("", "overview")] + [(spec.name, spec.name) for spec in PAGES]
        tabs = [context.new_page() for _ in visits]
        for tab, (path, _) in zip(tabs, visits):
            tab.evaluate("url => { window.location.href = url }", f"{base}/{path}")
        menu = translate("ja", "nav.overview")
        for tab, (path, name) in zip(tabs, visits):
            title = translate("ja", TITLE_KEYS.get(name, f"{name}.title"))
            tab.wait_for_function(
                "title => [...document.querySelectorAll('h1')].some(h => h.innerText.trim()"
                " === title) || document.querySelector('[data-testid=stException]')",
                arg=title, timeout=120_000)
            assert tab.locator('[data-testid="stException"]').count() == 0, f"/{path}"
            assert menu in tab.locator('[data-testid="stSidebarNav"]').inner_text(), f"/{path}"
            assert tab.get_by_text(translate("ja", "frame.demo_label")).first.is_visible()
        context.close()


def test_download_a_table_as_csv(server, browser):
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, accept_downloads=True)
    page.goto(f"{server}/team")
    settle(page, translate("ja", "team.title"))
    button = page.locator('[data-testid="stDownloadButton"] button').filter(
        has_text="CSV").first
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=60_000) as info:
        button.click()
    download = info.value
    target = ARTIFACTS / "downloads" / download.suggested_filename
    target.parent.mkdir(parents=True, exist_ok=True)
    download.save_as(str(target))
    content = target.read_bytes()
    assert download.suggested_filename.startswith("cs-analytics_team_")
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Japanese Excel
    assert "担当者" in content.decode("utf-8-sig").splitlines()[0]
    page.close()
