"""Shared helpers for the app tests (AppTest): data directories with a small demo snapshot, an
empty snapshot or nothing at all, and an AppTest runner pointed at one of them.

The demo snapshot is built once per test session (a module-level cache, because several test
modules import these fixtures) and only read by the tests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.runtime import pages_manager as _pages_manager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as _app_test

from cs_analytics.app.ui.i18n import translate
from cs_analytics.config import HOME_ENV, Settings
from cs_analytics.warehouse.build import open_build
from cs_analytics.warehouse.store import Store, reset_connection_cache

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
DEMO_END = dt.date(2026, 3, 31)
DEMO_ACCOUNTS = 30


class _NavigationPagesManager(_pages_manager.PagesManager):
    """AppTest resets `PagesManager.uses_pages_directory` before every run, so with a `pages/`
    folder next to app.py every run after the first executes the page file alone (the old
    pages-folder mode) instead of app.py with st.navigation — unlike `streamlit run`, where the
    flag stays False once st.navigation has run. Keep it False, as the real server does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _pages_manager.PagesManager.uses_pages_directory = False


_app_test.PagesManager = _NavigationPagesManager

_homes: dict[str, Path] = {}


def demo_home_path(tmp_path_factory) -> Path:
    """A data directory holding a small demo snapshot (built once per session)."""
    if "demo" not in _homes:
        from cs_analytics.ingest.demo import build_demo

        home = tmp_path_factory.mktemp("demo-home")
        build_demo(Settings(), Store(home), accounts=DEMO_ACCOUNTS, years=2, seed=7,
                   end=DEMO_END, progress=None)
        _homes["demo"] = home
    return _homes["demo"]


def empty_home_path(tmp_path_factory) -> Path:
    """A data directory whose snapshot has the canonical tables and models but no rows."""
    if "empty" not in _homes:
        home = tmp_path_factory.mktemp("empty-home")
        with open_build(Settings(), Store(home), source="test", base="empty") as build:
            build.publish(as_of=DEMO_END)
        _homes["empty"] = home
    return _homes["empty"]


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory) -> Path:
    return demo_home_path(tmp_path_factory)


@pytest.fixture(scope="session")
def empty_home(tmp_path_factory) -> Path:
    return empty_home_path(tmp_path_factory)


@pytest.fixture
def no_snapshot_home(tmp_path) -> Path:
    return tmp_path


def clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    reset_connection_cache()


@pytest.fixture
def use_home(monkeypatch):
    """Point the app at a data directory; caches are cleared before and after."""

    def use(home: Path) -> Path:
        monkeypatch.setenv(HOME_ENV, str(home))
        clear_caches()
        return home

    yield use
    clear_caches()


def make_app(lang: str = "ja", query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if lang != "ja":
        at.query_params["lang"] = lang
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at


def run_page(page: str, lang: str = "ja", query: dict | None = None) -> AppTest:
    """Run app.py, then switch to `page` (e.g. "revenue") and run it."""
    at = make_app(lang, query)
    at.run()
    assert not at.exception, at.exception
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    return at


ACCOUNT_TABS = ("overview", "contracts", "usage", "activity", "health", "notes")


def open_account_tab(at: AppTest, tab: str, lang: str = "ja") -> AppTest:
    """Open a tab of the account page and rerun: only the open tab's content runs."""
    at.session_state["account_tab"] = translate(lang, f"account.tab.{tab}")
    return at.run()


def texts(at: AppTest) -> str:
    """Every visible text of the run, joined (markdown, captions, titles, alerts, metrics)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


def metric(at: AppTest, label: str):
    """The st.metric whose label is `label`."""
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric labelled {label!r}: {[m.label for m in at.metric]}"
    return found[0]


def values(field) -> list:
    """A trace's x/y/z as a list: plotly writes numeric arrays as base64 ('bdata')."""
    if isinstance(field, dict) and "bdata" in field:
        import base64

        import numpy as np

        array = np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"])
        if "shape" in field:
            array = array.reshape([int(n) for n in str(field["shape"]).split(",")])
        return array.tolist()
    return list(field)


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def chart_titles(at: AppTest) -> list[str]:
    titles = []
    for spec in chart_specs(at):
        title = spec.get("layout", {}).get("title") or {}
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles


def chart(at: AppTest, title: str) -> dict:
    for spec, found in zip(chart_specs(at), chart_titles(at)):
        if found == title:
            return spec
    raise AssertionError(f"no chart titled {title!r}: {chart_titles(at)}")


def table(at: AppTest, key: str):
    """The DataFrame shown by the st.dataframe with widget key `key`."""
    for df in at.dataframe:
        if df.key == key or (df.proto.id and df.proto.id.endswith(key)):
            return df.value
    raise AssertionError(f"no table {key!r}: {[d.key for d in at.dataframe]}")


def table_with(at: AppTest, *columns: str):
    """The first table shown with all these column headers (display tables have no key)."""
    for df in at.dataframe:
        if set(columns) <= set(df.value.columns):
            return df.value
    shown = [list(d.value.columns) for d in at.dataframe]
    raise AssertionError(f"no table with {columns}: {shown}")


def select_row(at: AppTest, key: str, row: int) -> AppTest:
    """Click row `row` of a selectable table and rerun."""
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


@contextlib.contextmanager
def running_server(command: list[str], base: str, failure: str, *, env: dict,
                   stdout=subprocess.DEVNULL):
    """A Streamlit server process (`command`, run from the repository) serving at `base`:
    started, waited for until its health check answers (else the test fails with
    `failure`), and stopped at the end."""
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=stdout,
                               stderr=subprocess.STDOUT)
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
                pytest.fail(failure)
            time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
