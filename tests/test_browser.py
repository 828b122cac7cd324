"""The real app in a real browser: `streamlit run app.py` on a free port, driven by Playwright
with Debian's Chromium (.ci/run installs it; never `playwright install`).

The tour: every page in Japanese and in English (a screenshot of each goes to
test-artifacts/screenshots/), and the three jobs done by clicking — the executive (overview →
KPI report → Excel), the manager (team → owner → account → health tab) and the member (QBR →
pack, weekly check → acknowledge and snooze two different alerts); the overview on a phone;
concurrent first visitors on a fresh server; a drill-down and a CSV download.

The README's screenshots (Overview, Revenue, Health, Account, Renewals) are taken from the default demo
(170 accounts, as `make run` builds it) and copied to docs/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cs_analytics.app.ui.i18n import translate
from cs_analytics.app.ui.nav import PAGES
from cs_analytics.config import HOME_ENV
from cs_analytics.metrics import periods, revenue
from cs_analytics.warehouse.store import Store
from test_app_common import REPO, demo_home, running_server  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
README_SHOTS = ("overview", "revenue", "health", "account", "renewals")
PHONE = {"width": 390, "height": 844}
TITLE_KEYS = {"weekly_check": "check.title", "weekly_review": "review.title"}
WIDTH = 1440

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def start_server(home: Path, log_name: str = "streamlit.log", *, address: str = "127.0.0.1",
                 port: int | None = None, args: tuple[str, ...] = (), env: dict | None = None):
    """A `streamlit run app.py` process serving the data directory `home`; yields its URL.
    `args` are more Streamlit options (e.g. --secrets.files=…), `env` more variables."""
    port = port or _free_port()
    env = {**os.environ, HOME_ENV: str(home), "PYTHONUNBUFFERED": "1", **(env or {})}
    ARTIFACTS.mkdir(exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
               f"--server.port={port}", f"--server.address={address}",
               "--browser.gatherUsageStats=false", "--server.fileWatcherType=none", *args]
    with open(ARTIFACTS / log_name, "w") as log, running_server(
            command, base, f"streamlit did not start (see {ARTIFACTS / log_name})", env=env,
            stdout=log):
        yield base


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


def grid_with(page, header: str):
    """The st.dataframe whose header row has a column `header`."""
    exact = re.compile(rf"^\s*{re.escape(header)}\s*$")
    cell = page.locator('[role="columnheader"]', has_text=exact)
    return page.locator('[data-testid="stDataFrame"]').filter(has=cell).first


def click_grid_row(page, grid, row: int) -> None:
    """Click a row's selection cell of a grid (a canvas: by position)."""
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 * row + 35 + 17)


def no_errors(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, where
    dialogs = page.locator('[role="dialog"]')
    assert dialogs.count() == 0, (where, dialogs.all_inner_texts())  # e.g. "Page not found"


def title_of(name: str, lang: str) -> str:
    return translate(lang, TITLE_KEYS.get(name, f"{name}.title"))


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_page_renders_in_both_languages(server, browser, lang):
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000},
                            locale="ja-JP" if lang == "ja" else "en-US")
    for spec in PAGES:
        page.goto(f"{server}/{spec.name}" + ("?lang=en" if lang == "en" else ""))
        settle(page, title_of(spec.name, lang))
        no_errors(page, f"/{spec.name} {lang}")
        assert page.get_by_text(translate(lang, "frame.demo_label")).first.is_visible()
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert translate(lang, "nav.overview") in nav, nav  # the app's own menu, translated
        shot = screenshot(page, f"{spec.name}-{lang}")
        assert shot.stat().st_size > 10_000
    page.close()


@pytest.fixture(scope="module")
def default_demo_home(tmp_path_factory):
    """The demo `make run` builds (170 accounts, 3 years), as of the tests' fixed date."""
    from cs_analytics.config import Settings
    from cs_analytics.ingest.demo import build_demo
    from test_app_common import DEMO_END

    home = tmp_path_factory.mktemp("default-demo")
    build_demo(Settings(), Store(home), end=DEMO_END)
    return home


