"""Page timings and the page-tour memory of the benchmark, through Streamlit's AppTest.

Run by `python -m bench.run` (not by hand) with CS_ANALYTICS_HOME pointing at the
10,000-account data directory:

    python bench/apptest_tour.py pages '{"repeats": 3}'   # cold and warm time of every page
    python bench/apptest_tour.py tour '{}'                # peak RSS of one session, all pages
    python bench/apptest_tour.py profile '{"out": DIR}'   # where filter changes spend time

Lives outside cs_analytics/ because it imports streamlit. Prints one JSON line.
"""

from __future__ import annotations

import cProfile
import gc
import io
import json
import pstats
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import streamlit as st  # noqa: E402
from streamlit.runtime import pages_manager as _pages_manager  # noqa: E402
from streamlit.runtime.scriptrunner import script_runner as _script_runner  # noqa: E402
from streamlit.runtime.scriptrunner.script_cache import ScriptCache  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from streamlit.testing.v1 import app_test as _app_test  # noqa: E402
from streamlit.testing.v1 import local_script_runner as _local_script_runner  # noqa: E402

from bench.run import bench_subjects, median, peak_rss_mb  # noqa: E402
from cs_analytics.app.ui import data, i18n, nav  # noqa: E402
from cs_analytics.config import data_home  # noqa: E402
from cs_analytics.warehouse.store import Snapshot, Store, reset_connection_cache  # noqa: E402

APP = str(REPO / "app.py")
TRIVIAL_PAGE = REPO / "bench" / "trivial_page.py"
TIMEOUT_SECONDS = 600
# The filter change of a warm rerun: the CS manager narrows the view to S and A customers.
FILTER_KEY, FILTER_VALUE = "f_segment", ["S", "A"]
# Pages that show one account open the one the QBR list offers first (a drill-down link).
ACCOUNT_PAGES = ("account", "qbr")


class _NavigationPagesManager(_pages_manager.PagesManager):
    """AppTest resets `uses_pages_directory` before every run, so with a pages/ folder beside
    app.py a rerun would execute the page file alone instead of app.py with st.navigation, as
    `streamlit run` never does. Keep it False (the same fix as tests/test_app_common.py)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _pages_manager.PagesManager.uses_pages_directory = False


@dataclass(frozen=True)
class _TrivialPage(nav.PageSpec):
    @property
    def path(self) -> str:
        return str(TRIVIAL_PAGE)


_SCRIPT_CACHE = ScriptCache()


def serve_like_a_server() -> None:
    """Run scripts as `streamlit run` does. A server compiles each script file once and keeps
    the bytecode in the runtime's one ScriptCache; AppTest makes a new ScriptCache for every
    run, so each rerun would parse, rewrite (magic) and compile app.py and the page again —
    time no user waits for (docs/benchmarks.md). Also keep st.navigation in charge of the
    pages (see _NavigationPagesManager)."""
    _app_test.PagesManager = _NavigationPagesManager
    _app_test.ScriptCache = _local_script_runner.ScriptCache = lambda: _SCRIPT_CACHE


def install() -> None:
    """Add the trivial page to the app's navigation, for this process only."""
    serve_like_a_server()
    spec = _TrivialPage("trivial_page", "operations", "⏱️")
    nav.PAGES = (*nav.PAGES, spec)
    for lang in i18n.LANGUAGES:
        i18n.catalogue(lang)["nav.trivial_page"] = "benchmark"


def page_path(name: str) -> str:
    """The page file relative to app.py, as AppTest.switch_page wants it."""
    return "bench/trivial_page.py" if name == "trivial_page" else nav.page(name).path


def clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    reset_connection_cache()
    gc.collect()


def problems(at: AppTest) -> list[str]:
    return ([f"exception: {e.value}" for e in at.exception]
            + [f"error: {e.value}" for e in at.error])


def timed_run(at: AppTest) -> float:
    started = time.perf_counter()
    at.run(timeout=TIMEOUT_SECONDS)
    return time.perf_counter() - started


def change_filter(at: AppTest, value: list[str]) -> None:
    at.sidebar.multiselect(key=FILTER_KEY).set_value(value)


