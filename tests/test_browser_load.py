"""The real server under load (issue 9), in Chromium: a browser tour keeps working while another
process publishes one snapshot after another, and a 1M-row upload in one session does not stop
another session from rendering."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
import time

import pytest

from cs_analytics.app.ui.i18n import translate
from cs_analytics.app.ui.nav import PAGES
from cs_analytics.config import HOME_ENV
from cs_analytics.warehouse.store import Store
from test_app_common import DEMO_END, REPO, demo_home  # noqa: F401
from test_browser import TITLE_KEYS, WIDTH, browser, settle, start_server  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own_home(demo_home, tmp_path_factory):
    """A private copy of the demo data directory: these tests publish into it."""
    home = tmp_path_factory.mktemp("load-home")
    shutil.copytree(demo_home, home, dirs_exist_ok=True)
    (home / ".build.lock").unlink(missing_ok=True)
    return home


@pytest.fixture(scope="module")
def server(own_home):
    with start_server(own_home, "streamlit-load.log") as base:
        yield base


def page_errors(page) -> int:
    return page.locator('[data-testid="stException"]').count()


def start_upload(browser, server: str, lang: str, path):
    """A new page on the Data page in `lang` that has chosen `path` and pressed Import."""
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    page.goto(f"{server}/data?lang={lang}")
    settle(page, translate(lang, "data.title"))
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_text(path.name).wait_for(timeout=120_000)
    page.get_by_role("button", name=translate(lang, "data.import_button")).click()
    return page


def test_tour_during_consecutive_refreshes(server, browser, own_home):
    env = {**os.environ, HOME_ENV: str(own_home)}
    script = ("import datetime as dt, sys\n"
              "from cs_analytics.config import load_settings\n"
              "from cs_analytics.ingest.demo import build_demo\n"
              "from cs_analytics.warehouse.store import Store\n"
              "for seed in range(1, 9):\n"
              "    build_demo(load_settings(), Store(sys.argv[1]), accounts=25 + seed, years=2,\n"
              "               seed=seed, end=dt.date.fromisoformat(sys.argv[2]))\n"
              "    print(seed, flush=True)\n")
    before = Store(own_home).current_file().id
    writer = subprocess.Popen([sys.executable, "-c", script, str(own_home), DEMO_END.isoformat()],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    visited, seen_snapshots = 0, set()
    try:
        while writer.poll() is None or visited < len(PAGES):
            spec = PAGES[visited % len(PAGES)]
            page.goto(f"{server}/{spec.name}?lang=en")
            settle(page, translate("en", TITLE_KEYS.get(spec.name, f"{spec.name}.title")))
            assert page_errors(page) == 0, f"{spec.name} failed while refreshes ran"
            banner = page.get_by_text("Snapshot ").first.inner_text()
            seen_snapshots.add(banner)
            visited += 1
            assert visited < 200
    finally:
        page.close()
        out, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err[-2000:]
    assert out.split() == [str(i) for i in range(1, 9)]
    assert Store(own_home).current_file().id != before
    assert len(seen_snapshots) >= 2, "the tour saw new snapshots being published"


def test_large_upload_does_not_block_other_sessions(server, browser, own_home, tmp_path):
    snap = Store(own_home).open_current()
    known = [r[0] for r in snap.rows("SELECT account_id FROM accounts ORDER BY 1")]
    # 500 accounts × 2,000 days; ids not in the data are accepted with a warning
    account_ids = known + [f"X{i:05d}" for i in range(500 - len(known))]
    path = tmp_path / "usage_1m.csv"
    start = dt.date(2020, 1, 1)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["account_id", "date", "deliveries", "logins"])
        for day in range(2_000):
            date = (start + dt.timedelta(days=day)).isoformat()
            writer.writerows([account_id, date, day % 3, day % 7] for account_id in account_ids)
    uploader = start_upload(browser, server, "en", path)
    uploader.locator('[data-testid="stStatusWidget"]').wait_for(timeout=30_000)
    started = time.monotonic()

    other = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    other.goto(f"{server}/glossary?lang=en")
    settle(other, translate("en", "glossary.title"))
    other_done = time.monotonic()
    assert page_errors(other) == 0, "a page requested during the import was served in full"

    outcome = uploader.get_by_text("Imported. Data as of").or_(
        uploader.get_by_text("Nothing was imported"))
    outcome.first.wait_for(timeout=500_000)
    assert uploader.get_by_text("Imported. Data as of").count() == 1, \
        uploader.locator('[data-testid="stAlert"]').all_inner_texts()
    finished = time.monotonic()
    assert page_errors(uploader) == 0
    assert Store(own_home).open_current().scalar("SELECT count(*) FROM usage") == 1_000_000
    other.close()
    uploader.close()
    # (the other session's request started while the import was running — the status widget
    # was up — so it was served during the import; how fast is for `make bench`, not a test)
    print(f"1M-row upload: import took {finished - started:.1f} s; another session, asked "
          f"during the import, rendered the glossary {other_done - started:.1f} s after it began")


def test_a_hostile_workbook_upload_leaves_the_server_serving(server, browser, own_home,
                                                             tmp_path):
    """Issue 21, item 5: a 1.6 KB workbook with one cell at XFD1048576 once made the reader
    allocate 550 GB and abort the Streamlit server for every user. Now it is refused with one
    message, in the page's language, and the server goes on serving everyone."""
    from bench.reliability import xlsx_far_cell

    path = xlsx_far_cell(tmp_path / "far.xlsx")
    before = Store(own_home).current_file()
    uploader = start_upload(browser, server, "ja", path)
    uploader.get_by_text("ファイルにエラーがあるため").first.wait_for(timeout=120_000)
    assert uploader.get_by_text("far.xlsx に 1 件の問題").count() >= 1
    assert page_errors(uploader) == 0
    other = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    other.goto(f"{server}/glossary?lang=en")
    settle(other, translate("en", "glossary.title"))
    assert page_errors(other) == 0
    assert Store(own_home).current_file() == before
    other.close()
    uploader.close()