def test_readme_screenshots_show_the_default_demo(browser, default_demo_home):
    snap = Store(default_demo_home).open_current()
    accounts = snap.scalar("SELECT count(*) FROM accounts")
    assert 150 <= accounts <= 200  # the default demo, not a small test dataset
    account = snap.scalar("SELECT min(account_id) FROM accounts")
    with start_server(default_demo_home, "streamlit-readme.log") as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, locale="ja-JP")
        for name in README_SHOTS:
            query = f"?account_id={account}" if name == "account" else ""
            page.goto(f"{base}/{name}{query}")
            settle(page, title_of(name, "ja"))
            no_errors(page, name)
            screenshot(page, f"readme-{name}")
        page.close()
    if _has_japanese_font():  # without one, Japanese renders as boxes: keep the README's
        docs = REPO / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        for name in README_SHOTS:
            shutil.copy(SCREENSHOTS / f"readme-{name}.png", docs / f"{name}.png")


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


# ---------------------------------------------------------------------------- the three jobs


def test_executive_overview_to_kpi_report_to_excel(server, browser):
    from openpyxl import load_workbook

    page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, accept_downloads=True,
                            locale="ja-JP")
    page.goto(f"{server}/")
    settle(page, title_of("overview", "ja"))
    page.locator('[data-testid="stSidebarNav"]').get_by_text(
        translate("ja", "nav.kpi_report"), exact=True).click()
    settle(page, title_of("kpi_report", "ja"))
    assert page.url.rstrip("/").endswith("/kpi_report")
    no_errors(page, "kpi_report")
    button = page.get_by_role("button", name=translate("ja", "kpi_report.download"))
    with page.expect_download(timeout=120_000) as info:
        button.click()
    target = ARTIFACTS / "downloads" / info.value.suggested_filename
    target.parent.mkdir(parents=True, exist_ok=True)
    info.value.save_as(str(target))
    assert target.suffix == ".xlsx"
    book = load_workbook(target)
    assert "サマリー" in book.sheetnames
    page.close()


def test_manager_team_to_owner_to_account_health(server, browser, demo_home):
    from cs_analytics.metrics import team

    snap = Store(demo_home).open_current()
    owners = team.owner_summary(snap)
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, locale="ja-JP")
    page.goto(f"{server}/team")
    settle(page, title_of("team", "ja"))
    owners_grid = grid_with(page, translate("ja", "team.col.capacity"))
    owners_grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    # all 16 columns of the owners' table on a 1440 px screen: none cut off at the edge
    scroll, visible = owners_grid.evaluate(
        "g => { const s = g.querySelector('.dvn-scroller'); "
        "return [s.scrollWidth, s.clientWidth]; }")
    assert scroll <= visible, (scroll, visible)
    click_grid_row(page, owners_grid, 0)
    owner = owners["owner_name"].iloc[0]
    heading = translate("ja", "team.portfolio_title", owner=owner)
    page.get_by_text(heading).wait_for(timeout=60_000)
    portfolio = team.portfolio(snap, owners["owner_id"].iloc[0])
    click_grid_row(page, grid_with(page, translate("ja", "col.score")), 0)
    settle(page, title_of("account", "ja"))
    assert f"account_id={portfolio['account_id'].iloc[0]}" in page.url
    page.get_by_role("tab", name=translate("ja", "account.tab.health")).click()
    grid_with(page, translate("ja", "account.col.input")).wait_for(timeout=60_000)
    no_errors(page, "account health tab")
    screenshot(page, "job-manager-account-health")
    page.close()


@pytest.fixture
def own_server(demo_home, tmp_path):
    """A server over a private copy of the demo data: the member's job writes user data."""
    home = tmp_path / "home"
    shutil.copytree(demo_home, home)
    (home / ".build.lock").unlink(missing_ok=True)
    with start_server(home, "streamlit-member.log") as base:
        yield base, home