def page_query(name: str, subjects: dict) -> dict:
    """The URL a page is opened with: the account pages open the bench's account."""
    return {"account_id": subjects["account_id"]} if name in ACCOUNT_PAGES else {}


def open_page(name: str, query: dict) -> AppTest:
    """A new session on page `name` with the URL's `query`, caches cleared (not yet run)."""
    clear_caches()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page_path(name))
    return at


def settle() -> None:
    """Wait for what the first render left loading on worker threads — the snapshot's
    prefetch of the accounts' filter attributes (`ui.data._prefetch`) — before a filter
    change is timed: a user clicks after the page is drawn, not in the same instant. The
    trivial page's rerun is timed the same way."""
    snap = data.current_snapshot()
    if snap is not None:
        data.wait_for_prefetch(snap, TIMEOUT_SECONDS)


def measure(name: str, query: dict) -> dict:
    """First render with cold caches, a rerun after a filter change (warm: the process and
    its caches are warm, the filtered results are computed), then a rerun back to the first
    filter (cached: every result comes from the cache)."""
    at = open_page(name, query)
    cold = timed_run(at)
    found = problems(at)
    shown = {"charts": len(at.get("plotly_chart")), "tables": len(at.dataframe),
             "metrics": len(at.metric)}
    settle()
    change_filter(at, FILTER_VALUE)
    warm = timed_run(at)
    found += problems(at)
    # Back to the first filter: every result is cached, so this is the cost of drawing alone.
    change_filter(at, [])
    cached = timed_run(at)
    found += problems(at)
    return {"cold": cold, "warm": warm, "cached": cached, "problems": found, "shown": shown}


def pages(args: dict) -> dict:
    install()
    snap = Store(data_home()).open_current()
    subjects = bench_subjects(snap)
    names = ["trivial_page"] + [p.name for p in nav.PAGES if p.name != "trivial_page"]
    queries = {name: page_query(name, subjects) for name in names}
    measure("trivial_page", {})  # imports and first-use setup, as in a running server
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(args.get("repeats", 1)):
        for name in names:  # round-robin, so a busy moment of the machine hits every page
            runs[name].append(measure(name, queries[name]))
    summary = {}
    for name, measured in runs.items():
        found = sorted({p for m in measured for p in m["problems"]})
        summary[name] = {
            "cold_seconds": median(m["cold"] for m in measured),
            "warm_seconds": median(m["warm"] for m in measured),
            "cached_seconds": median(m["cached"] for m in measured),
            "cold_runs": [round(m["cold"], 4) for m in measured],
            "warm_runs": [round(m["warm"], 4) for m in measured],
            "ok": not found, "problems": found, "shown": measured[0]["shown"],
            "query": queries[name],
        }
    trivial = summary.pop("trivial_page")
    return {"trivial": trivial, "pages": summary, "filter_change": {FILTER_KEY: FILTER_VALUE},
            "account_id": subjects["account_id"], "peak_rss_mb": peak_rss_mb()}


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        resident_pages = int(fh.read().split()[1])
    import resource

    return resident_pages * resource.getpagesize() / 1024 / 1024


def tour(args: dict) -> dict:
    """One session, as a user clicking through: every page, then a filter change and back,
    caches kept between pages like a long-running server process."""
    serve_like_a_server()
    snap = Store(data_home()).open_current()
    subjects = bench_subjects(snap)
    clear_caches()
    before = current_rss_mb()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    at.query_params["account_id"] = subjects["account_id"]
    at.run(timeout=TIMEOUT_SECONDS)
    found = problems(at)
    visited = []
    for spec in nav.PAGES:
        at.switch_page(spec.path)
        at.run(timeout=TIMEOUT_SECONDS)
        change_filter(at, FILTER_VALUE)
        at.run(timeout=TIMEOUT_SECONDS)
        change_filter(at, [])
        at.run(timeout=TIMEOUT_SECONDS)
        found += [f"{spec.name}: {p}" for p in problems(at)]
        visited.append(spec.name)
    return {"peak_rss_mb": peak_rss_mb(), "rss_before_mb": before,
            "rss_after_mb": current_rss_mb(), "pages": visited, "ok": not found,
            "problems": found}


# ---------------------------------------------------------------------------- profile