def test_member_qbr_pack_and_two_alerts(own_server, browser):
    from cs_analytics.userdata import alert_actions

    base, home = own_server
    lang = "en"
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, accept_downloads=True)
    page.goto(f"{base}/qbr?lang=en")
    settle(page, title_of("qbr", lang))
    click_grid_row(page, grid_with(page, translate(lang, "qbr.col.last_qbr")), 0)
    page.get_by_text(translate(lang, "qbr.talking_points")).wait_for(timeout=60_000)
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name=translate(lang, "qbr.download")).click()
    assert info.value.suggested_filename.endswith(".xlsx")
    no_errors(page, "qbr pack")

    page.goto(f"{base}/weekly_check?lang=en")
    settle(page, title_of("weekly_check", lang))
    alerts = grid_with(page, translate(lang, "check.col.handled_by"))
    comment = "Called them: the campaign restarts in May"
    form = page.locator('[data-testid="stForm"]')
    for row, action in ((0, "acknowledge"), (1, "snooze")):
        before = form.first.inner_text() if form.count() else ""
        click_grid_row(page, alerts, row)
        # the form of the alert just clicked (its heading names it), not the previous one's
        page.wait_for_function(
            """before => { const f = document.querySelector('[data-testid="stForm"]');
                           return f && f.innerText !== before; }""", arg=before,
            timeout=60_000)
        box = page.get_by_label(translate(lang, "check.comment"))
        assert box.input_value() == ""  # the form of this alert, empty
        if action == "acknowledge":
            box.fill(comment)
        page.get_by_role("button", name=translate(lang, f"check.{action}")).click()
        done = "Acknowledged" if action == "acknowledge" else "Snoozed"
        try:
            page.locator('[data-testid="stAlert"]').filter(has_text=done).wait_for(
                timeout=60_000)
        finally:
            screenshot(page, f"job-member-{action}")
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached",
                               timeout=60_000)
        no_errors(page, f"weekly check {action}")
    recorded = alert_actions.actions(Store(home))
    assert list(recorded["action"]) == ["acknowledge", "snooze"]
    assert list(recorded["comment"]) == [comment, ""]  # B does not get A's comment
    first, second = recorded.iloc[0], recorded.iloc[1]
    assert (first["account_id"], first["signal"]) != (second["account_id"], second["signal"])
    screenshot(page, "job-member-weekly-check")
    page.close()


# ---------------------------------------------------------------------------- phone


def test_the_overview_on_a_phone(server, browser):
    from cs_analytics.app.ui.cards import REVENUE_CARDS

    page = browser.new_page(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    page.goto(f"{server}/")
    settle(page, title_of("overview", "ja"))
    # the sidebar starts collapsed: the page is readable, not covered
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_attribute("data-collapsed") == "true"
    assert sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= 0  # off screen
    title_box = page.locator("h1").first.bounding_box()
    assert title_box["x"] < 60 and title_box["width"] > 200
    # the headline cards, top to bottom, in their reading order: NRR fourth, not seventh
    cards = page.locator('[data-testid="stMetric"]')
    placed = []
    for i in range(cards.count()):
        box = cards.nth(i).bounding_box()
        label = cards.nth(i).locator('[data-testid="stMetricLabel"]').inner_text().strip()
        placed.append((box["y"], box["x"], label))
    labels = [label for _, _, label in sorted(placed)][:len(REVENUE_CARDS)]
    assert labels == [translate("ja", f"kpi.{key}") for key in REVENUE_CARDS]
    screenshot_phone = SCREENSHOTS / "overview-phone.png"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot_phone), full_page=False)
    page.close()


def test_the_overview_cards_show_whole_figures(server, browser):
    """On a 1440 px screen every headline card shows its whole value and its whole change line
    (the sample size of a small group included): nothing ends in "…"."""
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, locale="ja-JP")
    page.goto(f"{server}/")
    settle(page, title_of("overview", "ja"))
    cut = page.evaluate(
        """() => [...document.querySelectorAll(
               '[data-testid="stMetricValue"], [data-testid="stMetricValue"] *, '
               + '[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] *')]
             .filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
             .map(e => e.innerText)""")
    assert cut == [], cut
    page.close()