# Filter changes a profile goes through: every combination of segments, so each rerun computes
# new results (none of them comes from the cache).
FILTER_CHANGES = (["S"], ["A"], ["B"], ["C"], ["S", "A"], ["S", "B"], ["A", "B"], ["B", "C"],
                  ["A", "C"], ["S", "C"], ["S", "A", "B"], ["A", "B", "C"], ["S", "B", "C"],
                  ["S", "A", "C"], ["S", "A", "B", "C"])


class _Recorder:
    """Time spent in snapshot queries, and a profiler switched on around script runs only."""

    def __init__(self):
        self.query_seconds = 0.0
        self.profiler: cProfile.Profile | None = None

    def install(self) -> None:
        recorder = self
        for name in ("query", "rows"):
            original = getattr(Snapshot, name)

            def timed(snap, *args, _original=original, **kwargs):
                started = time.perf_counter()
                try:
                    return _original(snap, *args, **kwargs)
                finally:
                    recorder.query_seconds += time.perf_counter() - started

            setattr(Snapshot, name, timed)
        run_script = _script_runner.ScriptRunner._run_script

        def profiled(runner, *args, **kwargs):
            if recorder.profiler is None:
                return run_script(runner, *args, **kwargs)
            recorder.profiler.enable()  # the script runs on its own thread: profile it there
            try:
                return run_script(runner, *args, **kwargs)
            finally:
                recorder.profiler.disable()

        _script_runner.ScriptRunner._run_script = profiled


def _filter_changes(name: str, query: dict, changes, recorder: _Recorder,
                    profiler: cProfile.Profile | None = None) -> list[dict]:
    at = open_page(name, query)
    at.run(timeout=TIMEOUT_SECONDS)  # the first render is not what is profiled
    settle()
    recorder.profiler = profiler
    runs = []
    for value in changes:
        change_filter(at, value)
        recorder.query_seconds = 0.0
        seconds = timed_run(at)
        runs.append({"seconds": seconds, "query_seconds": recorder.query_seconds,
                     "problems": problems(at)})
    recorder.profiler = None
    return runs


def _report(profiler: cProfile.Profile, title: str) -> str:
    out = io.StringIO()
    out.write(f"{title}\n\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(50)
    stats.sort_stats("tottime").print_stats(30)
    return out.getvalue()


def profile(args: dict) -> dict:
    """For each page: reruns after filter changes, timed (with the part spent in snapshot
    queries), then the same under cProfile — written as DIR/<page>.prof (pstats) and
    DIR/<page>.txt (the costliest functions by cumulative and by own time)."""
    install()
    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)
    recorder = _Recorder()
    recorder.install()
    snap = Store(data_home()).open_current()
    subjects = bench_subjects(snap)
    names = args.get("pages") or [p.name for p in nav.PAGES if p.name != "trivial_page"]
    changes = FILTER_CHANGES[:args.get("filters", 10)]
    measure("trivial_page", {})  # imports and first-use setup, as in a running server
    summary = {}
    for name in ["trivial_page", *names]:
        query = page_query(name, subjects)
        runs = _filter_changes(name, query, changes, recorder)
        profiler = cProfile.Profile()
        _filter_changes(name, query, changes, recorder, profiler)
        stem = "trivial" if name == "trivial_page" else name
        profiler.dump_stats(str(out / f"{stem}.prof"))
        (out / f"{stem}.txt").write_text(_report(profiler, (
            f"{stem}: {len(changes)} reruns after a segment filter change, under cProfile "
            f"(its overhead roughly doubles Python-heavy parts)")), encoding="utf-8")
        summary[stem] = {
            "warm_seconds": median(r["seconds"] for r in runs),
            "query_seconds": median(r["query_seconds"] for r in runs),
            "runs": len(runs), "problems": sorted({p for r in runs for p in r["problems"]}),
            "profile": str(out / f"{stem}.txt")}
    return {"pages": summary, "filter_changes": [list(c) for c in changes],
            "account_id": subjects["account_id"]}


if __name__ == "__main__":
    step, raw = sys.argv[1], sys.argv[2]
    result = {"pages": pages, "tour": tour, "profile": profile}[step](json.loads(raw))
    print(json.dumps(result, ensure_ascii=False, default=str))
